"""Partitions of the outbox: an event belongs to partition ``contact_id % P``
(``P`` = ``COUVEE_EVENT_PARTITIONS``, 4 by default), so all the events of a
contact are in one partition.

A drain works on a partition only while it holds the partition's lock (a
Redis ``SET NX`` with an expiry, refreshed after each batch), and delivers a
batch completely before it claims the next one: a contact's events are never
delivered by two drains at once nor out of order, while up to ``P`` drains
dispatch different partitions side by side.
"""
from __future__ import annotations

from flask import current_app

from ..models import Event

LOCK = "couvee:events:partition:{}"
#: seconds a partition stays locked by a drain between two refreshes
LOCK_TTL = 60

#: Lua: delete KEYS[1] only if it still holds ARGV[1] (a lock or a drain slot)
RELEASE_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""


def count() -> int:
    """``P``: how many partitions (and at most how many drains at once)."""
    return max(1, int(current_app.extensions["couvee"].config.event_partitions))


def of(contact_id: int) -> int:
    return contact_id % count()


def where(partition: int):
    """The SQL condition "the event is in ``partition``" (``id - id / P * P``:
    integer division on both databases; peewee's ``%`` means LIKE)."""
    size = count()
    return (Event.contact - (Event.contact / size) * size) == partition


def _redis():
    return current_app.extensions["couvee"].redis


def lock(partition: int, token: str) -> bool:
    """Take ``partition`` for the drain ``token``; False when another drain has it."""
    return bool(_redis().set(LOCK.format(partition), token, nx=True, ex=LOCK_TTL))


def refresh(partition: int, token: str) -> bool:
    return bool(_redis().eval(_REFRESH, 1, LOCK.format(partition), token, LOCK_TTL))


def unlock(partition: int, token: str) -> bool:
    return bool(_redis().eval(RELEASE_IF_HELD, 1, LOCK.format(partition), token))


def locked() -> set[int]:
    """The partitions some drain holds now."""
    names = [LOCK.format(partition) for partition in range(count())]
    return {partition for partition, value in enumerate(_redis().mget(names)) if value is not None}
