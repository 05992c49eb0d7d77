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

from contextlib import contextmanager
from typing import Callable, TypeVar

from flask import g, has_app_context

T = TypeVar("T")

_G_KEY = "couvee_batch_memo"


@contextmanager
def batch_scope():
    """Deliver one claimed batch of events inside this (core's drain does)."""
    outer = g.pop(_G_KEY, None)
    setattr(g, _G_KEY, {})
    try:
        yield
    finally:
        g.pop(_G_KEY, None)
        if outer is not None:
            setattr(g, _G_KEY, outer)


def batch_memo(key: str, load: Callable[[], T]) -> T:
    """``load()``'s value, loaded once per dispatched batch (see the module docstring)."""
    memo = g.get(_G_KEY) if has_app_context() else None
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]
