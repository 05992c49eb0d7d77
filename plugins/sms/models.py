"""The SMS plugin's tables: campaigns (an SMS newsletter to audience groups),
the send log (one row per message, exactly once per ``key``) and the
contacts who replied STOP."""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, UTCDateTimeField, utcnow

# campaign states
DRAFT, SENDING, PAUSED, SENT, CANCELLED = "draft", "sending", "paused", "sent", "cancelled"
# send-log states (a campaign's cancelled rows are CANCELLED too)
QUEUED, CLAIMED, DONE, SKIPPED, FAILED = "queued", "sending", "sent", "skipped", "failed"


class Campaign(BaseModel):
    name = peewee.CharField()
    body = peewee.TextField(default="")
    #: audience group ids of the ``segment`` source
    segments = JSONField(default=list)
    status = peewee.CharField(default=DRAFT, index=True)
    total = peewee.IntegerField(default=0)
    created_at = UTCDateTimeField(default=utcnow)
    started_at = UTCDateTimeField(null=True)
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "sms_campaign"


class SmsSend(BaseModel):
    """One message. ``key`` makes a message unique (``c:<campaign>:<contact>``
    for a campaign, the workflow step's key for an action). A worker owns a
    row while its ``claim`` is set and ``lease_until`` is in the future."""

    key = peewee.CharField(unique=True)
    kind = peewee.CharField(default="sms.campaign")
    campaign = peewee.ForeignKeyField(Campaign, null=True, on_delete="CASCADE", backref="sends")
    contact = peewee.ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    to = peewee.CharField(default="")
    body = peewee.TextField(default="")
    segments = peewee.IntegerField(default=0)
    status = peewee.CharField(default=QUEUED)
    claim = peewee.CharField(null=True)
    lease_until = UTCDateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    reason = peewee.TextField(default="")
    provider_id = peewee.CharField(null=True, index=True)
    #: the latest delivery receipt (queued, sent, delivered, undelivered, failed...)
    delivery = peewee.CharField(default="")
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "sms_send"
        indexes = ((("campaign", "status"), False),)


class OptOut(BaseModel):
    """A contact (or a number no contact has) who replied STOP."""

    phone = peewee.CharField(unique=True)
    contact = peewee.ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    keyword = peewee.CharField(default="STOP")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sms_opt_out"


SMS_MODELS = (Campaign, SmsSend, OptOut)
