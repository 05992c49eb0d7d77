"""Daily charts count by the instance time zone's day, not the UTC day: a
page view or an open at 23:30 UTC on a summer evening is the next Paris day;
the 23-hour day of the spring DST change keeps its own rows; a zone with a
half-hour offset is folded by the minute. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import secrets

from core.local_days import count_per_local_day, local_day_start, local_today
from core.settings import store_setting
from plugins.email import metrics
from plugins.email.models import DONE, Send
from plugins.tracking import reports
from plugins.tracking.models import Hit

UTC = dt.timezone.utc


def _hit(when: dt.datetime, kind: str = "page") -> None:
    Hit.create(hit_id=secrets.token_hex(8), kind=kind, url="https://www.example.com/", path="/",
               created_at=when)


def _views(since: dt.date, until: dt.date) -> dict[dt.date, int]:
    return dict(reports.per_day(reports.VisitFilters(since=since, until=until)))


def test_page_views_fall_on_the_paris_day_around_midnight(ctx):
    summer = dt.date(2026, 7, 14)
    _hit(dt.datetime(2026, 7, 14, 21, 30, tzinfo=UTC))  # 23:30 in Paris: the 14th
    _hit(dt.datetime(2026, 7, 14, 21, 59, 59, tzinfo=UTC))  # 23:59:59 the 14th
    _hit(dt.datetime(2026, 7, 14, 22, 0, tzinfo=UTC))  # 00:00 the 15th
    _hit(dt.datetime(2026, 7, 14, 23, 30, tzinfo=UTC))  # 01:30 the 15th
    _hit(dt.datetime(2026, 7, 14, 23, 45, tzinfo=UTC), kind="event")  # not a page view
    assert _views(summer, summer + dt.timedelta(days=1)) == {summer: 2, summer + dt.timedelta(days=1): 2}
    # the visits list's From/To are Paris days too
    only_15th = reports.VisitFilters(since=dt.date(2026, 7, 15), until=dt.date(2026, 7, 15))
    assert reports.visits(only_15th)[1] == 3

    winter = dt.date(2026, 1, 10)
    _hit(dt.datetime(2026, 1, 10, 22, 59, tzinfo=UTC))  # 23:59 the 10th (UTC+1)
    _hit(dt.datetime(2026, 1, 10, 23, 30, tzinfo=UTC))  # 00:30 the 11th
    assert _views(winter, winter + dt.timedelta(days=1)) == {winter: 1, winter + dt.timedelta(days=1): 1}


def test_the_short_day_of_the_spring_change_keeps_its_rows(ctx):
    change = dt.date(2026, 3, 29)  # 02:00 CET becomes 03:00 CEST
    assert local_day_start(change) == dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert local_day_start(change + dt.timedelta(days=1)) == dt.datetime(2026, 3, 29, 22, tzinfo=UTC)
    _hit(dt.datetime(2026, 3, 28, 22, 59, tzinfo=UTC))  # 23:59 the 28th
    _hit(dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC))  # 00:00 the 29th
    _hit(dt.datetime(2026, 3, 29, 21, 59, tzinfo=UTC))  # 23:59 CEST the 29th
    _hit(dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC))  # 00:00 the 30th
    views = _views(change - dt.timedelta(days=1), change + dt.timedelta(days=1))
    assert views == {change - dt.timedelta(days=1): 1, change: 2, change + dt.timedelta(days=1): 1}


def test_a_half_hour_zone_is_folded_by_the_minute(ctx):
    store_setting("general", "timezone", "Asia/Kolkata")  # UTC+5:30
    day = dt.date(2026, 7, 14)
    _hit(dt.datetime(2026, 7, 14, 18, 29, tzinfo=UTC))  # 23:59 the 14th in Kolkata
    _hit(dt.datetime(2026, 7, 14, 18, 30, tzinfo=UTC))  # 00:00 the 15th
    counts = count_per_local_day(Hit, Hit.created_at, day, day + dt.timedelta(days=1))
    assert counts == {day: 1, day + dt.timedelta(days=1): 1}


def test_newsletter_daily_metrics_use_the_instance_day(ctx):
    today = local_today()
    midnight = local_day_start(today)
    sent_late = midnight - dt.timedelta(minutes=30)  # yesterday 23:30 in Paris
    sent_early = midnight + dt.timedelta(minutes=30)  # today 00:30 in Paris
    for index, when in enumerate((sent_late, sent_early, sent_early)):
        Send.create(key=f"k{index}", to_email=f"a{index}@example.com", status=DONE, sent_at=when,
                    opened_at=when if index else None)
    Send.create(key="queued", to_email="q@example.com", sent_at=sent_early)  # not DONE: not counted as sent
    series = metrics.daily(days=3)
    assert series["days"][-1] == today.isoformat()
    assert series["sent"] == [0, 1, 2]
    assert series["opens"] == [0, 0, 2]
    assert series["clicks"] == [0, 0, 0]
