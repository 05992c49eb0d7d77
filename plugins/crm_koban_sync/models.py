"""Tables of the Koban sync: the link between a Couvée contact and its Koban
record, the field mapping, and the sync log (runs, per-contact errors,
recorded conflicts). Erased Koban records are remembered only by a hash of
their Guid so a pull never brings them back."""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, UTCDateTimeField, translation_domain, utcnow

_l = translation_domain(__name__).lazy_gettext

#: mapping directions: (stored value, label)
DIRECTIONS = (("both", _l("Both ways")), ("push", "Couvée → Koban"), ("pull", "Koban → Couvée"))


class KobanLink(BaseModel):
    """One Couvée contact known to Koban. ``synced`` holds the mapped values
    both sides agreed on at the last sync (the base for per-field conflict
    detection)."""

    contact = peewee.ForeignKeyField(Contact, unique=True, backref="koban_link", on_delete="CASCADE")
    guid = peewee.CharField(null=True, unique=True)
    third_guid = peewee.CharField(null=True, index=True)
    #: Koban's DUpdated of the last version we applied, in unix seconds
    koban_updated = peewee.BigIntegerField(null=True)
    synced = JSONField(default=dict)
    last_pushed_at = UTCDateTimeField(null=True)
    last_pulled_at = UTCDateTimeField(null=True)
    #: Koban says: unsubscribed from emailing / the address bounces
    unsubscribed = peewee.BooleanField(default=False)
    invalid_mail = peewee.BooleanField(default=False)
    last_error = peewee.TextField(default="")

    class Meta:
        table_name = "crm_koban_link"


class FieldMapping(BaseModel):
    """Couvée field ↔ Koban field. ``koban_field`` is a contact property
    (``FirstName``), ``MoreFields:<FieldId>`` or ``Tags:<TagCategoryCode>``."""

    couvee_field = peewee.CharField()
    koban_field = peewee.CharField()
    direction = peewee.CharField(default="both")
    position = peewee.IntegerField(default=0)

    class Meta:
        table_name = "crm_koban_mapping"
        indexes = ((("couvee_field", "koban_field"), True),)


class SyncRun(BaseModel):
    """One push, pull, unsubscribe or erase run, with its counts."""

    kind = peewee.CharField()  # push | pull | unsubscribe | erase | test | account_push | account_pull
    status = peewee.CharField(default="running")  # running | ok | partial | failed | retrying
    started_at = UTCDateTimeField(default=utcnow, index=True)
    finished_at = UTCDateTimeField(null=True)
    sent = peewee.IntegerField(default=0)
    created = peewee.IntegerField(default=0)
    updated = peewee.IntegerField(default=0)
    unchanged = peewee.IntegerField(default=0)
    skipped = peewee.IntegerField(default=0)
    failed = peewee.IntegerField(default=0)
    conflicts = peewee.IntegerField(default=0)
    requests = peewee.IntegerField(default=0)
    #: pull: the unix time this run covered up to (next run asks for updates since then)
    cursor = peewee.BigIntegerField(null=True)
    message = peewee.TextField(default="")

    class Meta:
        table_name = "crm_koban_run"


class SyncError(BaseModel):
    """A contact Koban refused (or that we could not apply), with Koban's message."""

    run = peewee.ForeignKeyField(SyncRun, backref="errors", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    guid = peewee.CharField(default="")
    message = peewee.TextField()
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "crm_koban_error"


class SyncConflict(BaseModel):
    """A field changed on both sides since the last sync; ``winner`` is the
    side with the later timestamp (last writer wins)."""

    run = peewee.ForeignKeyField(SyncRun, backref="conflict_rows", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    field = peewee.CharField()
    local_value = peewee.TextField(default="")
    remote_value = peewee.TextField(default="")
    local_at = UTCDateTimeField(null=True)
    remote_at = UTCDateTimeField(null=True)
    winner = peewee.CharField()  # couvee | koban
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "crm_koban_conflict"


class ErasedRecord(BaseModel):
    """SHA-256 of the Guid of a Koban record whose contact was erased here."""

    guid_hash = peewee.CharField(unique=True)
    erased_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "crm_koban_erased"


class KobanRecordLink(BaseModel):
    """A record another plugin offers (an account) known to Koban as an
    ``ncThird``. ``synced`` holds the values both sides agreed on at the last
    sync; ``extcode_sent`` says Koban's record carries our id as ``Extcode``
    (false for an account first seen in Koban, until we push it)."""

    record_type = peewee.CharField()
    record_id = peewee.IntegerField()
    guid = peewee.CharField(null=True, unique=True)
    extcode_sent = peewee.BooleanField(default=False)
    synced = JSONField(default=dict)
    koban_updated = peewee.BigIntegerField(null=True)
    last_pushed_at = UTCDateTimeField(null=True)
    last_pulled_at = UTCDateTimeField(null=True)
    last_error = peewee.TextField(default="")

    class Meta:
        table_name = "crm_koban_record_link"
        indexes = ((("record_type", "record_id"), True),)


class RecordConflict(BaseModel):
    """A field of an account changed on both sides since the last sync."""

    run = peewee.ForeignKeyField(SyncRun, backref="record_conflicts", on_delete="CASCADE")
    record_type = peewee.CharField()
    record_id = peewee.IntegerField()
    field = peewee.CharField()
    local_value = peewee.TextField(default="")
    remote_value = peewee.TextField(default="")
    winner = peewee.CharField()  # couvee | koban
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "crm_koban_record_conflict"


class RecordMapping(BaseModel):
    """A field of another plugin's record type (``account``) ↔ a property of
    Koban's ``ncThird`` (``revenue`` ↔ ``Turnover``)."""

    record_type = peewee.CharField()
    record_field = peewee.CharField()
    koban_field = peewee.CharField()
    direction = peewee.CharField(default="both")
    position = peewee.IntegerField(default=0)

    class Meta:
        table_name = "crm_koban_record_mapping"
        indexes = ((("record_type", "record_field"), True), (("record_type", "koban_field"), True))


MODELS = [KobanLink, FieldMapping, SyncRun, SyncError, SyncConflict, ErasedRecord]
#: the tables of the account sync (migration 3)
RECORD_MODELS = [KobanRecordLink, RecordConflict]
#: the account field mapping (migration 4)
RECORD_MAPPING_MODELS = [RecordMapping]
