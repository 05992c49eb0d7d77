"""Retention policy: contacts inactive for more than N years (setting
``retention_years``, default 3) are due; M days before (``retention_warning_days``)
a ``gdpr_retention_warning`` event is emitted once per deadline, for a
reactivation workflow to trigger on; after the deadline the daily job
pseudonymises or deletes them (``retention_mode``) when ``retention_auto`` is
on. The report page shows the same computation as a dry run.

Inactivity is measured from ``Contact.last_interaction_at`` (maintained by
core on every non-passive event), or the creation date for a contact that
never interacted.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import peewee

from core import Contact, enqueue, state, utcnow, write_transaction

from .erasure import ErasureError, erase
from .ledger import emit_passive
from .models import ErasedContact, RetentionWarning
from .purposes import int_setting, setting

log = logging.getLogger("couvee.gdpr")
BATCH = 200
WARNING_KIND = "gdpr_retention_warning"


@dataclass
class Policy:
    years: int
    warning_days: int
    mode: str
    auto: bool

    @classmethod
    def current(cls) -> "Policy":
        mode = setting("retention_mode")
        return cls(years=int_setting("retention_years", 1), warning_days=int_setting("retention_warning_days", 0),
                   mode=mode if mode in ("delete", "pseudonymise") else "pseudonymise",
                   auto=bool(setting("retention_auto")))

    @property
    def span(self) -> dt.timedelta:
        return dt.timedelta(days=round(365.25 * self.years))


def reference_date(contact: Contact) -> dt.datetime:
    return contact.last_interaction_at or contact.created_at


def deadline_of(contact: Contact, policy: Policy) -> dt.datetime:
    return reference_date(contact) + policy.span


def _inactive_before(cutoff: dt.datetime):
    return (Contact.last_interaction_at < cutoff) | (
        Contact.last_interaction_at.is_null() & (Contact.created_at < cutoff))


def _not_erased():
    return Contact.id.not_in(ErasedContact.select(ErasedContact.contact))


def due_query(policy: Policy, now: dt.datetime):
    """Contacts past the deadline (flagged: to pseudonymise or delete)."""
    return Contact.select().where(_inactive_before(now - policy.span) & _not_erased())


def warning_query(policy: Policy, now: dt.datetime):
    """Contacts whose deadline falls within the warning window."""
    window_start = now - policy.span
    window_end = window_start + dt.timedelta(days=policy.warning_days)
    return Contact.select().where(_inactive_before(window_end) & ~_inactive_before(window_start) & _not_erased())


@dataclass
class Report:
    policy: Policy
    now: dt.datetime
    due_count: int = 0
    warning_count: int = 0
    due: list = field(default_factory=list)
    warning: list = field(default_factory=list)


def report(now: dt.datetime | None = None, limit: int = 100) -> Report:
    """What the job would do now (dry run): nothing is changed."""
    now = now or utcnow()
    policy = Policy.current()
    result = Report(policy, now)
    due = due_query(policy, now)
    warn = warning_query(policy, now)
    result.due_count, result.warning_count = due.count(), warn.count()
    order = Contact.id
    result.due = [(c, deadline_of(c, policy)) for c in due.order_by(order).limit(limit)]
    result.warning = [(c, deadline_of(c, policy)) for c in warn.order_by(order).limit(limit)]
    return result


def send_warnings(policy: Policy, now: dt.datetime) -> int:
    """Emit one ``gdpr_retention_warning`` per contact and deadline."""
    sent = 0
    for contact in list(warning_query(policy, now)):
        deadline = deadline_of(contact, policy)
        if RetentionWarning.select().where((RetentionWarning.contact == contact.id)
                                           & (RetentionWarning.deadline == deadline)).exists():
            continue
        try:
            with write_transaction(state().database):
                RetentionWarning.create(contact=contact.id, deadline=deadline)
                emit_passive(contact, WARNING_KIND, {"deadline": deadline.isoformat(), "action": policy.mode,
                                                     "days_left": max((deadline - now).days, 0)}, source="gdpr")
        except peewee.IntegrityError:  # another run warned at the same time
            continue
        sent += 1
    return sent


def apply(policy: Policy, now: dt.datetime, limit: int = BATCH) -> tuple[int, int]:
    """Erase up to ``limit`` due contacts; returns ``(erased, failed)``."""
    erased = failed = 0
    for contact in list(due_query(policy, now).order_by(Contact.id).limit(limit)):
        try:
            erase(contact, policy.mode, reason="retention")
            erased += 1
        except ErasureError as error:
            failed += 1
            log.error("retention: contact %s not erased: %s", contact.id, error)
    return erased, failed


def run_retention() -> dict:
    """Daily periodic job: warn, then apply the policy when automatic."""
    now = utcnow()
    policy = Policy.current()
    warned = send_warnings(policy, now)
    erased = failed = 0
    if policy.auto:
        erased, failed = apply(policy, now)
        if erased == BATCH:  # more to do: continue in a new job rather than one long one
            enqueue(run_retention, queue="low")
    return {"warned": warned, "erased": erased, "failed": failed}
