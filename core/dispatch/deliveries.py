"""Delivery of one event to each plugin, separately.

Each plugin's implementation of ``contact_created`` / ``contact_updated`` /
``contact_event`` is called on its own (``get_hookimpls()``), so one plugin's
failure neither hides the event from the others nor makes them see it twice.
A failure is recorded as an :class:`~core.models.EventDelivery` row and only
that plugin's hook is retried, after :data:`BACKOFF`; after the last delay the
delivery is ``failed`` for good and shown on the dashboard, where an admin can
retry it by hand.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from contextlib import contextmanager

import peewee
from flask import current_app, g

from ..db import write_transaction
from ..models import Contact, Event, EventDelivery, utcnow
from . import partitions

log = logging.getLogger("couvee.dispatch")

#: waits before the 2nd, 3rd, 4th and 5th attempt; the 5th failure is final
BACKOFF = (dt.timedelta(seconds=30), dt.timedelta(minutes=2), dt.timedelta(minutes=10), dt.timedelta(hours=1))
#: a retry claimed by a drain is not taken by another one for this long
RETRY_LEASE = dt.timedelta(minutes=5)
#: when the failed plugin is not active, look again after this long (attempts are not counted)
INACTIVE_WAIT = dt.timedelta(hours=1)
RETRYING, FAILED = "retrying", "failed"
#: ``g`` key: the event being delivered is bulk (what plugins emit meanwhile is bulk too)
_LANE_KEY = "couvee_bulk_reaction"


def hooks_for(event: Event) -> tuple[str, ...]:
    if event.kind in ("contact_created", "contact_updated"):
        return (event.kind, "contact_event")
    return ("contact_event",)


def hook_arguments(hook: str, event: Event) -> dict:
    if hook == "contact_created":
        return {"contact": event.contact}
    if hook == "contact_updated":
        changes = {key: tuple(pair) for key, pair in ((event.data or {}).get("changes") or {}).items()}
        return {"contact": event.contact, "changes": changes}
    return {"event": event}


class Deliverer:
    """Calls the hooks of the active plugins for events, one plugin at a time.
    Built once per drain (the implementations are looked up once)."""

    def __init__(self):
        state = current_app.extensions["couvee"]
        self.state = state
        caller = state.hooks.pm.hook
        self.impls = {hook: list(reversed(getattr(caller, hook).get_hookimpls()))
                      for hook in ("contact_created", "contact_updated", "contact_event")}

    def deliver(self, event: Event) -> int:
        """Call every plugin's hooks for ``event``; return the number of failures."""
        failures = 0
        with _reacting_to(event):
            for hook in hooks_for(event):
                arguments = hook_arguments(hook, event)
                for impl in self.impls[hook]:
                    error = self.call(impl, hook, arguments, event)
                    if error is not None:
                        failures += 1
                        record_failure(event, impl.plugin_name, hook, error)
        return failures

    def call(self, impl, hook: str, arguments: dict, event: Event) -> str | None:
        """Run one implementation (inside :func:`_reacting_to` the event); the
        error message when it raised (None when it raised because the contact
        was deleted meanwhile: nothing to retry)."""
        try:
            impl.function(**{name: arguments[name] for name in impl.argnames})
        except Exception as error:
            if not Contact.select(Contact.id).where(Contact.id == event.contact_id).exists():
                log.info("contact %s was deleted while %s handled event %s: skipped",
                         event.contact_id, impl.plugin_name, event.id)
                return None
            message = f"{type(error).__name__}: {error}"
            log.error("plugin %s raised in %s:\n%s", impl.plugin_name, hook, traceback.format_exc())
            try:
                self.state.record_plugin_error(impl.plugin_name, hook, message)
            except Exception:  # reporting must never stop the dispatch
                log.exception("could not record the error of plugin %s", impl.plugin_name)
            return message
        return None

    def implementation(self, hook: str, plugin: str):
        return next((impl for impl in self.impls.get(hook, ()) if impl.plugin_name == plugin), None)

    # -- retries -------------------------------------------------------------

    def retry_due(self, deadline: float, limit: int = 50, partition: int | None = None) -> int:
        """Retry the deliveries whose time has come (until ``deadline``, a
        ``time.monotonic()`` value), of the events in ``partition`` if given
        (a drain retries only in the partition it holds); return how many
        were attempted."""
        now = utcnow()
        due = EventDelivery.select().where(_due(now))
        if partition is not None:
            due = due.join(Event).where(partitions.where(partition))
        due = list(due.order_by(EventDelivery.next_attempt_at, EventDelivery.id).limit(limit))
        attempted = 0
        for delivery in due:
            if time.monotonic() > deadline:
                break
            if _claim_retry(delivery, now):
                self.retry(delivery)
                attempted += 1
        return attempted

    def retry(self, delivery: EventDelivery) -> bool:
        """Call the failed plugin's hook again; True when it succeeded."""
        event = Event.select(Event, Contact).join(Contact).where(Event.id == delivery.event_id).first()
        if event is None:  # the contact (and its events) were deleted meanwhile
            EventDelivery.delete().where(EventDelivery.id == delivery.id).execute()
            return False
        impl = self.implementation(delivery.hook, delivery.plugin)
        if impl is None:
            with write_transaction():
                EventDelivery.update(next_attempt_at=utcnow() + INACTIVE_WAIT,
                                     last_error=f"the plugin {delivery.plugin} is not active").where(
                    EventDelivery.id == delivery.id).execute()
            return False
        with _reacting_to(event):
            error = self.call(impl, delivery.hook, hook_arguments(delivery.hook, event), event)
        if error is None:
            EventDelivery.delete().where(EventDelivery.id == delivery.id).execute()
            return True
        with write_transaction():
            _count_failure(delivery, error)
        return False


@contextmanager
def _reacting_to(event: Event):
    """What the plugins emit while they react to ``event`` takes its lane
    (see core.events.emit); a delivery nested in a hook (dispatch_now)
    gives the outer event's lane back when it ends."""
    outer = g.get(_LANE_KEY)
    setattr(g, _LANE_KEY, not event.interactive)
    try:
        yield
    finally:
        if outer is None:
            g.pop(_LANE_KEY, None)
        else:
            setattr(g, _LANE_KEY, outer)


def _claim_retry(delivery: EventDelivery, now: dt.datetime) -> bool:
    with write_transaction():
        return bool(EventDelivery.update(next_attempt_at=now + RETRY_LEASE).where(
            (EventDelivery.id == delivery.id) & (EventDelivery.status == RETRYING)
            & (EventDelivery.next_attempt_at == delivery.next_attempt_at)).execute())


def _count_failure(delivery: EventDelivery, message: str) -> None:
    now = utcnow()
    attempts = delivery.attempts + 1
    final = attempts > len(BACKOFF)
    EventDelivery.update(
        attempts=attempts, last_error=message[:4000], last_failed_at=now,
        status=FAILED if final else RETRYING,
        next_attempt_at=None if final else now + BACKOFF[attempts - 1],
    ).where(EventDelivery.id == delivery.id).execute()


def record_failure(event: Event, plugin: str, hook: str, message: str) -> None:
    """Remember that ``plugin``'s ``hook`` failed for ``event`` (a repeated
    failure of the same delivery counts as one more attempt)."""
    now = utcnow()
    try:
        with write_transaction():
            existing = EventDelivery.get_or_none((EventDelivery.event == event.id) & (EventDelivery.plugin == plugin)
                                                 & (EventDelivery.hook == hook))
            if existing is not None:
                _count_failure(existing, message)
                return
            EventDelivery.create(event=event.id, plugin=plugin, hook=hook, attempts=1, status=RETRYING,
                                 next_attempt_at=now + BACKOFF[0], last_error=message[:4000],
                                 first_failed_at=now, last_failed_at=now)
    except peewee.IntegrityError:
        if Event.select().where(Event.id == event.id).exists():
            raise
        log.info("event %s was deleted with its contact; nothing to retry for %s", event.id, plugin)


def _due(now: dt.datetime):
    return (EventDelivery.status == RETRYING) & (EventDelivery.next_attempt_at <= now)


def has_due() -> bool:
    return EventDelivery.select(EventDelivery.id).where(_due(utcnow())).limit(1).exists()


def retry_now(delivery_id: int) -> bool:
    """Put a delivery (failed for good or waiting) back in line for an
    immediate attempt and signal a drain; False if it no longer exists."""
    from .signal import request_drain

    with write_transaction():
        found = EventDelivery.update(status=RETRYING, next_attempt_at=utcnow()).where(
            EventDelivery.id == delivery_id).execute()
    if found:
        request_drain()
    return bool(found)


def failed_deliveries(limit: int = 50):
    """Deliveries given up on, newest first, with their event and contact."""
    return (EventDelivery.select(EventDelivery, Event, Contact)
            .join(Event).join(Contact)
            .where(EventDelivery.status == FAILED)
            .order_by(EventDelivery.last_failed_at.desc(), EventDelivery.id.desc())
            .limit(limit))


def failed_count() -> int:
    return EventDelivery.select().where(EventDelivery.status == FAILED).count()
