"""Email metrics: per newsletter (the source article's key indicators:
deliverability, open rate, click rate, plus unsubscribes and bounces) and
over time, all computed in SQL."""
from __future__ import annotations

import datetime as dt

from peewee import fn

from core import count_per_local_day, local_today

from .models import DONE, Click, Link, Send


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def summary(where) -> dict:
    """Indicators over the sends matching ``where`` (a peewee expression)."""
    sent_rows = Send.select().where(where & (Send.status == DONE))
    count = lambda extra: sent_rows.where(extra).count()  # noqa: E731
    sent = sent_rows.count()
    hard, soft = count(Send.bounce == "hard"), count(Send.bounce == "soft")
    delivered = sent - hard - soft
    opens = count(Send.opened_at.is_null(False))
    machine_only = count(Send.machine_opened_at.is_null(False) & Send.opened_at.is_null())
    clickers = count(Send.clicked_at.is_null(False))
    clicks = Send.select(fn.COALESCE(fn.SUM(Send.click_count), 0)).where(where & (Send.status == DONE)).scalar() or 0
    unsubscribed = count(Send.unsubscribed_at.is_null(False))
    return {
        "sent": sent, "delivered": delivered, "deliverability": _rate(delivered, sent),
        "hard_bounces": hard, "soft_bounces": soft,
        "unique_opens": opens, "open_rate": _rate(opens, delivered), "machine_opens": machine_only,
        "clicks": int(clicks), "unique_clicks": clickers, "click_rate": _rate(clickers, delivered),
        "click_to_open": _rate(clickers, opens),
        "unsubscribes": unsubscribed, "unsubscribe_rate": _rate(unsubscribed, delivered),
    }


def newsletter_summary(newsletter_id: int) -> dict:
    return summary(Send.newsletter == newsletter_id)


def top_links(newsletter_id: int, limit: int = 10) -> list[dict]:
    rows = (Link.select(Link.url, fn.COUNT(Click.id).alias("clicks"), fn.COUNT(Click.send.distinct()).alias("unique"))
            .join(Click).where(Link.scope == f"nl:{newsletter_id}")
            .group_by(Link.id, Link.url).order_by(fn.COUNT(Click.id).desc()).limit(limit))
    return [{"url": row.url, "clicks": row.clicks, "unique": row.unique} for row in rows]


def daily(days: int = 30, newsletter_id: int | None = None) -> dict:
    """``{"days": [...], "sent": [...], "opens": [...], "clicks": [...], "unsubscribes": [...]}``
    for the last ``days`` days of the instance time zone."""
    today = local_today()
    start = today - dt.timedelta(days=days - 1)
    dates = [start + dt.timedelta(days=offset) for offset in range(days)]
    scope = (Send.newsletter == newsletter_id) if newsletter_id else (Send.id > 0)

    def per_day(column, extra=None):
        condition = scope if extra is None else scope & extra
        counts = count_per_local_day(Send, column, start, today, condition)
        return [counts.get(day, 0) for day in dates]

    return {
        "days": [day.isoformat() for day in dates],
        "sent": per_day(Send.sent_at, Send.status == DONE),
        "opens": per_day(Send.opened_at),
        "clicks": per_day(Send.clicked_at),
        "unsubscribes": per_day(Send.unsubscribed_at),
    }
