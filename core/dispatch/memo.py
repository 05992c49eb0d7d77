"""Definitions read once per dispatched batch instead of once per event.

A drain claims its events in batches (up to 100) and hands them to the
plugins one by one. A plugin reacting to every event usually starts by reading
its *definitions* (the point actions for this kind, the dynamic segments, the
live workflows): the same rows for every event of the batch. ``batch_memo``
keeps what ``load()`` returned for the rest of the batch::

    from core import batch_memo

    actions = batch_memo(f"scoring.actions:{event.kind}", lambda: list(
        PointAction.select().where(PointAction.kind == event.kind)))

What it promises: the value is loaded after the batch was claimed, so it
includes every definition saved before the batch's events were recorded
(nothing older than the events themselves is missed). A definition saved while
the batch is being delivered is seen from the next batch on. Outside a batch
(a retry, a web request, a test calling a hook directly) ``load()`` runs every
time. Memoise definitions only, never a contact's data: the events of one batch
belong to many contacts, and a contact's data changes as its events are handled.
Prefix keys with your plugin's name.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, TypeVar

from flask import g, has_app_context

T = TypeVar("T")

_G_KEY = "couvee_batch_memo"
_FLUSH_KEY = "couvee_batch_flushes"
log = logging.getLogger("couvee.dispatch")


@contextmanager
def batch_scope():
    """Deliver one claimed batch of events inside this (core's drain does)."""
    outer = g.pop(_G_KEY, None)
    outer_flushes = g.pop(_FLUSH_KEY, None)
    setattr(g, _G_KEY, {})
    setattr(g, _FLUSH_KEY, {})
    try:
        yield
        _run_flushes(g.get(_FLUSH_KEY) or {})
    finally:
        g.pop(_G_KEY, None)
        g.pop(_FLUSH_KEY, None)
        if outer is not None:
            setattr(g, _G_KEY, outer)
        if outer_flushes is not None:
            setattr(g, _FLUSH_KEY, outer_flushes)


def _run_flushes(pending: dict) -> None:
    for key, (flush, items) in pending.items():
        try:
            flush(items)
        except Exception:  # the batch's events were delivered; one plugin's flush must not redeliver them
            log.exception("the end-of-batch write %s failed", key)


def batch_collect(key: str, item: Any, flush: Callable[[list], None]) -> None:
    """Add ``item`` to this batch's list ``key``; ``flush(items)`` runs once
    when the batch's events have all been delivered, with every item added
    (in order). Outside a batch it runs at once with ``[item]``. For writes a
    plugin would otherwise repeat per event, e.g. one UPDATE for the whole
    batch instead of one per event::

        batch_collect("accounts.last_interaction", (event.contact_id, event.created_at),
                      touch_last_interactions)

    The flush must be idempotent and keep whatever is right when called
    again (the drain delivers at least once); an error in it is logged, not
    retried. Prefix keys with your plugin's name."""
    pending = g.get(_FLUSH_KEY) if has_app_context() else None
    if pending is None:
        flush([item])
        return
    pending.setdefault(key, (flush, []))[1].append(item)


def batch_memo(key: str, load: Callable[[], T]) -> T:
    """``load()``'s value, loaded once per dispatched batch (see the module docstring)."""
    memo = g.get(_G_KEY) if has_app_context() else None
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]
