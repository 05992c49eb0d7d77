"""The ``email.notify`` action: email a user (the contact's owner, or a
chosen user) one of your emails — a newsletter or a saved template picked
from a list, e.g. the gallery's "Sales notification" — filled with the
contact's data. Transactional: no consent gate, no tracking, no unsubscribe
footer; at most once per workflow step and contact."""
from __future__ import annotations

from core import Action, Message, Setting, User, translation_domain, user_choices

from .actions import ActionError, chosen_email, email_choices
from .config import load_config
from .delivery import send_single
from .renderer import Renderer

_, _l = translation_domain(__name__).pair()


def _recipient(contact, settings: dict) -> User:
    target = str(settings.get("user") or "owner")
    if target == "owner":
        owner = User.get_or_none(User.id == contact.owner_id) if contact.owner_id else None
        if owner is None:
            raise ActionError("the contact has no owner to notify")
        return owner
    try:
        user = User.get_or_none((User.id == int(target)) & (User.is_active == True))  # noqa: E712
    except ValueError:
        user = None
    if user is None:
        raise ActionError(f"user {target} does not exist or is deactivated")
    return user


def check_notify_settings(settings: dict) -> list[str]:
    """An email must be chosen, and still exist."""
    if not (settings or {}).get("template"):
        return [_("choose the email to send.")]
    if chosen_email(settings["template"]) is None:
        return [_("the chosen email no longer exists: choose another one.")]
    return []


def run_notify(contact, settings: dict, context: dict | None = None):
    settings, context = settings or {}, context or {}
    email = chosen_email(settings.get("template") or "")
    if email is None:
        raise ActionError(f"There is no email {settings.get('template')} to send.")
    user = _recipient(contact, settings)
    config = load_config()
    # the contact's data fills the tokens; the user receives the result, without the marketing footer
    renderer = Renderer(config, subject=email.subject, content=email.content, preheader=email.preheader,
                        track=False, marketing=False, language=user.language or "",
                        content_format=email.content_format)
    rendered = renderer.render(0, contact)
    key = context.get("key")
    result = send_single(Message(to=user.email, subject=rendered.subject, html=rendered.html, text=rendered.text,
                                 kind="email.notify", purpose="transactional", track=False,
                                 key=f"notify:{key}" if key else "", metadata={"contact_id": contact.id}))
    if result.status == "failed":
        raise RuntimeError(f"could not notify {user.email}: {result.reason}")
    return result


def notify_action() -> Action:
    return Action(
        "email.notify", _l("Email a user about the contact"), run=run_notify, validate=check_notify_settings,
        description=_l("Sends one of your emails (a newsletter or a saved template, e.g. the Sales notification) "
                       "to the contact's owner or a chosen user, filled with the contact's data."),
        settings=[
            Setting("user", _l("Send to"), kind="choice", choices=[("owner", _l("The contact's owner"))],
                    choices_from=user_choices, default="owner"),
            Setting("template", _l("Email to send"), kind="choice", choices_from=email_choices, required=True,
                    create_link=("email_admin.gallery", _l("Create one from a template"))),
        ],
    )
