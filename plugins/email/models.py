"""Email tables: newsletters, the send log (one row per message, claimed
before sending), stored links, opens, clicks, bounces and each contact's
email status (unsubscribed, bounced)."""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, StoredFile, UTCDateTimeField, utcnow

#: newsletter life cycle
DRAFT, SCHEDULED, SENDING, PAUSED, SENT, CANCELLED = "draft", "scheduled", "sending", "paused", "sent", "cancelled"
#: send log states; ``sending`` rows carry a claim and a lease
QUEUED, CLAIMED, DONE, SKIPPED, FAILED = "queued", "sending", "sent", "skipped", "failed"
#: a newsletter's row not sent because the newsletter was cancelled
SEND_CANCELLED = "cancelled"
#: the audience source newsletters target: ``Newsletter.segments`` and
#: ``exclusions`` hold ids of its groups (see ``core.audience_contact_ids``)
AUDIENCE = "segment"


class Newsletter(BaseModel):
    """A one-off campaign to the members of some segments."""

    name = peewee.CharField()
    subject = peewee.TextField(default="")
    preheader = peewee.TextField(default="")
    content = peewee.TextField(default="")
    #: "html" (a Jinja HTML body in the theme's layout) or "mjml" (a whole MJML document, see mjml.py)
    content_format = peewee.CharField(default="html", max_length=10)
    sender_name = peewee.CharField(default="")
    sender_email = peewee.CharField(default="")
    reply_to = peewee.CharField(default="")
    segments = JSONField(default=list)
    exclusions = JSONField(default=list)
    #: {"days": [0..6], "start": 9, "end": 11} in the contact's (or site's) timezone; {} = any time
    window = JSONField(default=dict)
    #: {"source": "...", "medium": "...", "campaign": "..."}; {} = no UTM
    utm = JSONField(default=dict)
    track = peewee.BooleanField(default=True)
    status = peewee.CharField(default=DRAFT, index=True)
    #: why a send job paused the newsletter (content, signing key, sender refused); "" when a person did
    pause_reason = peewee.TextField(default="")
    scheduled_at = UTCDateTimeField(null=True)
    started_at = UTCDateTimeField(null=True)
    finished_at = UTCDateTimeField(null=True)
    total = peewee.IntegerField(default=0)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "email_newsletter"

    @property
    def is_editable(self) -> bool:
        return self.status in (DRAFT, SCHEDULED)


class Send(BaseModel):
    """One message to one address. ``key`` is unique: a newsletter send is
    ``nl:<newsletter>:<contact>``, another plugin's message its own ``key``;
    the row is claimed (``status='sending'``, ``claim``, ``lease_until``)
    before the SMTP transaction, so a retried job never sends twice and a
    dead worker's claims are taken over after the lease."""

    key = peewee.CharField(unique=True)
    kind = peewee.CharField(default="newsletter")
    purpose = peewee.CharField(default="marketing")
    newsletter = peewee.ForeignKeyField(Newsletter, null=True, backref="sends", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, null=True, backref="email_sends", on_delete="SET NULL")
    to_email = peewee.CharField()
    subject = peewee.TextField(default="")
    status = peewee.CharField(default=QUEUED)
    reason = peewee.TextField(default="")
    claim = peewee.CharField(null=True)
    lease_until = UTCDateTimeField(null=True)
    not_before = UTCDateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    message_id = peewee.CharField(null=True)
    #: bodies of single messages (view in browser); newsletters re-render instead
    html = peewee.TextField(null=True)
    text = peewee.TextField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)
    opened_at = UTCDateTimeField(null=True)
    machine_opened_at = UTCDateTimeField(null=True)
    open_count = peewee.IntegerField(default=0)
    clicked_at = UTCDateTimeField(null=True)
    click_count = peewee.IntegerField(default=0)
    bounce = peewee.CharField(null=True)  # hard | soft
    unsubscribed_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "email_send"
        indexes = ((("newsletter", "status"), False), (("status", "lease_until"), False), (("sent_at",), False))


class Link(BaseModel):
    """A link target recorded for a newsletter or a single send: click tokens
    reference it, so the redirect can only go where the email pointed."""

    scope = peewee.CharField()  # "nl:<id>" or "send:<id>"
    url_hash = peewee.CharField(max_length=64)
    url = peewee.TextField()
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "email_link"
        indexes = ((("scope", "url_hash"), True),)


class Open(BaseModel):
    send = peewee.ForeignKeyField(Send, backref="opens", on_delete="CASCADE")
    machine = peewee.BooleanField(default=False)
    user_agent = peewee.CharField(default="", max_length=300)
    created_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "email_open"


class Click(BaseModel):
    send = peewee.ForeignKeyField(Send, backref="clicks", on_delete="CASCADE")
    link = peewee.ForeignKeyField(Link, backref="clicks", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "email_click"


class Bounce(BaseModel):
    send = peewee.ForeignKeyField(Send, null=True, backref="bounces", on_delete="SET NULL")
    contact = peewee.ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    email = peewee.CharField(default="")
    type = peewee.CharField()  # hard | soft
    status_code = peewee.CharField(default="")
    diagnostic = peewee.TextField(default="")
    created_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "email_bounce"


class Recipient(BaseModel):
    """A contact's email standing: unsubscribed, hard bounced, soft bounces."""

    contact = peewee.ForeignKeyField(Contact, unique=True, backref="email_status", on_delete="CASCADE")
    unsubscribed_at = UTCDateTimeField(null=True)
    unsubscribe_reason = peewee.TextField(default="")
    hard_bounced_at = UTCDateTimeField(null=True)
    soft_bounces = peewee.IntegerField(default=0)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "email_recipient"


class EmailImage(BaseModel):
    """An image of the library: the uploaded file (``core.StoredFile``, in the
    uploads folder) served publicly at ``/e/i/<token>`` for mail clients, with
    its alt text."""

    token = peewee.CharField(unique=True, max_length=64)
    file = peewee.ForeignKeyField(StoredFile, on_delete="CASCADE")
    alt = peewee.TextField(default="")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "email_image"


class EmailTemplate(BaseModel):
    """A saved template ("Save as template" on a newsletter): MJML or HTML
    content with its subject and preheader, reused for new newsletters and
    workflow emails. The gallery's ready-made templates are files
    (``readymade.py``); a row is ``builtin`` only if one is ever stored."""

    name = peewee.CharField()
    language = peewee.CharField(default="", max_length=10)
    subject = peewee.TextField(default="")
    preheader = peewee.TextField(default="")
    content = peewee.TextField(default="")
    content_format = peewee.CharField(default="mjml", max_length=10)
    builtin = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "email_template"


EMAIL_MODELS = [Newsletter, Send, Link, Open, Click, Bounce, Recipient, EmailImage, EmailTemplate]
