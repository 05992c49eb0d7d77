"""Public pages for the people whose data we hold (no login):

- ``/privacy/request``: ask for a copy of one's data; a signed, expiring link
  is emailed to the address *if* it belongs to a contact. The page answers the
  same either way, so it never reveals whether an address is known.
- ``/privacy/export?t=...``: download the copy (JSON or zip of CSV).
- ``/privacy/preferences?t=...``: the preference centre (own fields,
  consents per purpose, opposition flags), reached from a signed link.

Every action for a contact is authorised by a token bound to its purpose
(``gdpr.export`` or ``gdpr.preferences``) and to the contact's current email.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import Blueprint, abort, render_template, request
from werkzeug.datastructures import MultiDict

from core import (
    Contact, ContactError, CustomField, Message, TokenError, contact_token, enqueue, external_url, get_values, normalize_email,
    public, read_contact_token, send_message, state, update_contact, write_or_defer, write_transaction,
)

from core import for_contact, translation_domain, use_contact_language

from . import audit, export, ledger
from .erasure import is_erased
from .opposition import FLAGS, flags_of, set_flags
from .purposes import FLAG_LABELS, PURPOSES, int_setting, purpose_label

_ = translation_domain(__name__).gettext

gdpr_public = Blueprint("gdpr_public", __name__, url_prefix="/privacy")
PREFERENCES_MAX_AGE = dt.timedelta(days=60)
#: requests per client address per hour, and export emails per contact per day
PER_CLIENT_HOUR = 10
PER_CONTACT_DAY = 3
CENTRE_PURPOSES = ("email_marketing", "sms_marketing", "phone_marketing", "profiling", "partners")
CONSENT_TEXT_VERSION = "preference-centre-1"


def _export_max_age() -> dt.timedelta:
    return dt.timedelta(days=int_setting("export_link_days", 1))


def _limited(key: str, limit: int, seconds: int) -> bool:
    """Count one hit on ``key``; True when over ``limit`` in the window."""
    redis = state().redis
    name = "couvee:gdpr:rl:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    count = redis.incr(name)
    if count == 1:
        redis.expire(name, seconds)
    return count > limit


@gdpr_public.route("/request", methods=["GET", "POST"])
@public
def request_copy():
    error, sent = "", False
    if request.method == "POST":
        try:
            email = normalize_email(request.form.get("email"))
        except ValueError:
            email = None
        if not email:
            error = _("Enter a valid email address.")
        elif _limited("client:" + (request.remote_addr or ""), PER_CLIENT_HOUR, 3600):
            return render_template("gdpr/public_request.html", error=_("Too many requests from here; try again in an hour.")), 429
        else:
            contact = Contact.get_or_none(Contact.email == email)
            if contact is not None and not is_erased(contact.id) and not _limited(f"contact:{contact.id}", PER_CONTACT_DAY, 86400):
                enqueue(send_export_link, contact.id, secrets.token_hex(8), queue="email", retries=3)
            sent = True
    return render_template("gdpr/public_request.html", error=error, sent=sent), (400 if error else 200)


def send_export_link(contact_id: int, nonce: str) -> str:
    """Worker job: email the self-service export link (transactional)."""
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None or not contact.email:
        return "gone"
    days = int_setting("export_link_days", 1)
    link = external_url("gdpr_public.export_page", t=contact_token(contact, "gdpr.export"))
    with for_contact(contact):
        text = "\n\n".join([
            _("Hello,"),
            _("You asked for a copy of the personal data we hold about you. Download it here (the link works for "
              "%(days)s days):", days=days),
            link,
            _("If you did not ask for it, ignore this message: nobody else can use this link."),
        ]) + "\n"
        html = render_template("gdpr/email_export_link.html", link=link, days=days)
        subject = _("Your personal data")
    result = send_message(Message(to=contact.email, contact=contact, kind="gdpr.export_link", purpose="transactional",
                                  subject=subject, text=text, html=html,
                                  key=f"gdpr.export_link:{contact.id}:{nonce}"))
    return result.raise_for_retry().status  # the channel down: the job's retries send it later


def _token_contact(purpose: str, max_age) -> tuple[Contact | None, str]:
    try:
        contact, _payload = read_contact_token(purpose, request.values.get("t", ""), max_age)
    except TokenError as error:
        return None, str(error)
    if is_erased(contact.id):
        return None, _("This link no longer matches a contact.")
    use_contact_language(contact)
    return contact, ""


@gdpr_public.route("/export")
@public
def export_page():
    contact, error = _token_contact("gdpr.export", _export_max_age())
    if contact is None:
        return render_template("gdpr/public_message.html", title=_("Your data"), message=error), 403
    return render_template("gdpr/public_export.html", contact=contact, token=request.args["t"],
                           preferences_token=contact_token(contact, "gdpr.preferences"))


@gdpr_public.route("/export.<fmt>")
@public
def export_download(fmt):
    if fmt not in ("json", "zip"):
        abort(404)
    contact, error = _token_contact("gdpr.export", _export_max_age())
    if contact is None:
        return render_template("gdpr/public_message.html", title=_("Your data"), message=error), 403
    from .views import _download

    write_or_defer(audit.log_action, f"export.self_service.{fmt}", contact.id)
    return _download(export.build(contact), fmt, "my-data")


@gdpr_public.route("/preferences", methods=["GET", "POST"])
@public
def preferences():
    contact, error = _token_contact("gdpr.preferences", PREFERENCES_MAX_AGE)
    if contact is None:
        return render_template("gdpr/public_message.html", title=_("Your preferences"), message=error), 403
    errors, saved = {}, False
    if request.method == "POST":
        written = write_or_defer(save_preferences, contact.id, request.form.to_dict(flat=False),
                                 request.remote_addr or "", request.headers.get("User-Agent", "")[:500])
        errors = written.result if written.done else {}  # deferred: a worker saves them shortly
        saved = not errors
        contact = Contact.get_by_id(contact.id)  # as saved
    return render_template(
        "gdpr/public_preferences.html", contact=contact, token=request.values["t"], errors=errors, saved=saved,
        values=get_values(contact), consents={p: ledger.has_consent(contact.id, p) for p in CENTRE_PURPOSES},
        purposes={p: purpose_label(p) for p in CENTRE_PURPOSES}, flags=flags_of(contact.id), flag_labels=FLAG_LABELS,
        reoptin=request.values.get("reoptin") == "1", fields=editable_fields(),
        types=state().registries.field_types,
    ), (400 if errors else 200)


def editable_fields() -> list:
    """Custom fields a person may edit about themselves (not files)."""
    types = state().registries.field_types
    return [f for f in CustomField.select().where(CustomField.archived == False).order_by(CustomField.position)  # noqa: E712
            if f.type_id in types and not types[f.type_id].is_file]


def save_preferences(contact_id: int, posted: dict, ip: str, agent: str) -> dict:
    """Save the preference centre's form (``posted``: name -> list of values)
    in one write transaction; returns the errors ({} when saved). Runs in the
    request, or in a worker while the database is busy (``core.write_or_defer``)."""
    form = MultiDict(posted)
    for flag, purpose in (("email", "email_marketing"), ("sms", "sms_marketing"), ("phone", "phone_marketing")):
        if form.get(f"oppose_{flag}") == "1" and form.get(f"consent_{purpose}") == "1":
            return {f"oppose_{flag}": _("You cannot both agree to and oppose this kind of message: choose one.")}
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None or is_erased(contact_id):
        return {}
    try:
        with write_transaction():
            _apply_preferences(contact, form, ip, agent)
    except ContactError as error:
        return error.errors
    return {}


def _apply_preferences(contact: Contact, form: MultiDict, ip: str, agent: str) -> None:
    raw = {key: form.get(key, "") for key in ("first_name", "last_name")}
    for custom in editable_fields():
        field_type = state().registries.field_types[custom.type_id]
        raw[custom.key] = form.getlist(custom.key) if field_type.multi_valued else form.get(custom.key, "")
    update_contact(contact, raw, source="preference_centre")
    for purpose in CENTRE_PURPOSES:
        wanted = form.get(f"consent_{purpose}") == "1"
        if wanted != ledger.has_consent(contact.id, purpose):
            label = PURPOSES[purpose]  # the proof keeps the English source wording
            text = f"I agree: {label}" if wanted else f"I withdraw my consent: {label}"
            ledger.change(contact, purpose, wanted, source="preference_centre", text=text,
                          text_version=CONSENT_TEXT_VERSION, ip=ip, user_agent=agent)
    set_flags(contact, "preference_centre", **{flag: form.get(f"oppose_{flag}") == "1" for flag in FLAGS})


def preferences_url(contact: Contact) -> str:
    """Absolute link to the contact's preference centre (for emails)."""
    return external_url("gdpr_public.preferences", t=contact_token(contact, "gdpr.preferences"))


