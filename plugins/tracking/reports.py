"""What the admin shows about visits: the filtered list, top pages, visits
per day, and a contact's history; plus the per-day chart drawn as inline SVG
on the server (no script, no CDN). Every string reaches the page through
Jinja's autoescaping or :func:`markupsafe.escape`."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee
from markupsafe import Markup, escape

from core import Contact, count_per_local_day, local_day_start, local_today, text_contains, translation_domain

from .models import Hit, Site

_, _l = translation_domain(__name__).pair()

PAGE_SIZE = 50
DATE_LABELS = {"since": _l("From"), "until": _l("To")}


@dataclass
class VisitFilters:
    site_id: int | None = None
    url: str = ""
    contact: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def from_args(cls, args) -> tuple["VisitFilters", list[str]]:
        errors, values = [], cls()
        raw_site = args.get("site", "")
        if raw_site.isdigit():
            values.site_id = int(raw_site)
        values.url = args.get("url", "").strip()[:500]
        values.contact = args.get("contact", "").strip()[:200]
        for name in ("since", "until"):
            raw = args.get(name, "").strip()
            if raw:
                try:
                    setattr(values, name, dt.date.fromisoformat(raw))
                except ValueError:
                    errors.append(_("%(field)s: %(value)s is not a date like 2024-05-31.",
                                    field=DATE_LABELS[name], value=repr(raw)))
        return values, errors


def _where(filters: VisitFilters):
    condition = Hit.kind.in_(("page", "event", "download"))
    if filters.site_id:
        condition &= Hit.site == filters.site_id
    if filters.url:
        condition &= text_contains(Hit.url, filters.url)
    if filters.contact:
        term = filters.contact.lower()
        matching = Contact.select(Contact.id).where(
            text_contains(Contact.email, term) | text_contains(Contact.first_name, filters.contact)
            | text_contains(Contact.last_name, filters.contact))
        condition &= Hit.contact.in_(matching)
    if filters.since:
        condition &= Hit.created_at >= local_day_start(filters.since)
    if filters.until:
        condition &= Hit.created_at < local_day_start(filters.until + dt.timedelta(days=1))
    return condition


def visits(filters: VisitFilters, page: int = 1) -> tuple[list[Hit], int]:
    query = Hit.select(Hit, Contact).join(Contact, peewee.JOIN.LEFT_OUTER).where(_where(filters))
    total = query.count()
    rows = list(query.order_by(Hit.created_at.desc(), Hit.id.desc()).paginate(max(1, page), PAGE_SIZE))
    return rows, total


def top_pages(filters: VisitFilters, limit: int = 10) -> list[tuple[str, int]]:
    count = peewee.fn.COUNT(Hit.id)
    query = (Hit.select(Hit.path, count.alias("n")).where(_where(filters) & (Hit.kind == "page"))
             .group_by(Hit.path).order_by(count.desc(), Hit.path).limit(limit))
    return [(row.path, row.n) for row in query]


def per_day(filters: VisitFilters, days: int = 30) -> list[tuple[dt.date, int]]:
    """Page views per instance day (time zone setting) over the last ``days``
    days (or the filtered range)."""
    end = filters.until or local_today()
    start = filters.since or end - dt.timedelta(days=days - 1)
    if (end - start).days > 366:
        start = end - dt.timedelta(days=366)
    unbounded = VisitFilters(filters.site_id, filters.url, filters.contact)
    counts = count_per_local_day(Hit, Hit.created_at, start, end, _where(unbounded) & (Hit.kind == "page"))
    return [(start + dt.timedelta(days=i), counts.get(start + dt.timedelta(days=i), 0))
            for i in range((end - start).days + 1)]


def bar_chart(series: list[tuple[dt.date, int]], width: int = 720, height: int = 160) -> Markup:
    """An accessible SVG bar chart of ``(day, count)`` pairs."""
    top = max([count for _, count in series] + [1])
    gap, left, bottom = 2, 30, 18
    bar = max(1.0, (width - left) / max(1, len(series)) - gap)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" width="100%" '
             f'aria-label="{escape(_("Page views per day"))}">',
             f'<text x="0" y="12" font-size="11">{top}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#999"/>']
    for i, (day, count) in enumerate(series):
        h = 0 if not count else max(1.0, (height - bottom - 8) * count / top)
        x = left + i * (bar + gap)
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                     f'fill="#3b6ea8"><title>{escape(day.isoformat())}: {count}</title></rect>')
    if series:
        parts.append(f'<text x="{left}" y="{height - 4}" font-size="11">{escape(series[0][0].isoformat())}</text>')
        parts.append(f'<text x="{width}" y="{height - 4}" font-size="11" text-anchor="end">'
                     f'{escape(series[-1][0].isoformat())}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def contact_visits(contact: Contact, limit: int = 20) -> tuple[list[Hit], int]:
    query = Hit.select().where(Hit.contact == contact.id)
    return list(query.order_by(Hit.created_at.desc(), Hit.id.desc()).limit(limit)), query.count()


def site_names() -> dict[int, str]:
    return {site.id: site.name for site in Site.select(Site.id, Site.name)}
