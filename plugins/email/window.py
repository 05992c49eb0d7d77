"""Per-contact send windows: e.g. weekdays 9–11 in the contact's timezone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import translation_domain

_, _l = translation_domain(__name__).pair()
DAY_NAMES = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


class WindowError(ValueError):
    """The days and hours do not make a send window."""


def normalize(window: dict | None) -> dict:
    """``{}`` (any time) or ``{"days": [0..6], "start": h, "end": h}`` (hours, end exclusive)."""
    if not window:
        return {}
    days = sorted({int(d) for d in window.get("days", range(7)) if 0 <= int(d) <= 6})
    start, end = int(window.get("start", 0)), int(window.get("end", 24))
    if not days or not (0 <= start < end <= 24):
        raise WindowError("A send window needs at least one day and a start hour before its end hour.")
    return {"days": days, "start": start, "end": end}


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(str(candidate).strip())
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_opening(window: dict, now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """``None`` when ``now`` is inside the window, else the next start (UTC)."""
    if not window:
        return None
    local = now.astimezone(tz)
    if local.weekday() in window["days"] and window["start"] <= local.hour < window["end"]:
        return None
    for offset in range(0, 8):
        day = (local + dt.timedelta(days=offset)).date()
        if day.weekday() not in window["days"]:
            continue
        start = dt.datetime.combine(day, dt.time(window["start"]), tzinfo=tz)
        if start > local:
            return start.astimezone(dt.timezone.utc)
    return None


def describe(window: dict) -> str:
    if not window:
        return _("any time")
    days = ", ".join(str(DAY_NAMES[d]) for d in window["days"])
    start, end = "%02d:00" % window["start"], "%02d:00" % window["end"]
    return _("%(days)s, %(start)s–%(end)s in the contact's timezone", days=days, start=start, end=end)
