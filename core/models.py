"""Core tables: users, API keys, plugin state, settings, contacts and their
custom values, tags and timeline events.

Times are stored as UTC and read back timezone-aware. JSON columns are text so
the same schema works on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import json

import peewee

from .db import db_proxy


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTimeField(peewee.DateTimeField):
    """Stores naive UTC, returns aware UTC datetimes."""

    def db_value(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class JSONField(peewee.TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = db_proxy
        legacy_table_names = False


# --- administration -------------------------------------------------------

ROLES = ("admin", "marketer", "sales")


class User(BaseModel):
    email = peewee.CharField(unique=True)
    name = peewee.CharField(default="")
    password_hash = peewee.CharField()
    role = peewee.CharField(default="marketer")
    is_active = peewee.BooleanField(default=True)
    #: sales reps marked unavailable are skipped by round robin
    is_available = peewee.BooleanField(default=True)
    #: the admin's language ("fr", "en"); "" follows the browser, then the instance default
    language = peewee.CharField(default="", max_length=16, constraints=[peewee.SQL("DEFAULT ''")])
    created_at = UTCDateTimeField(default=utcnow)
    last_login_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "couvee_user"

    @property
    def display_name(self) -> str:
        return self.name or self.email


class ApiKey(BaseModel):
    user = peewee.ForeignKeyField(User, backref="api_keys", on_delete="CASCADE")
    name = peewee.CharField()
    prefix = peewee.CharField(unique=True)
    key_hash = peewee.CharField()
    created_at = UTCDateTimeField(default=utcnow)
    last_used_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)


class PluginState(BaseModel):
    """Whether a discovered plugin is active. The single source of truth that
    every web and worker process reads."""

    name = peewee.CharField(primary_key=True)
    enabled = peewee.BooleanField(default=False)
    version = peewee.CharField(default="")
    changed_at = UTCDateTimeField(default=utcnow)


class SettingValue(BaseModel):
    """Key/value settings; ``group`` is a plugin's settings group id or ``core``."""

    group = peewee.CharField()
    key = peewee.CharField()
    value = JSONField(null=True)

    class Meta:
        primary_key = peewee.CompositeKey("group", "key")


class MigrationRecord(BaseModel):
    plugin = peewee.CharField()
    version = peewee.IntegerField()
    name = peewee.CharField()
    applied_at = UTCDateTimeField(default=utcnow)

    class Meta:
        primary_key = peewee.CompositeKey("plugin", "version")


# --- contacts -------------------------------------------------------------


class Contact(BaseModel):
    email = peewee.CharField(null=True, unique=True)
    first_name = peewee.CharField(default="")
    last_name = peewee.CharField(default="")
    #: the language written to this contact in ("fr", "en"); "" means the instance default
    language = peewee.CharField(default="", max_length=16, constraints=[peewee.SQL("DEFAULT ''")])
    owner = peewee.ForeignKeyField(User, null=True, backref="contacts", on_delete="SET NULL")
    #: cached score, maintained by the scoring plugin as the sum of its ledger
    points = peewee.IntegerField(default=0, index=True)
    created_at = UTCDateTimeField(default=utcnow, index=True)
    updated_at = UTCDateTimeField(default=utcnow)
    last_interaction_at = UTCDateTimeField(null=True, index=True)

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or f"Contact #{self.id}"

    def snapshot(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "owner_id": self.owner_id,
            "points": self.points,
        }


class CustomField(BaseModel):
    key = peewee.CharField(unique=True)
    label = peewee.CharField()
    type_id = peewee.CharField()
    options = JSONField(default=list)
    help_text = peewee.TextField(default="")
    position = peewee.IntegerField(default=0)
    archived = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)


class ContactValue(BaseModel):
    """One stored value of a custom field (multi-valued fields: one row each).
    Text so one index serves equality, prefix and range filters."""

    contact = peewee.ForeignKeyField(Contact, backref="values", on_delete="CASCADE")
    field = peewee.ForeignKeyField(CustomField, backref="values", on_delete="CASCADE")
    value = peewee.TextField()

    class Meta:
        primary_key = peewee.CompositeKey("contact", "field", "value")
        indexes = ((("field", "value"), False),)


class Tag(BaseModel):
    name = peewee.CharField(unique=True)


class ContactTag(BaseModel):
    contact = peewee.ForeignKeyField(Contact, backref="tag_links", on_delete="CASCADE")
    tag = peewee.ForeignKeyField(Tag, backref="contact_links", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        primary_key = peewee.CompositeKey("contact", "tag")
        indexes = ((("tag", "contact"), True),)


class Event(BaseModel):
    """A line of a contact's timeline; dispatched to ``contact_event``."""

    contact = peewee.ForeignKeyField(Contact, backref="events", on_delete="CASCADE")
    kind = peewee.CharField()
    data = JSONField(default=dict)
    source = peewee.CharField(default="")
    created_at = UTCDateTimeField(default=utcnow)
    #: set once every plugin's hooks were called; undispatched rows are the
    #: outbox that drain jobs work through (see core/dispatch)
    dispatched_at = UTCDateTimeField(null=True)
    #: the drain that claimed this undispatched event, and until when its claim holds
    claimed_by = peewee.CharField(null=True)
    claimed_until = UTCDateTimeField(null=True)
    #: emitted one at a time (a request, an API call, a plugin's reaction to
    #: such an event): dispatched before the bulk backlog (imports, bulk
    #: actions, sends), see core/dispatch/outbox.py. Rows inserted in bulk
    #: without naming it are bulk (the column's default).
    interactive = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])

    class Meta:
        indexes = (
            (("contact", "created_at"), False),
            (("kind", "created_at"), False),
            (("dispatched_at", "created_at"), False),
        )


class EventDelivery(BaseModel):
    """A plugin whose hook raised for an event: retried alone, with backoff,
    until it succeeds (the row is then deleted) or is given up (``failed``,
    shown on the dashboard with a "Retry now" button)."""

    event = peewee.ForeignKeyField(Event, backref="deliveries", on_delete="CASCADE")
    plugin = peewee.CharField()
    #: ``contact_created``, ``contact_updated`` or ``contact_event``
    hook = peewee.CharField()
    attempts = peewee.IntegerField(default=1)
    #: ``retrying`` (``next_attempt_at`` set) or ``failed`` (given up)
    status = peewee.CharField(default="retrying")
    next_attempt_at = UTCDateTimeField(null=True)
    last_error = peewee.TextField(default="")
    first_failed_at = UTCDateTimeField(default=utcnow)
    last_failed_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "event_delivery"
        indexes = (
            (("event", "plugin", "hook"), True),
            (("status", "next_attempt_at"), False),
        )


class StoredFile(BaseModel):
    """An uploaded file kept in the instance's ``uploads/`` folder (never under
    static); served only to logged-in users."""

    path = peewee.CharField(unique=True)
    original_name = peewee.CharField()
    content_type = peewee.CharField()
    size = peewee.IntegerField()
    sha256 = peewee.CharField()
    created_at = UTCDateTimeField(default=utcnow)


CORE_MODELS = [
    User,
    ApiKey,
    PluginState,
    SettingValue,
    MigrationRecord,
    Contact,
    CustomField,
    ContactValue,
    Tag,
    ContactTag,
    Event,
    EventDelivery,
    StoredFile,
]
