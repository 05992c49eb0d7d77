"""Re-opt-in helper: a segment filter on consent, the ready-made dynamic
segment "no provable email consent", and the ``gdpr.request_reoptin`` action
that emails one confirmation request (a link to the preference centre).

Core has no registry of workflow templates yet, so the workflow itself is
described step by step on the re-opt-in page and in docs/gdpr.md.
"""
from __future__ import annotations

from core import (
    Action, AudienceGroup, Contact, Message, SegmentFilter, Setting, contact_token, define_audience, external_url,
    for_contact, send_message, translation_domain, utcnow,
)

from .models import ConsentState, ErasedContact
from .opposition import flags_of
from .purposes import PURPOSES, purpose_choices

_, _l = translation_domain(__name__).pair()

STATES = (("granted", _l("has given consent")), ("not_granted", _l("has no provable consent")),
          ("withdrawn", _l("has withdrawn consent")))
SEGMENT_NAME = "Re-opt-in: no provable email consent"


def _with_state(purpose: str, granted: bool):
    return ConsentState.select(ConsentState.contact).where(
        (ConsentState.purpose == purpose) & (ConsentState.granted == granted))


def compile_consent(params: dict):
    purpose = (params or {}).get("purpose") or "email_marketing"
    wanted = (params or {}).get("state") or "not_granted"
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown consent purpose “{purpose}”.")
    if wanted == "granted":
        return Contact.id.in_(_with_state(purpose, True))
    if wanted == "withdrawn":
        return Contact.id.in_(_with_state(purpose, False))
    if wanted == "not_granted":
        return (Contact.id.not_in(_with_state(purpose, True)) & Contact.email.is_null(False)
                & Contact.id.not_in(ErasedContact.select(ErasedContact.contact)))
    raise ValueError(f"Unknown consent state “{wanted}”.")


def segment_filters() -> list[SegmentFilter]:
    return [SegmentFilter("gdpr.consent", _l("Consent (GDPR)"), compile=compile_consent, params=[
        Setting("purpose", _l("Purpose"), kind="choice", default="email_marketing", choices=purpose_choices()),
        Setting("state", _l("State"), kind="choice", default="not_granted", choices=list(STATES)),
    ])]


def definition() -> dict:
    return {"match": "all", "groups": [{"match": "all", "conditions": [
        {"filter": "gdpr.consent", "params": {"purpose": "email_marketing", "state": "not_granted"}}]}]}


def ensure_segment() -> AudienceGroup:
    """The dynamic segment of contacts without provable email consent (created
    once, rebuilt now), through the ``"segment"`` audience source;
    ``core.AudienceUnavailable`` when the segments plugin is off."""
    return define_audience(
        "segment", SEGMENT_NAME, definition(), tags=["gdpr", "reoptin"],
        description="Contacts with an address but no consent for marketing emails in the ledger "
                    "(none given, or withdrawn). Send them one re-opt-in request.")


def N_(message: str) -> str:
    """Marks a default for extraction; it is translated when sent, in the contact's language."""
    return message


REOPTIN_SUBJECT = N_("Do you still want to hear from us?")
REOPTIN_TEXT = N_(
    "Hello,\n\nWe would like to keep sending you our news, but only if you agree. "
    "Please confirm your choice (it takes one click) here:\n\n{link}\n\n"
    "If you do nothing, you will not receive our marketing emails any more.\n"
)


def request_reoptin(contact: Contact, settings: dict, context: dict | None = None):
    """Action ``gdpr.request_reoptin``: email one link to the preference centre
    asking the contact to confirm. Sent at most once per campaign (``campaign``
    setting) and never to someone who opposes email prospecting."""
    if not contact.email:
        return "no address"
    flags = flags_of(contact.id)
    if flags["all"] or flags["email"]:
        return "opposes email prospecting"
    campaign = str((settings or {}).get("campaign") or utcnow().strftime("%Y"))
    link = external_url("gdpr_public.preferences", t=contact_token(contact, "gdpr.preferences"), reoptin=1)
    with for_contact(contact):  # the defaults in the contact's language; a text the admin wrote is kept as is
        subject = _custom((settings or {}).get("subject"), REOPTIN_SUBJECT) or _(REOPTIN_SUBJECT)
        body = _custom((settings or {}).get("body"), REOPTIN_TEXT) or _(REOPTIN_TEXT)
    text = body.replace("{link}", link)
    if "{link}" not in body:
        text += f"\n{link}\n"
    result = send_message(Message(
        to=contact.email, contact=contact, kind="gdpr.reoptin_request", purpose="transactional",
        subject=subject, text=text, key=f"gdpr.reoptin:{campaign}:{contact.id}"))
    return result.raise_for_retry().status  # the channel down: the workflow step is tried again later


def _custom(value, default: str) -> str:
    """``value`` unless it is empty or the (English) default."""
    value = (value or "").strip()
    return "" if value == default.strip() else value


def actions() -> list[Action]:
    return [Action("gdpr.request_reoptin", _l("Ask for consent again (re-opt-in)"), run=request_reoptin,
                   description=_l("Emails one link to the preference centre where the contact confirms or refuses "
                                  "marketing emails. At most once per campaign; never to someone who opposes email."),
                   settings=[Setting("campaign", _l("Campaign name"), default="reoptin",
                                     help=_l("A contact gets at most one request per campaign name.")),
                             Setting("subject", _l("Subject"), default=REOPTIN_SUBJECT),
                             Setting("body", _l("Text ({link} is replaced by the confirmation link)"),
                                     kind="textarea", default=REOPTIN_TEXT)])]
