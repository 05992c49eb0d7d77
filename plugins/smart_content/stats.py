"""Dashboard figures: sends per day (with an inline SVG chart), open and click
rates per content and per stage, contents never picked, "no content" counts."""
from __future__ import annotations

import datetime as dt

import peewee
from flask_babel import format_decimal
from markupsafe import Markup, escape

from core import translation_domain

from . import programme as programme_settings
from .models import STAGES, Content, Pick

WIDTH, HEIGHT, PAD = 640, 160, 24
_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext


def programme_today() -> dt.date:
    """Today as the programme counts days (its time zone, else the instance's):
    the day a pick's ``send_date`` holds."""
    return programme_settings.load().send_date()


def sends_per_day(days: int = 30, today: dt.date | None = None) -> list[tuple[dt.date, int, int]]:
    """[(date, sent, no_content)] for the last ``days`` days, zeros included
    (days of the programme's time zone, as picks record them)."""
    today = today or programme_today()
    start = today - dt.timedelta(days=days - 1)
    counts = {}
    query = (Pick.select(Pick.send_date, Pick.status, peewee.fn.COUNT(Pick.id))
             .where((Pick.send_date >= start) & Pick.status.in_(("sent", "no_content")))
             .group_by(Pick.send_date, Pick.status).tuples())
    for day, status, count in query:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        counts[(day, status)] = count
    return [(start + dt.timedelta(days=i), counts.get((start + dt.timedelta(days=i), "sent"), 0),
             counts.get((start + dt.timedelta(days=i), "no_content"), 0)) for i in range(days)]


def bar_chart(series: list[tuple[dt.date, int, int]]) -> Markup:
    """An accessible inline SVG bar chart of the sends per day."""
    peak = max([sent for _day, sent, _no_content in series] + [1])
    step = (WIDTH - 2 * PAD) / max(len(series), 1)
    bars = []
    for index, (day, sent, _no_content) in enumerate(series):
        height = (HEIGHT - 2 * PAD) * sent / peak
        x, y = PAD + index * step, HEIGHT - PAD - height
        title = escape(ngettext("%(day)s: %(num)s sent", "%(day)s: %(num)s sent", sent, day=day.isoformat()))
        bars.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{height:.1f}" '
                    f'fill="#2b6cb0"><title>{title}</title></rect>')
    labels = ""
    if series:
        most = escape(_("max %(count)s/day", count=peak))
        labels = (f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="11">{series[0][0].strftime("%d/%m")}</text>'
                  f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="11" text-anchor="end">'
                  f'{series[-1][0].strftime("%d/%m")}</text>'
                  f'<text x="{PAD}" y="{PAD - 8}" font-size="11">{most}</text>')
    total = sum(sent for _day, sent, _no_content in series)
    label = _("Smart content emails sent per day: %(count)s in %(days)s days", count=total, days=len(series))
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        + "".join(bars) + labels + "</svg>")


def _rates(group_field, where=None):
    sent = Pick.status == "sent"
    query = (Pick.select(group_field.alias("key"), peewee.fn.COUNT(Pick.id).alias("sent"),
                         peewee.fn.COUNT(Pick.opened_at).alias("opened"),
                         peewee.fn.COUNT(Pick.clicked_at).alias("clicked"))
             .where(sent if where is None else sent & where).group_by(group_field).dicts())
    rows = []
    for row in query:
        row["open_rate"] = row["opened"] / row["sent"] if row["sent"] else 0.0
        row["click_rate"] = row["clicked"] / row["sent"] if row["sent"] else 0.0
        rows.append(row)
    return rows


def rates_per_stage() -> list[dict]:
    found = {row["key"]: row for row in _rates(Pick.stage)}
    return [found.get(stage, {"key": stage, "sent": 0, "opened": 0, "clicked": 0, "open_rate": 0.0,
                              "click_rate": 0.0}) for stage in STAGES]


def rates_per_content(limit: int = 50) -> list[dict]:
    rows = _rates(Pick.content, Pick.content.is_null(False))
    titles = {c.id: c for c in Content.select(Content.id, Content.title, Content.stage)
              .where(Content.id.in_([r["key"] for r in rows]))} if rows else {}
    for row in rows:
        row["content"] = titles.get(row["key"])
    rows.sort(key=lambda r: (-r["sent"], r["key"]))
    return rows[:limit]


def never_picked(limit: int = 100):
    used = Pick.select(Pick.content).where(Pick.content.is_null(False) & (Pick.status != "test"))
    return list(Content.select().where((Content.active == True) & Content.id.not_in(used))  # noqa: E712
                .order_by(Content.created_at.desc()).limit(limit))


def _first_day(days: int) -> dt.date:
    """The first send day of the last ``days`` days, today included."""
    return programme_today() - dt.timedelta(days=days - 1)


def status_counts(days: int = 30) -> dict[str, int]:
    query = (Pick.select(Pick.status, peewee.fn.COUNT(Pick.id)).where(Pick.send_date >= _first_day(days))
             .group_by(Pick.status).tuples())
    return dict(query)


def waiting_reason(days: int = 30) -> str:
    """What the email channel last said about a pick still waiting to be sent
    (an SMTP server down, say), "" when none has waited."""
    waiting = (Pick.send_date >= _first_day(days)) & (Pick.status == "claimed") & (Pick.reason != "")
    return Pick.select(Pick.reason).where(waiting).order_by(Pick.id.desc()).limit(1).scalar() or ""


def percent(value: float) -> str:
    """A rate as a percentage with one decimal, in the current language ("12.5 %", "12,5 %")."""
    return f"{format_decimal(value * 100, format='0.0')} %"


def matrix(segment_id: int | None = None) -> tuple[list, dict]:
    """The marketing matrix, tags × stages: (tags, {(tag id, stage): number of
    active contents of that stage carrying the tag}). The rows are the tags of
    active contents and the tags the segments target (a targeted tag with no
    content is a row of gaps); ``segment_id`` keeps only that segment's tags."""
    from core import Tag

    from .models import ContentTag
    from .targeting import segment_tag_ids

    number = peewee.fn.COUNT(Content.id)
    counts = {(tag_id, stage): n for tag_id, stage, n in (
        ContentTag.select(ContentTag.tag, Content.stage, number).join(Content)
        .where((Content.active == True) & Content.stage.is_null(False))  # noqa: E712
        .group_by(ContentTag.tag, Content.stage).tuples())}
    targeted = segment_tag_ids()
    if segment_id is not None:
        wanted = targeted.get(segment_id, set())
    else:
        wanted = {tag_id for tag_id, _ in counts}.union(*targeted.values())
    tags = list(Tag.select(Tag.id, Tag.name).where(Tag.id.in_(list(wanted) or [0])).order_by(Tag.name))
    return tags, {(tag.id, stage): counts.get((tag.id, stage), 0) for tag in tags for stage in STAGES}
