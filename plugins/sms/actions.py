"""The ``sms.send`` workflow action (“Send an SMS”): the text with core's
tokens filled for the contact, to their number, once per workflow step key."""
from __future__ import annotations

from core import Action, Message, Setting, check_audience, fill_tokens, send_message, translation_domain

from . import segments
from .phones import PhoneError, phone_of

_, _l = translation_domain(__name__).pair()


def check_sms_settings(settings: dict) -> list[str]:
    text = (settings.get("text") or "").strip()
    if not text:
        return [_("write the text of the SMS.")]
    count = segments.count(text)
    if count.segments > 10:
        return [_("the text takes %(count)d SMS segments; keep it to 10 at most.", count=count.segments)]
    return []


def run_send_sms(contact, settings: dict, context: dict) -> str:
    """Send the step's SMS to ``contact``; returns what happened, for the workflow log."""
    try:
        to = phone_of(contact)
    except PhoneError as error:
        return f"skipped: {error}"
    purpose = settings.get("purpose") or "marketing"
    result = send_message(Message(to=to, subject="", text=fill_tokens(settings.get("text") or "", contact),
                                  contact=contact, kind="sms.workflow", purpose=purpose,
                                  key=str(context.get("key") or "")), channel="sms")
    return result.raise_for_retry().describe()  # the gateway down: the engine tries the step again


def send_sms_action() -> Action:
    return Action(
        id="sms.send", label=_l("Send an SMS"), run=run_send_sms, validate=check_sms_settings,
        description=_l("Send a text message to the contact’s mobile number. Tokens such as {{ first_name }} "
                       "are filled; 160 GSM-7 characters (70 with accents outside GSM-7 or emoji) make one segment."),
        settings=[
            Setting("text", _l("Text"), kind="textarea", required=True),
            Setting("purpose", _l("Purpose"), kind="choice", default="marketing",
                    choices=[("marketing", _l("Marketing")), ("transactional", _l("Transactional"))]),
        ],
        audience=lambda settings, ids: check_audience(ids, "sms", settings.get("purpose") or "marketing"),
    )
