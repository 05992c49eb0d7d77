"""Drain slots: atomic Redis flags, each holding the id of the drain job that
is queued or running in it. At most :func:`partitions.count` drains exist at
once (more could only wait for a partition).

``request_drain()`` makes sure *one* drain is queued or running: when no slot
is held it sets slot 0 with ``SET NX`` and, when it won, queues the drain job
under that id; every other caller returns at once (a web request emitting
1,000 events costs one ``MGET`` and at most one ``SET NX``, not 1,000 jobs).
A running drain that finds a backlog in partitions nobody works on asks for
more drains (:func:`request_more`, the other slots), refreshes its slot, hands
it to its successor when work remains and releases it when it is done. A
slot expires on its own if the worker holding it dies.
"""
from __future__ import annotations

import logging
import uuid

from flask import current_app

from . import partitions
from .partitions import RELEASE_IF_HELD

log = logging.getLogger("couvee.dispatch")

#: slot 0's flag (the name a single drain used before the slots)
FLAG = "couvee:events:drain"
#: how long a queued drain job may wait for a worker before the flag is freed
QUEUED_TTL = 600
#: how long a running drain holds the flag between two refreshes
RUNNING_TTL = 60
#: a drain job's hard timeout (it stops itself after a short time slice)
JOB_TIMEOUT = 600

_SWAP = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
"""


def _redis():
    return current_app.extensions["couvee"].redis


def flag(slot: int = 0) -> str:
    return FLAG if slot == 0 else f"{FLAG}:{slot}"


def flags() -> list[str]:
    """Every slot's flag name."""
    return [flag(slot) for slot in range(partitions.count())]


def new_job_id() -> str:
    return f"couvee-drain-{uuid.uuid4().hex}"


def holders() -> dict[int, str]:
    """The drain job id held in each occupied slot."""
    values = _redis().mget(flags())
    return {slot: value.decode() for slot, value in enumerate(values) if value is not None}


def holder(slot: int | None = None) -> str | None:
    """The id of the drain job holding ``slot`` (by default: any slot, the lowest first)."""
    if slot is not None:
        value = _redis().get(flag(slot))
        return value.decode() if value is not None else None
    held = holders()
    return held[min(held)] if held else None


def request_drain() -> bool:
    """Make sure a drain job is queued or running; True when this call queued it.

    Never raises: when Redis is away the periodic sweep signals later."""
    try:
        if holders():
            return False
    except Exception:
        log.exception("could not signal the event drain; the sweep will")
        return False
    return _occupy(0)


def request_more(busy: int) -> bool:
    """Queue one more drain in a free slot, unless ``busy`` drains (or more)
    already exist or every slot is held; True when one was queued."""
    try:
        held = holders()
    except Exception:
        log.exception("could not ask for another drain")
        return False
    if len(held) > busy:
        return False
    free = [slot for slot in range(partitions.count()) if slot not in held]
    return bool(free) and _occupy(free[0], after_emitter=False)


def _occupy(slot: int, after_emitter: bool = True) -> bool:
    job_id = new_job_id()
    try:
        if not _redis().set(flag(slot), job_id, nx=True, ex=QUEUED_TTL):
            return False
        _enqueue(job_id, slot, after_emitter)
    except Exception:
        log.exception("could not signal the event drain; the sweep will")
        release(job_id, slot, quiet=True)
        return False
    return True


def hand_over(current: str | None, slot: int = 0) -> bool:
    """A running drain with work left queues its successor under the flag it
    holds (no gap in which a second drain could be queued)."""
    successor = new_job_id()
    if current is None or not _swap(flag(slot), current, successor, QUEUED_TTL):
        return request_drain()  # our flag expired meanwhile: queue one the usual way
    try:
        _enqueue(successor, slot, after_emitter=False)
    except Exception:
        log.exception("could not queue the next drain; the sweep will")
        release(successor, slot, quiet=True)
        return False
    return True


def refresh(current: str | None, slot: int = 0) -> bool:
    """Keep holding the flag while running (False if it is no longer ours)."""
    return current is not None and _swap(flag(slot), current, current, RUNNING_TTL)


def release(current: str | None, slot: int = 0, quiet: bool = False) -> bool:
    if current is None:
        return False
    try:
        return bool(_redis().eval(RELEASE_IF_HELD, 1, flag(slot), current))
    except Exception:
        if not quiet:
            raise
        return False


def _swap(key: str, expected: str, new: str, ttl: int) -> bool:
    return bool(_redis().eval(_SWAP, 1, key, expected, new, ttl))


def _enqueue(job_id: str, slot: int, after_emitter: bool = True) -> None:
    """Queue the drain job. ``after_emitter``: it was asked for by an emitter
    (or the sweep), whose transaction may not have committed yet, so a drain
    that finds nothing waits a little for it; a successor or an extra drain
    was asked for by a drain that saw committed work, and finding none it
    simply ends."""
    from ..queue import enqueue
    from .drain import drain_events

    options = {} if after_emitter else {"late_commits": False}
    if slot or options:
        enqueue(drain_events, slot, queue="events", job_id=job_id, timeout=JOB_TIMEOUT, **options)
    else:  # the arguments a drain job had before the slots
        enqueue(drain_events, queue="events", job_id=job_id, timeout=JOB_TIMEOUT)
