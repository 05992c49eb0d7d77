"""The ``email.send`` action (workflows, point triggers): a personalised
email from a subject and body, or from a newsletter used as a template."""
from __future__ import annotations

from core import Action, AudienceCheck, Contact, Message, SendResult, Setting, check_audience, translation_domain

from .delivery import send_single
from .models import EmailTemplate, Newsletter

_, _l = translation_domain(__name__).pair()


#: a saved template is chosen as ``saved:<id>``; a newsletter by its id (older steps store an int)
SAVED = "saved:"


class ActionError(ValueError):
    """The action's settings cannot produce an email."""


def email_choices() -> list[tuple[str, str]]:
    """The emails a workflow step can send, by name: newsletters (newest
    first), then saved templates (``saved:<id>``)."""
    newsletters = Newsletter.select(Newsletter.id, Newsletter.name).order_by(Newsletter.id.desc())
    templates = EmailTemplate.select(EmailTemplate.id, EmailTemplate.name).order_by(EmailTemplate.name)
    return [(str(n.id), _("Newsletter: %(name)s", name=n.name)) for n in newsletters] + [
        (f"{SAVED}{t.id}", _("Template: %(name)s", name=t.name)) for t in templates]


def chosen_email(value) -> Newsletter | EmailTemplate | None:
    """The newsletter or saved template a step's ``template`` setting names
    (``5``, ``"5"`` or ``"saved:3"``), or None."""
    text = str(value).strip()
    try:
        if text.startswith(SAVED):
            return EmailTemplate.get_or_none(EmailTemplate.id == int(text[len(SAVED):]))
        return Newsletter.get_or_none(Newsletter.id == int(text))
    except ValueError:
        return None


def check_send_settings(settings: dict) -> list[str]:
    """Why a step with these settings could not send (the workflow editor
    lists it and activation waits): an email needs a subject and a body, or a
    newsletter that exists to take them from."""
    template_id = settings.get("template") or settings.get("newsletter_id")
    if template_id not in (None, ""):
        if chosen_email(template_id) is not None:
            return []
        if str(template_id).startswith(SAVED):
            return [_("the chosen template was deleted: choose another email.")]
        return [_("there is no newsletter #%(id)s to use as a template.", id=template_id)]
    has_subject, has_body = bool((settings.get("subject") or "").strip()), bool((settings.get("body") or "").strip())
    if not has_subject and not has_body:
        return [_("write a subject and a body, or choose a newsletter as template.")]
    if not has_subject:
        return [_("write a subject, or choose a newsletter as template.")]
    if not has_body:
        return [_("write a body, or choose a newsletter as template.")]
    return []


def run_send(contact, settings: dict, context: dict | None = None) -> SendResult:
    settings, context = settings or {}, context or {}
    subject, body = (settings.get("subject") or "").strip(), settings.get("body") or ""
    template_id = settings.get("template") or settings.get("newsletter_id")
    content_format = "html"
    if template_id not in (None, ""):
        template = chosen_email(template_id)
        if template is None:
            raise ActionError(f"There is no email {template_id} to use as a template.")
        if not body.strip():  # the newsletter's content, in its format (an MJML one is rendered as MJML)
            body, content_format = template.content, template.content_format
        subject = subject or template.subject
    if not subject or not body.strip():
        raise ActionError("The email action needs a subject and a body (or a template).")
    key = context.get("key")
    message = Message(to=contact.email or "", contact=contact, kind=settings.get("kind") or "workflow.email",
                      purpose=settings.get("purpose") or "marketing", subject=subject, html=body,
                      key=f"action:{key}" if key else "", track=True)
    if not message.to:
        return SendResult("skipped", "no address")
    # a temporary failure raises: the engine tries the step again with its backoff (the key sends it once)
    return send_single(message, template=True, content_format=content_format).raise_for_retry()


#: the skip reason of contacts without an address (counted by the step's audience check)
NO_ADDRESS = "no email address"


def step_audience(settings: dict, contact_ids) -> AudienceCheck:
    """``Action.audience`` of ``email.send``: among ``contact_ids`` (a query of
    ids), who would get the step's email now and who is skipped, by reason
    (no address, then every plugin's consent gate, batched)."""
    has_address = Contact.email.is_null(False) & (Contact.email != "")
    with_address = Contact.select(Contact.id).where(Contact.id.in_(contact_ids) & has_address)
    check = check_audience(with_address, "email", (settings or {}).get("purpose") or "marketing")
    without = Contact.select(Contact.id).where(Contact.id.in_(contact_ids) & ~has_address).count()
    if without:
        check.total += without
        check.skipped[NO_ADDRESS] += without
    return check


def email_actions() -> list[Action]:
    return [Action(
        "email.send", _l("Send an email"), run=run_send, validate=check_send_settings, audience=step_audience,
        description=_l("Sends a personalised email (subject and body may use {{ first_name }}, "
                       "{{ fields.<key> }}, {{ owner_name }}). Sent at most once per workflow step."),
        settings=[
            Setting("template", _l("Email to send"), kind="choice", choices_from=email_choices,
                    create_link=("email_admin.new", _l("Create a new newsletter")),
                    help=_l("Optional: a newsletter or saved template whose subject and content are sent; "
                            "or write them below.")),
            Setting("subject", _l("Subject")),
            Setting("body", _l("Body (HTML)"), kind="textarea"),
        ],
    )]
