"""The kernel's own actions on a contact (``register_actions``, registered by
``core.builtin``): add or remove a tag, set a field, notify a user by email,
call a webhook. Workflows, form submissions and point triggers all run them,
so they stay available whichever of those plugins is active.

Each ``run(contact, settings, context)`` is idempotent for
``context["key"]`` (a runner may repeat it after a crash) and returns a short
line for the run's log; it raises with the reason when it cannot act.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from flask_babel import force_locale
from markupsafe import escape

from .contacts import ContactError, add_tag, custom_fields, get_values, native_fields, remove_tag, update_contact
from .extension import Action, Setting
from .i18n import core_domain, default_language, valid_language
from .messages import Message, send_message
from .models import User, utcnow
from .placeholders import fill_tokens
from .web import external_url

WEBHOOK_TIMEOUT = 10
SIGNATURE_HEADER = "X-Couvee-Signature"
_, _l = core_domain().pair()


def field_choices() -> list[tuple[str, str]]:
    """The contact's fields a form can pick: email, names, then the custom fields."""
    return [(key, str(label)) for key, label in native_fields().items()] + [
        (field.key, field.label) for field in custom_fields()]


def user_choices() -> list[tuple[str, str]]:
    """The active users, as ``(id, name)``."""
    return [(str(user.id), user.display_name)
            for user in User.select().where(User.is_active == True).order_by(User.id)]  # noqa: E712


def _tag(settings: dict) -> str:
    tag = (settings.get("tag") or "").strip()
    if not tag:
        raise ValueError("no tag given")
    return tag


def run_tag_add(contact, settings, context=None):
    tag = _tag(settings)
    return f"tag “{tag}” added" if add_tag(contact, tag, source="workflow") else f"already tagged “{tag}”"


def run_tag_remove(contact, settings, context=None):
    tag = _tag(settings)
    return f"tag “{tag}” removed" if remove_tag(contact, tag, source="workflow") else f"had no tag “{tag}”"


def run_field_set(contact, settings, context=None):
    key = settings.get("field")
    if not key:
        raise ValueError("no field chosen")
    try:
        changes = update_contact(contact, {key: settings.get("value") or None}, source="workflow")
    except ContactError as error:
        raise ValueError(str(error)) from None
    return f"{key} set to “{settings.get('value') or ''}”" if changes else f"{key} already “{settings.get('value')}”"


def _recipient(contact, settings) -> User:
    target = settings.get("user") or "owner"
    if target == "owner":
        if contact.owner_id is None:
            raise ValueError("the contact has no owner to notify")
        return contact.owner
    user = User.get_or_none((User.id == int(target)) & (User.is_active == True))  # noqa: E712
    if user is None:
        raise ValueError(f"user {target} does not exist or is deactivated")
    return user


def run_notify_user(contact, settings, context=None):
    """Email the owner (or a chosen user) about the contact, in that user's
    language; transactional."""
    user = _recipient(contact, settings)
    link = external_url("admin.contact", contact_id=contact.id)
    with force_locale(valid_language(user.language) or default_language()):
        subject = fill_tokens(settings.get("subject") or _("Contact to follow up: {{ name }}"), contact)
        body = fill_tokens(settings.get("message") or _("{{ name }} needs your attention."), contact)
        address = contact.email or _("no email address")
        opening = _("Open %(name)s in Couvée", name=contact.display_name)
    text = f"{body}\n\n{contact.display_name} <{address}>\n{link}\n"
    html = "<p>{}</p><p><a href=\"{}\">{}</a></p>".format(escape(body), escape(link), escape(opening))
    result = send_message(Message(to=user.email, subject=subject, text=text, html=html, kind="notify.user",
                                  purpose="transactional", key=(context or {}).get("key", ""),
                                  metadata={"contact_id": contact.id}))
    if result.status == "failed":
        raise RuntimeError(f"could not notify {user.email}: {result.reason}")
    return f"notified {user.email}" + ("" if result.sent else f" ({result.status}: {result.reason})")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_webhook_settings(settings: dict) -> list[str]:
    url = (settings.get("url") or "").strip()
    if url and not url.startswith(("http://", "https://")):
        return [_("the webhook URL must start with http:// or https://.")]
    return []


def run_webhook(contact, settings, context=None):
    """POST the contact as JSON, signed with HMAC-SHA256 of the body.

    A failure (network, non-2xx) raises: the runner retries with
    exponential backoff, then marks the step failed with the error."""
    url = (settings.get("url") or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError("the webhook URL must start with http:// or https://")
    context = context or {}
    payload = {"event": "workflow.webhook", "key": context.get("key", ""), "workflow_id": context.get("workflow_id"),
               "sent_at": utcnow().isoformat(),
               "contact": {"id": contact.id, "email": contact.email, "first_name": contact.first_name,
                           "last_name": contact.last_name, "points": contact.points, "fields": get_values(contact)}}
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Couvee-Webhook",
               "Idempotency-Key": context.get("key", "")}
    if settings.get("secret"):
        headers[SIGNATURE_HEADER] = sign(settings["secret"], body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            return f"webhook answered {response.status}"
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"webhook answered {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(f"webhook unreachable: {getattr(error, 'reason', error)}") from None


def contact_actions() -> list[Action]:
    return [
        Action("tag.add", _l("Add a tag"), run=run_tag_add, settings=[Setting("tag", _l("Tag"), required=True)],
               description=_l("Tags the contact (nothing happens if it already has the tag).")),
        Action("tag.remove", _l("Remove a tag"), run=run_tag_remove,
               settings=[Setting("tag", _l("Tag"), required=True)]),
        Action("field.set", _l("Set a field"), run=run_field_set,
               settings=[Setting("field", _l("Field"), kind="choice", required=True, choices_from=field_choices),
                         Setting("value", _l("Value"), help=_l("Empty clears the field."))]),
        Action("notify.user", _l("Notify a user by email"), run=run_notify_user,
               description=_l("Emails the contact's owner or a chosen user, with a link to the contact."),
               settings=[Setting("user", _l("Who"), kind="choice", default="owner",
                                 choices=[("owner", _l("The contact's owner"))], choices_from=user_choices),
                         Setting("subject", _l("Subject"), default="Contact to follow up: {{ name }}", tokens=True,
                                 help=_l("{{ first_name }}, {{ last_name }}, {{ name }}, {{ email }}, {{ points }} "
                                         "and {{ fields.<key> }} are replaced (as in emails).")),
                         Setting("message", _l("Message"), kind="textarea", default="{{ name }} needs your attention.",
                                 tokens=True)]),
        Action("webhook.call", _l("Call a webhook"), run=run_webhook, validate=check_webhook_settings,
               description=_l("POSTs the contact as JSON; signed with HMAC-SHA256 in X-Couvee-Signature; "
                              "retried with exponential backoff."),
               settings=[Setting("url", _l("URL"), required=True),
                         Setting("secret", _l("Signing secret"), secret=True)]),
    ]
