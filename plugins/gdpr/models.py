"""The plugin's tables.

- :class:`ConsentRecord` — the append-only consent ledger (proof of consent).
- :class:`ConsentState` — the latest ledger entry per contact and purpose, kept
  in step with the ledger so checks and segment filters are one indexed lookup.
- :class:`Opposition` — opposition flags (email, SMS, phone prospecting, all).
- :class:`ErasedContact` — pseudonymised contacts still in the database (they
  never receive anything again).
- :class:`Suppression` — salted hashes of erased email addresses.
- :class:`PluginSecret` — the salt of those hashes (generated once).
- :class:`AuditEntry` — who exported, erased or changed consents.
- :class:`RetentionWarning` — one reactivation warning per contact and deadline.

No table stores an erased person's email or name: the audit log names
contacts by id only.
"""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, UTCDateTimeField, utcnow


class ConsentRecord(BaseModel):
    """One consent decision, as proven at the time. Never updated, except that
    pseudonymisation blanks ``ip``, ``user_agent`` and ``page_url``."""

    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE", index=True)
    purpose = peewee.CharField()
    granted = peewee.BooleanField()
    text = peewee.TextField(default="")
    text_version = peewee.CharField(default="")
    source = peewee.CharField(default="")
    #: the id of the form the decision was made on (forms are another plugin: an id, no foreign key)
    form_id = peewee.IntegerField(null=True)
    #: the page that showed that form (part of the proof)
    page_url = peewee.TextField(default="")
    ip = peewee.CharField(default="")
    user_agent = peewee.TextField(default="")
    #: when the person decided (the event's ``at``, else the event time)
    at = UTCDateTimeField(default=utcnow)
    recorded_at = UTCDateTimeField(default=utcnow)
    #: the consent event this entry comes from (idempotency of dispatch)
    event_id = peewee.IntegerField(null=True, unique=True)
    #: the admin who recorded it (source ``admin``)
    user_id = peewee.IntegerField(null=True)

    class Meta:
        table_name = "gdpr_consent_record"
        indexes = ((("contact", "purpose", "at"), False), (("form_id",), False))


class ConsentState(BaseModel):
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    purpose = peewee.CharField()
    granted = peewee.BooleanField()
    at = UTCDateTimeField()
    record_id = peewee.IntegerField()

    class Meta:
        table_name = "gdpr_consent_state"
        primary_key = peewee.CompositeKey("contact", "purpose")
        indexes = ((("purpose", "granted"), False),)


class Opposition(BaseModel):
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE", primary_key=True)
    email = peewee.BooleanField(default=False)
    sms = peewee.BooleanField(default=False)
    phone = peewee.BooleanField(default=False)
    all = peewee.BooleanField(default=False)
    updated_at = UTCDateTimeField(default=utcnow)
    source = peewee.CharField(default="")

    class Meta:
        table_name = "gdpr_opposition"


class ErasedContact(BaseModel):
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE", primary_key=True)
    mode = peewee.CharField(default="pseudonymise")
    erased_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "gdpr_erased_contact"


class Suppression(BaseModel):
    email_hash = peewee.CharField(unique=True)
    reason = peewee.CharField(default="erasure")  # erasure | retention
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "gdpr_suppression"


class PluginSecret(BaseModel):
    name = peewee.CharField(primary_key=True)
    value = peewee.CharField()

    class Meta:
        table_name = "gdpr_secret"


class AuditEntry(BaseModel):
    at = UTCDateTimeField(default=utcnow, index=True)
    user_id = peewee.IntegerField(null=True)
    user_label = peewee.CharField(default="")
    action = peewee.CharField()
    contact_id = peewee.IntegerField(null=True, index=True)
    detail = JSONField(default=dict)

    class Meta:
        table_name = "gdpr_audit"


class RetentionWarning(BaseModel):
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    deadline = UTCDateTimeField()
    warned_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "gdpr_retention_warning"
        indexes = ((("contact", "deadline"), True),)


GDPR_MODELS = [ConsentRecord, ConsentState, Opposition, ErasedContact, Suppression, PluginSecret, AuditEntry,
               RetentionWarning]
