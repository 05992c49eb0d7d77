"""One drain at a time: an atomic Redis flag holding the id of the drain job
that is queued or running.

``request_drain()`` sets the flag with ``SET NX`` and, when it won, queues the
drain job under that id; every other caller returns at once (a web request
emitting 1,000 events costs 1,000 ``SET NX``, not 1,000 jobs). A running drain
refreshes the flag, hands it to its successor when work remains, and releases
it when it is done. The flag expires on its own if the worker holding it dies.
"""
from __future__ import annotations

import logging
import uuid

from flask import current_app

log = logging.getLogger("couvee.dispatch")

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
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def _redis():
    return current_app.extensions["couvee"].redis


def new_job_id() -> str:
    return f"couvee-drain-{uuid.uuid4().hex}"


def holder() -> str | None:
    """The id of the drain job holding the flag, if any."""
    value = _redis().get(FLAG)
    return value.decode() if value is not None else None


def request_drain() -> bool:
    """Make sure a drain job is queued or running; True when this call queued it.

    Never raises: when Redis is away the periodic sweep signals later."""
    job_id = new_job_id()
    try:
        if not _redis().set(FLAG, job_id, nx=True, ex=QUEUED_TTL):
            return False
        _enqueue(job_id)
    except Exception:
        log.exception("could not signal the event drain; the sweep will")
        release(job_id, quiet=True)
        return False
    return True


def hand_over(current: str | None) -> bool:
    """A running drain with work left queues its successor under the flag it
    holds (no gap in which a second drain could be queued)."""
    successor = new_job_id()
    if current is None or not _swap(current, successor, QUEUED_TTL):
        return request_drain()  # our flag expired meanwhile: queue one the usual way
    try:
        _enqueue(successor)
    except Exception:
        log.exception("could not queue the next drain; the sweep will")
        release(successor, quiet=True)
        return False
    return True


def refresh(current: str | None) -> bool:
    """Keep holding the flag while running (False if it is no longer ours)."""
    return current is not None and _swap(current, current, RUNNING_TTL)


def release(current: str | None, quiet: bool = False) -> bool:
    if current is None:
        return False
    try:
        return bool(_redis().eval(_RELEASE, 1, FLAG, current))
    except Exception:
        if not quiet:
            raise
        return False


def _swap(expected: str, new: str, ttl: int) -> bool:
    return bool(_redis().eval(_SWAP, 1, FLAG, expected, new, ttl))


def _enqueue(job_id: str) -> None:
    from ..queue import enqueue
    from .drain import drain_events

    enqueue(drain_events, queue="events", job_id=job_id, timeout=JOB_TIMEOUT)
