"""The consent ledger: append a decision, read the current state.

Entries come from ``consent_given`` / ``consent_withdrawn`` events, whoever
emits them (forms, double opt-in, the preference centre, the admin, the API,
imports with declared proof). :func:`record_from_event` is idempotent on the
event id, so a re-dispatched event never adds a second entry. Changes made
here (admin, preference centre) are emitted as events *and* written at once
with that event's id, so the page shows them immediately and the dispatch
that follows is a no-op.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from core import Contact, emit, state, utcnow, write_transaction

from .models import ConsentRecord, ConsentState, Opposition
from .purposes import CHANNEL_FLAGS

log = logging.getLogger("couvee.gdpr")
CONSENT_KINDS = ("consent_given", "consent_withdrawn")
#: the imports plugin's kind for a consent a CSV file declared (heard by name:
#: plugins never import each other; without that plugin it never arrives)
IMPORTED_CONSENT = "consent_imported"
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class ConsentError(ValueError):
    """Consent data that cannot be recorded (message for the user)."""


def _parse_at(raw, default: dt.datetime) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str) and raw.strip():
        try:
            value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return default
    else:
        return default
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return min(value, utcnow())  # a decision cannot be in the future


def form_reference(raw) -> int | None:
    """The id of the form a decision was made on, from an event's ``form_id``
    (a number, or its digits as text); None when absent. Raises ConsentError
    for anything else."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ConsentError(f"The form id {raw!r} is not a number.")
    text = str(raw).strip()
    if not text.isdigit() or int(text) >= 2 ** 31:
        raise ConsentError(f"The form id {raw!r} is not a number.")
    return int(text)


def record(contact: Contact, purpose: str, granted: bool, *, text: str = "", text_version: str = "",
           source: str = "", form_id: int | None = None, page_url: str = "", ip: str = "", user_agent: str = "",
           at: dt.datetime | None = None, event_id: int | None = None,
           user_id: int | None = None) -> ConsentRecord | None:
    """Append one decision; returns the entry, or None when ``event_id`` was
    already recorded. ``form_id`` and ``page_url`` say where the person
    decided (a form, on that page). Keeps :class:`ConsentState` on the
    latest decision and lets a new grant for ``<channel>_marketing`` lift
    that channel's opposition flag (a later positive act wins)."""
    if not _PURPOSE.match(purpose or ""):
        raise ConsentError(f"“{purpose}” is not a valid consent purpose.")
    when = at or utcnow()
    with write_transaction(state().database):
        if event_id is not None and ConsentRecord.select().where(ConsentRecord.event_id == event_id).exists():
            return None
        entry = ConsentRecord.create(
            contact=contact.id, purpose=purpose, granted=bool(granted), text=str(text or "")[:10000],
            text_version=str(text_version or "")[:100], source=str(source or "")[:40],
            form_id=form_reference(form_id), page_url=str(page_url or "")[:2000], ip=str(ip or "")[:64],
            user_agent=str(user_agent or "")[:1000], at=when, event_id=event_id, user_id=user_id,
        )
        current = ConsentState.get_or_none((ConsentState.contact == contact.id) & (ConsentState.purpose == purpose))
        if current is None:
            ConsentState.create(contact=contact.id, purpose=purpose, granted=entry.granted, at=when, record_id=entry.id)
        elif when >= current.at:
            ConsentState.update(granted=entry.granted, at=when, record_id=entry.id).where(
                (ConsentState.contact == contact.id) & (ConsentState.purpose == purpose)).execute()
        if entry.granted:
            _lift_channel_opposition(contact, purpose, when)
    return entry


def _lift_channel_opposition(contact: Contact, purpose: str, when: dt.datetime) -> None:
    channel = purpose[: -len("_marketing")] if purpose.endswith("_marketing") else None
    flag = CHANNEL_FLAGS.get(channel or "")
    if flag is None:
        return
    Opposition.update(**{flag: False, "updated_at": utcnow(), "source": "consent"}).where(
        (Opposition.contact == contact.id) & (getattr(Opposition, flag) == True)  # noqa: E712
        & (Opposition.updated_at <= when)).execute()


def record_from_event(event) -> ConsentRecord | None:
    """``contact_event`` side: turn a consent event into a ledger entry (once)."""
    data = event.data or {}
    try:
        form_id = form_reference(data.get("form_id"))
    except ConsentError as error:  # still a decision: recorded without the form, the event keeps what it said
        log.warning("consent event %s: %s", event.id, error)
        form_id = None
    try:
        return record(
            event.contact, str(data.get("purpose") or ""), event.kind == "consent_given",
            text=data.get("text", ""), text_version=data.get("text_version", ""),
            source=data.get("source") or event.source, form_id=form_id, page_url=data.get("page_url", ""),
            ip=data.get("ip", ""), user_agent=data.get("user_agent", ""),
            at=_parse_at(data.get("at"), event.created_at), event_id=event.id,
        )
    except ConsentError as error:
        log.warning("consent event %s not recorded: %s", event.id, error)
        return None


def record_imported(event) -> ConsentRecord | None:
    """``contact_event`` side of core's imported-consent event: a grant whose
    proof is the note and the file named in the event (once per event)."""
    data = event.data or {}
    try:
        return record(event.contact, str(data.get("purpose") or ""), True, text=data.get("text", ""),
                      text_version=data.get("text_version", "import"), source="import",
                      at=_parse_at(data.get("at"), event.created_at), event_id=event.id)
    except ConsentError as error:
        log.warning("imported consent event %s not recorded: %s", event.id, error)
        return None


def emit_passive(contact: Contact, kind: str, data: dict, source: str):
    """Emit an event that is not the contact interacting with us (an admin's
    change, a retention warning): the contact's last interaction date stays."""
    before = Contact.select(Contact.last_interaction_at).where(Contact.id == contact.id).scalar()
    event = emit(contact, kind, data, source=source)
    Contact.update(last_interaction_at=before).where(Contact.id == contact.id).execute()
    contact.last_interaction_at = before
    return event


def change(contact: Contact, purpose: str, granted: bool, *, source: str, text: str, text_version: str = "1",
           ip: str = "", user_agent: str = "", user_id: int | None = None) -> ConsentRecord:
    """A consent given or withdrawn here (admin, preference centre): emitted as
    an event for the timeline and workflows, and recorded now."""
    if not _PURPOSE.match(purpose or ""):
        raise ConsentError(f"“{purpose}” is not a valid consent purpose.")
    now = utcnow()
    data = {"purpose": purpose, "text": text, "text_version": text_version, "source": source, "form_id": None,
            "ip": ip, "user_agent": user_agent, "at": now.isoformat()}
    kind = "consent_given" if granted else "consent_withdrawn"
    with write_transaction(state().database):
        if source == "admin":
            event = emit_passive(contact, kind, data, source=source)
        else:
            event = emit(contact, kind, data, source=source)
        return record(contact, purpose, granted, text=text, text_version=text_version, source=source,
                      ip=ip, user_agent=user_agent, at=now, event_id=event.id, user_id=user_id)


def current(contact_id: int) -> dict[str, ConsentState]:
    """Latest decision per purpose."""
    return {row.purpose: row for row in ConsentState.select().where(ConsentState.contact == contact_id)}


def has_consent(contact_id: int, purpose: str) -> bool:
    row = ConsentState.get_or_none((ConsentState.contact == contact_id) & (ConsentState.purpose == purpose))
    return row is not None and row.granted


def history(contact_id: int) -> list[ConsentRecord]:
    return list(ConsentRecord.select().where(ConsentRecord.contact == contact_id)
                .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc()))
