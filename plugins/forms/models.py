"""Forms tables.

- :class:`Form` — the form and its settings; ``key`` is its public, random id
  (URLs never expose the sequential id); ``version`` grows on every edit so an
  embed always loads the current definition.
- :class:`FormField` — one input, mapped to a contact field (``target``: a
  native ``email``/``first_name``/``last_name`` or a custom field key; empty for
  a hidden value kept only in the submission history).
- :class:`ConsentBox` and :class:`ConsentText` — a checkbox per purpose and
  every text it ever had (the proof names the exact text shown).
- :class:`FormAction` — an action from the registry run after each submission.
- :class:`Submission` and :class:`SubmittedValue` — insert-only history:
  every value with date, form, page URL, IP and user agent, never overwritten.
- :class:`ActionRun` — which action already ran for which submission
  (idempotency when a job is retried).
- :class:`OptIn` — a double opt-in request and its confirmation.
"""
from __future__ import annotations

import secrets

import peewee

from core import BaseModel, Contact, JSONField, UTCDateTimeField, translation_domain, utcnow

_l = translation_domain(__name__).lazy_gettext

STATUSES = ("draft", "published")
LANGUAGES = (("fr", "Français"), ("en", "English"))
#: consent purposes (ids shared with the GDPR plugin and senders)
PURPOSES = (
    ("email_marketing", _l("Email marketing")),
    ("sms_marketing", _l("SMS marketing")),
    ("phone_marketing", _l("Phone marketing")),
    ("profiling", _l("Profiling")),
    ("partners", _l("Sharing with partners")),
    ("analytics", _l("Analytics")),
)
PURPOSE_IDS = tuple(p for p, _ in PURPOSES)
#: where a hidden field takes its value from
HIDDEN_SOURCES = (
    ("fixed", _l("A fixed value (the default value)")),
    ("query", _l("A parameter of the page URL (name in the default value, e.g. utm_source)")),
    ("page_url", _l("The page URL")),
    ("referrer", _l("The referring page")),
)
#: the same, in a few words (the builder's "hidden" badge)
HIDDEN_SOURCE_WORDS = {"fixed": _l("fixed value"), "query": _l("URL parameter"), "page_url": _l("page URL"),
                       "referrer": _l("referring page")}
#: where a submission was sent from (``Submission.channel``)
CHANNELS = {"hosted": _l("hosted page"), "iframe": _l("iframe"), "js": _l("JS snippet"), "html": _l("plain HTML")}
#: a double opt-in request's status, as the submissions page shows it
OPTIN_STATUSES = {"pending": _l("Opt-in pending"), "confirmed": _l("Opt-in confirmed"),
                  "superseded": _l("Opt-in superseded")}
#: an action run's status, as the submissions page shows it
RUN_STATUSES = {"done": _l("done"), "failed": _l("failed"), "missing": _l("plugin not active")}


def new_key() -> str:
    return secrets.token_urlsafe(9)


class Form(BaseModel):
    key = peewee.CharField(unique=True, default=new_key)
    name = peewee.CharField()
    #: the "finalité" shown under the form
    purpose_text = peewee.TextField(default="")
    success_message = peewee.TextField(default="")
    redirect_url = peewee.CharField(default="")
    submit_label = peewee.CharField(default="")
    allowed_origins = JSONField(default=list)
    language = peewee.CharField(default="fr")
    status = peewee.CharField(default="draft")
    version = peewee.IntegerField(default=1)
    double_opt_in = peewee.BooleanField(default=False)
    doi_purpose = peewee.CharField(default="email_marketing")
    doi_subject = peewee.CharField(default="")
    doi_body = peewee.TextField(default="")
    #: accept posts from the pasted plain HTML (no render token: no minimum fill time)
    allow_plain_html = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    def bump(self) -> None:
        """Record an edit: a new version, so embeds render the change."""
        Form.update(version=Form.version + 1, updated_at=utcnow()).where(Form.id == self.id).execute()
        self.version += 1


class FormField(BaseModel):
    form = peewee.ForeignKeyField(Form, backref="fields", on_delete="CASCADE")
    #: input name in the HTML form (unique per form)
    name = peewee.CharField()
    #: contact field key (email, first_name, last_name or a custom field), or "" (history only)
    target = peewee.CharField(default="")
    label = peewee.CharField(default="")
    help = peewee.TextField(default="")
    #: shown inside an empty text or email input, in the form's language (plain text)
    placeholder = peewee.CharField(default="", max_length=200)
    required = peewee.BooleanField(default=False)
    default = peewee.TextField(default="")
    hidden = peewee.BooleanField(default=False)
    hidden_source = peewee.CharField(default="fixed")
    #: yes/no fields: ask with Yes/No radio buttons, an answer required (a "No" then
    #: replaces a stored "Yes"); otherwise a checkbox, whose unticked state never does
    yes_no_question = peewee.BooleanField(default=False)
    #: file fields: size limit and accepted extensions
    max_bytes = peewee.IntegerField(default=5 * 1024 * 1024)
    allowed_types = JSONField(default=list)
    position = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("form", "name"), True),)


class ConsentBox(BaseModel):
    form = peewee.ForeignKeyField(Form, backref="consents", on_delete="CASCADE")
    purpose = peewee.CharField()
    text = peewee.TextField()
    version = peewee.IntegerField(default=1)
    required = peewee.BooleanField(default=False)
    #: refused at publication: consent is never pre-checked
    checked_by_default = peewee.BooleanField(default=False)
    position = peewee.IntegerField(default=0)


class ConsentText(BaseModel):
    """Every text a consent box had, by version (the proof cites one)."""

    box = peewee.ForeignKeyField(ConsentBox, backref="texts", on_delete="CASCADE")
    version = peewee.IntegerField()
    text = peewee.TextField()
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("box", "version"), True),)


class FormAction(BaseModel):
    form = peewee.ForeignKeyField(Form, backref="actions", on_delete="CASCADE")
    action_id = peewee.CharField()
    settings = JSONField(default=dict)
    position = peewee.IntegerField(default=0)


class Submission(BaseModel):
    form = peewee.ForeignKeyField(Form, null=True, backref="submissions", on_delete="SET NULL")
    form_name = peewee.CharField(default="")
    form_version = peewee.IntegerField(default=0)
    contact = peewee.ForeignKeyField(Contact, backref="form_submissions", on_delete="CASCADE")
    page_url = peewee.TextField(default="")
    ip = peewee.CharField(default="")
    user_agent = peewee.TextField(default="")
    visitor_id = peewee.CharField(default="")
    #: hosted | iframe | js | html
    channel = peewee.CharField(default="hosted")
    created_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("form", "created_at"), False), (("contact", "created_at"), False))


class SubmittedValue(BaseModel):
    """One submitted value; rows are only ever inserted."""

    submission = peewee.ForeignKeyField(Submission, backref="values", on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    name = peewee.CharField()
    label = peewee.CharField(default="")
    target = peewee.CharField(default="")
    value = peewee.TextField(default="")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "name"), False),)


class ActionRun(BaseModel):
    submission = peewee.ForeignKeyField(Submission, on_delete="CASCADE")
    form_action_id = peewee.IntegerField()
    action_id = peewee.CharField()
    status = peewee.CharField(default="done")  # done | failed | missing
    detail = peewee.TextField(default="")
    ran_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("submission", "form_action_id"), True),)


class OptIn(BaseModel):
    """A double opt-in request: pending until the contact confirms."""

    contact = peewee.ForeignKeyField(Contact, backref="opt_ins", on_delete="CASCADE")
    form = peewee.ForeignKeyField(Form, null=True, on_delete="SET NULL")
    submission = peewee.ForeignKeyField(Submission, null=True, on_delete="SET NULL")
    purpose = peewee.CharField()
    #: what the person agreed to (the consent box text shown, or the form's wording) and its version
    text = peewee.TextField(default="")
    text_version = peewee.CharField(default="")
    status = peewee.CharField(default="pending")  # pending | confirmed | superseded
    requested_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)
    send_status = peewee.CharField(default="")
    confirmed_at = UTCDateTimeField(null=True)
    confirm_ip = peewee.CharField(default="")
    confirm_user_agent = peewee.TextField(default="")

    class Meta:
        indexes = ((("contact", "purpose", "status"), False),)


FORMS_MODELS = [Form, FormField, ConsentBox, ConsentText, FormAction, Submission, SubmittedValue, ActionRun, OptIn]
