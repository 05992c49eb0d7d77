"""The ledger: the one door through which a contact's score changes.

:func:`record_change` writes a :class:`~.models.PointChange` row and adds its
delta to ``Contact.points`` *in SQL* (``points = points + delta``) in the same
transaction, so the cached score is always the sum of the ledger, whatever
runs concurrently. In that transaction it also claims what must happen once
(a point action's award, a trigger's firing); after the commit it emits
``points_changed`` and queues the actions of the triggers just crossed::

    record_change(Change(contact_id, +5, "Downloaded the white paper", "point_action",
                         source_id="3", event_id=event.id), claim=award_claim)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

import peewee

from core import BaseModel, Contact, emit, translation_domain, utcnow
from core import write_transaction as core_write_transaction

from .models import PointAward, PointChange, SOURCE_TYPES, TriggerFiring

log = logging.getLogger("couvee.scoring")
_ = translation_domain(__name__).gettext

#: the largest change accepted in one go (keeps totals far from integer limits)
MAX_DELTA = 1_000_000
MAX_REASON = 500


class ScoringError(ValueError):
    """Invalid input; the message is meant for the user."""


@dataclass
class Change:
    """One change of a contact's score, before it is written."""

    contact_id: int
    delta: int
    reason: str
    source_type: str
    source_id: str = ""
    event_id: Optional[int] = None
    #: idempotency key: a second change with the same key is ignored
    key: Optional[str] = None
    user_id: Optional[int] = None

    def validate(self) -> None:
        if isinstance(self.delta, bool) or not isinstance(self.delta, int):
            raise ScoringError(_("The number of points must be a whole number."))
        if self.delta == 0:
            raise ScoringError(_("The number of points cannot be 0."))
        if abs(self.delta) > MAX_DELTA:
            raise ScoringError(_out_of_range())
        if self.source_type not in SOURCE_TYPES:
            raise ScoringError(f"Unknown source of points “{self.source_type}”.")
        self.reason = " ".join(str(self.reason or "").split())[:MAX_REASON]
        self.source_id = str(self.source_id or "")[:64]


def _out_of_range() -> str:
    return _("The number of points must be between %(low)s and %(high)s.", low=-MAX_DELTA, high=MAX_DELTA)


class AlreadyDone(Exception):
    """The change's key or claim was already used: nothing was written."""


def database():
    return BaseModel._meta.database


def write_transaction():
    """core's write transaction (``BEGIN IMMEDIATE`` on SQLite), on the
    models' database; a name of its own so a test can make two workers race."""
    return core_write_transaction(database())


def parse_delta(raw) -> int:
    """Form text (``"+5"``, ``"-10"``) to a non-zero whole number, or ScoringError."""
    text = str(raw if raw is not None else "").strip().replace(" ", "")
    try:
        value = int(text)
    except ValueError:
        raise ScoringError(_("The number of points must be a whole number, like 5 or -10.")) from None
    if value == 0:
        raise ScoringError(_("The number of points cannot be 0."))
    if abs(value) > MAX_DELTA:
        raise ScoringError(_out_of_range())
    return value


def add_to_contact(contact_id: int, delta: int) -> tuple[int, int]:
    """Add ``delta`` in SQL; return ``(old total, new total)``. The update
    locks the contact's row until commit, so concurrent changes queue up."""
    updated = Contact.update(points=Contact.points + delta).where(Contact.id == contact_id).execute()
    if not updated:
        raise ScoringError(f"Contact #{contact_id} does not exist.")
    total = Contact.select(Contact.points).where(Contact.id == contact_id).scalar()
    return total - delta, total


def _already_used(change: Change, claim_check: Optional[Callable[[], bool]]) -> bool:
    if change.key and PointChange.select().where(PointChange.key == change.key).exists():
        return True
    return bool(claim_check and claim_check())


def record_change(change: Change, claim: Optional[Callable[[], None]] = None,
                  claim_check: Optional[Callable[[], bool]] = None) -> Optional[PointChange]:
    """Write ``change`` to the ledger and the contact's points, at most once.

    ``claim`` inserts a row protected by a unique constraint (raises
    ``IntegrityError`` when taken) in the same transaction; ``claim_check``
    says whether it is taken already (a cheap early exit for retries).
    Returns the ledger row, or ``None`` when the key or claim was used.
    """
    from .triggers import claim_crossed

    change.validate()
    if _already_used(change, claim_check):
        return None
    try:
        with write_transaction():
            if claim is not None:
                claim()
            old, new = add_to_contact(change.contact_id, change.delta)
            row = PointChange.create(
                contact=change.contact_id, delta=change.delta, total=new, reason=change.reason,
                source_type=change.source_type, source_id=change.source_id, event_id=change.event_id,
                key=change.key, user=change.user_id, created_at=utcnow(),
            )
            firings = claim_crossed(change.contact_id, old, new)
            database().after_commit(lambda: _after_commit(row, firings))
    except peewee.IntegrityError:
        if _already_used(change, claim_check):
            log.info("points change %s for contact %s already applied", change.key or change.source_id,
                     change.contact_id)
            return None
        raise
    return row


def _after_commit(row: PointChange, firings: list[int]) -> None:
    """Tell the others; never raise (the change is committed)."""
    from .triggers import after_crossing

    try:
        announce(row)
    except Exception:  # Redis away: the event row exists, the sweep dispatches it
        log.exception("could not announce points change %s", row.id)
    try:
        after_crossing(firings)
    except Exception:
        log.exception("could not queue trigger firings %s (the periodic sweep will)", firings)


def announce(row: PointChange) -> None:
    """Emit ``points_changed`` for a ledger row."""
    contact = Contact.get_or_none(Contact.id == row.contact_id)
    if contact is None:
        return
    emit(contact, "points_changed", {
        "delta": row.delta, "total": row.total, "reason": row.reason, "source": row.source_type,
        "source_id": row.source_id, "change_id": row.id,
    }, source="scoring")


def award_claim(point_action_id: int, contact_id: int, event_id: int | None):
    """The claim and the check that make a point action fire once per contact."""
    def claim():
        PointAward.insert(point_action=point_action_id, contact=contact_id, event_id=event_id,
                          created_at=utcnow()).execute()

    def check() -> bool:
        return PointAward.select().where((PointAward.point_action == point_action_id)
                                         & (PointAward.contact == contact_id)).exists()

    return claim, check


def history(contact_id: int, limit: int = 50) -> list[PointChange]:
    """The contact's latest ledger rows, newest first."""
    return list(PointChange.select().where(PointChange.contact == contact_id)
                .order_by(PointChange.created_at.desc(), PointChange.id.desc()).limit(limit))


def ledger_sum(contact_id: int) -> int:
    return PointChange.select(peewee.fn.COALESCE(peewee.fn.SUM(PointChange.delta), 0)).where(
        PointChange.contact == contact_id).scalar()


def firings_of(contact_id: int) -> list[TriggerFiring]:
    return list(TriggerFiring.select().where(TriggerFiring.contact == contact_id).order_by(TriggerFiring.id))
