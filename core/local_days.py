"""Counting rows per day of the instance time zone (daily charts).

Times are stored in UTC; a chart's "day" is the instance's day (Europe/Paris
by default), so a row at 23:30 UTC on a summer evening counts for the next
Paris day. The database groups rows by UTC hour (by UTC minute when the zone
has a non-whole-hour offset in the range, as Asia/Kolkata), and Python folds
those few buckets into local days, DST changes included. The same SQL works
on SQLite and PostgreSQL.

Example::

    from core import count_per_local_day, local_today
    end = local_today()
    counts = count_per_local_day(Send, Send.opened_at, end - dt.timedelta(days=29), end)
    counts.get(end, 0)   # opens today (instance day)
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import peewee

from .db import is_sqlite
from .i18n import instance_timezone
from .models import utcnow


def _zone() -> ZoneInfo:
    return ZoneInfo(instance_timezone())


def local_today() -> dt.date:
    """Today's date in the instance time zone."""
    return utcnow().astimezone(_zone()).date()


def local_day_start(day: dt.date) -> dt.datetime:
    """The UTC instant at which ``day`` begins in the instance time zone."""
    return dt.datetime.combine(day, dt.time(), tzinfo=_zone()).astimezone(dt.timezone.utc)


def _whole_hours(zone: ZoneInfo, start: dt.date, end: dt.date) -> bool:
    day = start
    while day <= end + dt.timedelta(days=1):
        offset = dt.datetime.combine(day, dt.time(12), tzinfo=zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        day += dt.timedelta(days=1)
    return True


def _bucket(column, minutes: bool):
    """A text key for the row's UTC hour (or minute): ``2026-07-14 21`` or ``2026-07-14 21:30``."""
    if is_sqlite():
        # stored as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` naive UTC
        return peewee.fn.SUBSTR(column, 1, 16 if minutes else 13).coerce(False)
    return peewee.fn.TO_CHAR(column, "YYYY-MM-DD HH24:MI" if minutes else "YYYY-MM-DD HH24").coerce(False)


def count_per_local_day(model, column, start: dt.date, end: dt.date, where=None) -> dict[dt.date, int]:
    """``{local day: rows}`` for the rows of ``model`` whose ``column`` falls in
    the instance days ``start`` to ``end`` (both included), optionally
    restricted by the peewee expression ``where``. Days without rows are left out."""
    zone = _zone()
    minutes = not _whole_hours(zone, start, end)
    condition = (column >= local_day_start(start)) & (column < local_day_start(end + dt.timedelta(days=1)))
    if where is not None:
        condition &= where
    bucket = _bucket(column, minutes)
    query = (model.select(bucket.alias("bucket"), peewee.fn.COUNT(peewee.SQL("*")).alias("n"))
             .where(condition).group_by(bucket).tuples())
    pattern = "%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d %H"
    counts: dict[dt.date, int] = {}
    for key, n in query:
        when = dt.datetime.strptime(str(key), pattern).replace(tzinfo=dt.timezone.utc)
        day = when.astimezone(zone).date()
        counts[day] = counts.get(day, 0) + n
    return counts
