"""Choosing one content per contact, set-based.

For a range of contact ids, ONE SQL statement finds the contacts that are due,
derives their stage (:func:`targeting.stage_sql`), gathers their interests
(own tags ∪ their segments' tags), finds a short list of candidate contents
of the same stage, drops those sent to the contact in the last 365 days and
keeps the best (overlap, then score, then recency). No contact is scanned in
Python, and no contact is compared with every content carrying its tags.

The short list of a contact whose 365-day history holds ``h`` contents:

- **one shared tag**: for each interest tag, the ``h + 1`` best contents of
  the contact's stage carrying that tag (``library`` ranks the contents of
  each ``(tag, stage)`` once per statement by score, recency, id). A content
  further down that list is beaten by ``h + 1`` others sharing the tag (or
  more), and at most ``h`` of them are excluded: it can never be the answer;
- **two shared tags or more**: every content of the stage holding a pair of
  the contact's interest tags. These are few: a pair of tags is far rarer
  than a tag.

Both lists live in one table, ``candidates``, keyed by ``(stage, low tag,
high tag)`` (a single tag is the pair ``(t, t)``), so one index probe per
pair of the contact's tags finds them all; the overlap of a content is one
more than the number of distinct smaller tags of the real pairs it matched.
The result is exactly the best content among all the contents of the stage
sharing a tag with the contact (tests and the bench check it against a
per-contact loop); the cost per contact grows with its number of interest
tags, not with the size of the library.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from core import Contact, ContactTag, Tag, audience_contact_ids, audience_memberships, db_proxy

from .models import Content, ContentTag, Pick, Profile
from .targeting import AUDIENCE, segment_tag_ids, stage_of, stage_sql

RECENT_DAYS = 365
#: statuses that mean "this content went (or is going) to this contact"
DELIVERED = ("claimed", "sent")


@dataclasses.dataclass
class Choice:
    contact_id: int
    stage: str
    content_id: int | None = None
    overlap: int = 0
    score: int = 0
    matching_tags: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Scope:
    """Which contacts the programme considers today."""

    send_date: dt.date
    due_before: dt.datetime | None  # None: ignore the frequency (preview / test)
    segment_ids: tuple = ()
    recent_since: dt.date | None = None
    #: leave out contacts already claimed on ``send_date`` (off for previews)
    skip_claimed: bool = True

    @property
    def since(self) -> dt.date:
        return self.recent_since or (self.send_date - dt.timedelta(days=RECENT_DAYS))


def _t(model) -> str:
    return model._meta.table_name


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def due_sql(programme, scope: Scope) -> tuple[str, list]:
    """``SELECT contact_id, stage`` of the due contacts with ``lo < id <= hi``
    (the two bounds are the last two parameters, filled by the caller)."""
    param = db_proxy.param
    stage, params = stage_sql(programme)
    where = ["c.email IS NOT NULL", "c.email <> ''"]
    if scope.skip_claimed:
        where.append(f"NOT EXISTS (SELECT 1 FROM {_t(Pick)} t WHERE t.contact_id = c.id AND t.send_date = {param})")
        params.append(scope.send_date)
    if scope.due_before is not None:
        where.append(f"(p.last_email_at IS NULL OR p.last_email_at < {param})")
        params.append(_naive(scope.due_before))
    if scope.segment_ids:
        members, member_params = audience_contact_ids(AUDIENCE, list(scope.segment_ids)).sql()
        where.append(f"c.id IN ({members})")
        params += list(member_params)
    where.append(f"c.id > {param} AND c.id <= {param}")
    sql = (f"SELECT c.id AS contact_id, {stage} AS stage FROM {_t(Contact)} c "
           f"LEFT JOIN {_t(Profile)} p ON p.contact_id = c.id WHERE " + " AND ".join(where))
    return sql, params


def _segment_tags_cte() -> tuple[str, list]:
    """Two CTEs: ``seg_member(contact_id, segment_id)``, the memberships of the
    audience source's groups, and ``seg_tag(segment_id, tag_id)``, their tags
    (both empty when no group has a tag or no source is active)."""
    pairs = [(sid, tid) for sid, tags in segment_tag_ids().items() for tid in sorted(tags)]
    members = audience_memberships(AUDIENCE) if pairs else None
    if members is None:
        return ("seg_member(contact_id, segment_id) AS (SELECT 0, 0 WHERE 1 = 0), "
                "seg_tag(segment_id, tag_id) AS (SELECT 0, 0 WHERE 1 = 0)"), []
    member_sql, member_params = members.sql()
    param = db_proxy.param
    values = ", ".join([f"({param}, {param})"] * len(pairs))
    return (f"seg_member(contact_id, segment_id) AS ({member_sql}), seg_tag(segment_id, tag_id) AS (VALUES {values})",
            [*member_params, *[v for pair in pairs for v in pair]])


def pick_range(programme, scope: Scope, low: int, high: int) -> list[Choice]:
    """One :class:`Choice` per due contact with ``low < id <= high``
    (``content_id`` is None when nothing matches)."""
    param = db_proxy.param
    due, due_params = due_sql(programme, scope)
    seg, seg_params = _segment_tags_cte()
    delivered = f"s.send_date >= {param} AND s.status IN ({param}, {param})"
    sql = f"""
WITH due AS MATERIALIZED ({due}),
recent AS MATERIALIZED (
  SELECT d.contact_id, d.stage, 1 + (SELECT COUNT(*) FROM {_t(Pick)} s WHERE s.contact_id = d.contact_id
    AND s.content_id IS NOT NULL AND {delivered}) AS take
  FROM due d
),
{seg},
interest AS MATERIALIZED (
  SELECT ct.contact_id, r.stage, r.take, ct.tag_id FROM {_t(ContactTag)} ct
    JOIN recent r ON r.contact_id = ct.contact_id
  UNION
  SELECT r.contact_id, r.stage, r.take, st.tag_id FROM recent r
    CROSS JOIN seg_member sm CROSS JOIN seg_tag st
    WHERE sm.contact_id = r.contact_id AND st.segment_id = sm.segment_id
),
library AS (
  SELECT kt.tag_id, k.stage, k.id AS content_id, ROW_NUMBER() OVER (
    PARTITION BY kt.tag_id, k.stage ORDER BY k.score DESC, k.published_at DESC, k.id DESC) AS rn
  FROM {_t(ContentTag)} kt JOIN {_t(Content)} k ON k.id = kt.content_id
  WHERE k.active = {param} AND k.stage IS NOT NULL
),
candidates AS MATERIALIZED (
  SELECT stage, tag_id AS low_tag, tag_id AS high_tag, content_id, rn FROM library
    WHERE rn <= (SELECT MAX(take) FROM recent)
  UNION ALL
  SELECT k.stage, a.tag_id, b.tag_id, k.id, 0
  FROM {_t(Content)} k JOIN {_t(ContentTag)} a ON a.content_id = k.id
    JOIN {_t(ContentTag)} b ON b.content_id = k.id AND b.tag_id > a.tag_id
  WHERE k.active = {param} AND k.stage IS NOT NULL
),
matches AS (
  SELECT a.contact_id, a.stage, a.take, p.content_id,
    1 + COUNT(DISTINCT CASE WHEN p.high_tag > p.low_tag THEN p.low_tag END) AS overlap
  FROM interest a CROSS JOIN interest b CROSS JOIN candidates p
  WHERE b.contact_id = a.contact_id AND b.tag_id >= a.tag_id
    AND p.stage = a.stage AND p.low_tag = a.tag_id AND p.high_tag = b.tag_id AND p.rn <= a.take
  GROUP BY a.contact_id, a.stage, a.take, p.content_id
),
options AS (
  SELECT m.contact_id, m.stage, m.take, m.content_id, m.overlap, k.score, k.published_at
  FROM matches m JOIN {_t(Content)} k ON k.id = m.content_id
),
free AS (
  SELECT contact_id, stage, content_id, overlap, score, published_at FROM options o
  WHERE o.take = 1 OR NOT EXISTS (SELECT 1 FROM {_t(Pick)} s WHERE s.contact_id = o.contact_id
    AND s.content_id = o.content_id AND {delivered})
  UNION ALL
  SELECT contact_id, stage, NULL, 0, 0, NULL FROM due
)
SELECT contact_id, stage, content_id, overlap, score FROM (
  SELECT f.*, ROW_NUMBER() OVER (PARTITION BY contact_id
    ORDER BY overlap DESC, score DESC, published_at DESC, content_id DESC) AS rn
  FROM free f
) AS ranked WHERE rn = 1
ORDER BY contact_id"""
    recent = [scope.since, *DELIVERED]
    params = [*due_params, low, high, *recent, *seg_params, True, True, *recent]
    choices = [Choice(contact_id=row[0], stage=row[1], content_id=row[2], overlap=row[3] or 0, score=row[4] or 0)
               for row in db_proxy.execute_sql(sql, params)]
    _explain(choices)
    return choices


def _explain(choices: list[Choice]) -> None:
    """Fill ``matching_tags`` (names) of the picked contents: the "why"."""
    picked = [c for c in choices if c.content_id is not None]
    if not picked:
        return
    param = db_proxy.param
    pairs = ", ".join([f"({param}, {param})"] * len(picked))
    seg, seg_params = _segment_tags_cte()
    sql = f"""
WITH chosen(contact_id, content_id) AS (VALUES {pairs}),
{seg},
interest AS MATERIALIZED (
  SELECT ct.contact_id, ct.tag_id FROM {_t(ContactTag)} ct JOIN chosen x ON x.contact_id = ct.contact_id
  UNION
  SELECT sm.contact_id, st.tag_id FROM seg_member sm
    JOIN chosen x ON x.contact_id = sm.contact_id JOIN seg_tag st ON st.segment_id = sm.segment_id
)
SELECT x.contact_id, t.name FROM chosen x
JOIN interest i ON i.contact_id = x.contact_id
JOIN {_t(ContentTag)} kt ON kt.content_id = x.content_id AND kt.tag_id = i.tag_id
JOIN {_t(Tag)} t ON t.id = i.tag_id
ORDER BY x.contact_id, t.name"""
    params = [v for c in picked for v in (c.contact_id, c.content_id)] + seg_params
    by_contact = {c.contact_id: c for c in picked}
    for contact_id, name in db_proxy.execute_sql(sql, params):
        by_contact[contact_id].matching_tags.append(name)


def id_bounds(batch: int, after: int = 0):
    """Yield ``(low, high]`` ranges of contact ids holding about ``batch`` ids each."""
    table = _t(Contact)
    param = db_proxy.param
    while True:
        row = db_proxy.execute_sql(
            f"SELECT MAX(id) FROM (SELECT id FROM {table} WHERE id > {param} ORDER BY id LIMIT {int(batch)}) AS b",
            [after]).fetchone()
        if not row or row[0] is None:
            return
        yield after, row[0]
        after = row[0]


def pick_for_contact(contact, programme, send_date: dt.date) -> Choice:
    """What the programme would pick for one contact today, ignoring the
    frequency and today's claim (preview)."""
    scope = Scope(send_date=send_date, due_before=None, skip_claimed=False)
    found = pick_range(programme, scope, contact.id - 1, contact.id)
    if found:
        return found[0]
    return Choice(contact_id=contact.id, stage=stage_of(contact, programme))
