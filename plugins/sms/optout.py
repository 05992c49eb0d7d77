"""Opposition to SMS: a STOP reply (or an admin) records the number, and
this plugin's ``contact_can_receive`` / ``contact_receive_refusals`` refuse
marketing SMS to the contacts who own it. Transactional messages still pass
(opposition is to prospecting). A START reply lifts it again.

The keywords are Twilio's Advanced Opt-Out defaults, which the gateway
applies itself (after STOP it refuses to text the number until START, YES or
UNSTOP): ours follow them so the send log and the gateway agree. French
marketing SMS carry a "STOP SMS" mention (a free opt-out by reply), and
people also answer "STOP SMS", ARRET or ARRÊT: those are opt-outs too. No
French opt-in word is in common use, so none is added."""
from __future__ import annotations

from core import Contact, ContactValue, CustomField, emit, event_kind_registered, translation_domain, write_transaction

from .models import OptOut
from .phones import PhoneError, phone_field_key, raw_phones, to_e164

_ = translation_domain(__name__).gettext

#: replies that mean "no more messages" (Twilio's standard opt-out words, and French ones)
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRÊT", "STOP SMS"})
#: replies that lift the opposition (Twilio's standard opt-in words)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
OPTED_OUT = "sms_opted_out"
OPTED_IN = "sms_opted_in"
REFUSAL = "replied STOP to an SMS"


def keyword(body: str) -> str:
    """A reply as a keyword: blanks collapsed, upper case, without final punctuation."""
    return " ".join((body or "").split()).upper().strip(" .!")


def is_stop(body: str) -> bool:
    return keyword(body) in STOP_WORDS


def is_start(body: str) -> bool:
    return keyword(body) in START_WORDS


def contacts_with_phone(phone: str) -> list[Contact]:
    rows = (ContactValue.select(ContactValue.contact).join(CustomField)
            .where((CustomField.key == phone_field_key()) & (ContactValue.value == phone)))
    return list(Contact.select().where(Contact.id.in_([row.contact_id for row in rows])))


def record_stop(phone: str, keyword: str = "STOP") -> list[Contact]:
    """Record that ``phone`` (E.164) opposes SMS; emit ``sms_opted_out`` (and,
    with the GDPR plugin active, ``consent_withdrawn`` for ``sms_marketing``)
    for each contact with that number, once. Returns those contacts."""
    contacts = contacts_with_phone(phone)
    with write_transaction():
        if OptOut.get_or_none(OptOut.phone == phone) is not None:
            return contacts  # already recorded (a webhook delivered twice, a second STOP)
        OptOut.create(phone=phone, contact=contacts[0].id if contacts else None, keyword=keyword[:40])
    _announce(contacts, OPTED_OUT, "consent_withdrawn", "sms_stop", phone, keyword)
    return contacts


def record_start(phone: str, keyword: str = "START") -> list[Contact]:
    """Lift the opposition of ``phone`` (E.164) after a START reply; emit
    ``sms_opted_in`` (and, with the GDPR plugin active, ``consent_given`` for
    ``sms_marketing``: the reply is the person's own positive act) for each
    contact with that number. Nothing happens when the number had no
    opposition (a second START, a webhook delivered twice). Returns the
    contacts whose opposition was lifted."""
    contacts = contacts_with_phone(phone)
    with write_transaction():
        if not OptOut.delete().where(OptOut.phone == phone).execute():
            return []
    _announce(contacts, OPTED_IN, "consent_given", "sms_start", phone, keyword)
    return contacts


def _announce(contacts: list[Contact], kind: str, consent_kind: str, source: str, phone: str, keyword: str) -> None:
    """Emit ``kind`` for each contact and, when the GDPR plugin registers it,
    ``consent_kind`` for ``sms_marketing`` so the consent ledger has the reply."""
    for contact in contacts:
        emit(contact, kind, {"phone": phone, "keyword": keyword}, source="sms")
        if event_kind_registered(consent_kind):
            emit(contact, consent_kind, {"purpose": "sms_marketing", "source": source,
                                         "text": f"SMS reply: {keyword}"}, source="sms")


def opted_out_ids(contact_ids: list[int]) -> set[int]:
    """Which of these contacts replied STOP (by contact, or by their current number)."""
    if not contact_ids:
        return set()
    found = {row.contact_id for row in OptOut.select(OptOut.contact).where(OptOut.contact.in_(contact_ids))}
    numbers: dict[str, list[int]] = {}
    for contact_id, raw in raw_phones(contact_ids).items():
        try:
            numbers.setdefault(to_e164(raw), []).append(contact_id)
        except PhoneError:
            continue
    if numbers:
        for row in OptOut.select(OptOut.phone).where(OptOut.phone.in_(list(numbers))):
            found.update(numbers[row.phone])
    return found


def refusals(contact_ids, channel: str, purpose: str) -> dict[int, str]:
    if channel != "sms" or purpose == "transactional":
        return {}
    return {contact_id: REFUSAL for contact_id in opted_out_ids(list(contact_ids))}


def opposes(contact: Contact, channel: str, purpose: str) -> bool:
    """Did ``contact`` oppose what is being sent (marketing on ``sms``)?"""
    return contact.id is not None and bool(refusals([contact.id], channel, purpose))
