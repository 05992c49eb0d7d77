"""Benchmark: smart-content picks per second vs one plain SQL query computing the same picks.

    python bench/smart_content_picks.py            # 100 000 contacts, 5 000 contents
    python bench/smart_content_picks.py --quick    # 10 000 contacts, 1 000 contents

Fills a fresh SQLite database set-based: contacts with ~3 of 60 tags, points
spread over the stages, 20 target segments with 2 tags each (each contact in
one), contents with 1-3 tags, a stage and a score, and a year of history
(30% of the contacts already received 1-6 contents, some of them their best
match, so the 365-day rule has work to do). Then measures:

- **project**: ``picker.pick_range`` over every id range — what the periodic
  job runs before claiming: due filter, stage rules, interests (own tags ∪
  segment tags), overlap, ranking, 365-day exclusion, "why" tags;
- **baseline** (the ratio's denominator): the best single SQL statement we
  could write for the same question, run over the same id ranges: due
  contacts and their stage (the same due filter), interests (own tags ∪
  segment tags), every active content of the contact's stage sharing an
  interest tag, overlap by ``GROUP BY``, the 365-day exclusion by ``NOT
  EXISTS``, best by ``ROW_NUMBER()``. It must give the same pick (content,
  overlap, score) for every contact, which is checked;
- a check of both against the straightforward per-contact loop in Python on
  a small sample (not timed into the ratio);
- for context, the time to just read the due contacts, and the growth from
  half of the contacts to all of them (linear: ≈ 2.0), and the load average.

Last line: ``smart_content_picks: ratio=<project rate / single-query rate> unit=rate baseline=sql ...``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TAGS = 60
SEGMENTS = 20
BATCH = 2000


def make_app(folder: Path):
    from core.app import create_app

    return create_app({
        "instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'picks.db'}",
        "redis_url": None, "secret_key": "bench-secret-key-0123456789", "testing": True,
    })


def load(database, contacts: int, contents: int, today: dt.date) -> dict:
    """Fill the tables set-based (deterministic pseudo-random by id)."""
    run = database.execute_sql
    stamp = f"{today.isoformat()} 08:00:00"
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -200000", "temp_store = MEMORY"):
        run(f"PRAGMA {pragma}")
    run("CREATE TEMP TABLE seq (i INTEGER PRIMARY KEY)")
    run("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) INSERT INTO seq SELECT i FROM s",
        (max(contacts, contents),))
    h = "((i * 2654435761) % 4294967296)"
    with database.atomic():
        run("INSERT INTO contact (id, email, first_name, last_name, points, created_at, updated_at) "
            f"SELECT i, 'c' || i || '@example.com', '', '', ({h} >> 8) % 100, ?, ? FROM seq WHERE i <= ?",
            (stamp, stamp, contacts))
        for number in range(1, TAGS + 1):
            run("INSERT INTO tag (id, name) VALUES (?, ?)", (number, f"topic {number}"))
        for k, mult in enumerate((1, 7, 13)):  # ~3 tags per contact
            run("INSERT OR IGNORE INTO contact_tag (contact_id, tag_id, created_at) "
                f"SELECT i, 1 + (({h} >> {4 + k * 5}) * {mult} + {k * 17}) % {TAGS}, ? FROM seq WHERE i <= ?",
                (stamp, contacts))
        for number in range(1, SEGMENTS + 1):
            run("INSERT INTO segment (id, name, description, kind, filter, tags, created_at, updated_at, member_count, "
                "rebuild_error) VALUES (?, ?, '', 'static', '{}', ?, ?, ?, 0, '')",
                (number, f"Target {number}", f'["topic {number * 3 % TAGS + 1}", "topic {number * 5 % TAGS + 1}"]',
                 stamp, stamp))
        run("INSERT INTO segment_member (segment_id, contact_id, added_at, source) "
            f"SELECT 1 + ({h} >> 12) % {SEGMENTS}, i, ?, 'import' FROM seq WHERE i <= ?", (stamp, contacts))
        stages = "CASE ({h} >> 3) % 4 WHEN 0 THEN 'engagement' WHEN 1 THEN 'qualification' " \
                 "WHEN 2 THEN 'transformation' ELSE 'loyalty' END".format(h=h)
        run("INSERT INTO smart_content_content (id, title, url, image_url, excerpt, body, score, stage, source, "
            "suggested_tags, active, published_at, created_at, updated_at) "
            f"SELECT i, 'Article ' || i, 'https://blog.example.com/' || i, 'https://cdn.example.com/' || i || '.png', "
            f"'…', '', ({h} >> 9) % 50, {stages}, 'feed', '[]', 1, datetime(?, '-' || (i % 700) || ' days'), ?, ? "
            "FROM seq WHERE i <= ?", (stamp, stamp, stamp, contents))
        for k in range(3):  # 1 to 3 tags per content
            run("INSERT OR IGNORE INTO smart_content_content_tag (content_id, tag_id) "
                f"SELECT i, 1 + (({h} >> {6 + k * 4}) + {k * 23}) % {TAGS} FROM seq "
                f"WHERE i <= ? AND ({k} = 0 OR ({h} >> {20 + k}) % 2 = 0)", (contents,))
        # a year of history: 30% of the contacts got 1-6 contents, on distinct days
        for k in range(6):
            run("INSERT OR IGNORE INTO smart_content_pick (contact_id, send_date, content_id, status, reason, stage, "
                "matching_tags, score, run_id, created_at) "
                f"SELECT i, date(?, '-' || ({k} * 40 + 5) || ' days'), 1 + (({h} >> {k * 3}) + i * {k + 1}) % ?, "
                "'sent', '', '', '[]', 0, 'history', ? FROM seq "
                f"WHERE i <= ? AND {h} % 10 < 3 AND ({h} >> 16) % 6 >= {k}", (today.isoformat(), contents, stamp,
                                                                            contacts))
    run("DROP TABLE seq")
    run("ANALYZE")
    counts = {t: run(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in (
        "contact", "contact_tag", "segment_member", "smart_content_content", "smart_content_content_tag",
        "smart_content_pick")}
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL"):
        run(f"PRAGMA {pragma}")
    return counts


def baseline_pick(contact_id: int, programme, since: dt.date, segment_tags: dict):
    """The straightforward way: everything about one contact, scored in Python."""
    from core import Contact, ContactTag
    from plugins.segments import SegmentMember
    from plugins.smart_content.models import Content, ContentTag, Pick
    from plugins.smart_content.targeting import stage_of

    contact = Contact.get_by_id(contact_id)
    stage = stage_of(contact, programme)
    interests = {row.tag_id for row in ContactTag.select(ContactTag.tag).where(ContactTag.contact == contact_id)}
    for member in SegmentMember.select(SegmentMember.segment).where(SegmentMember.contact == contact_id):
        interests |= segment_tags.get(member.segment_id, set())
    received = {p.content_id for p in Pick.select(Pick.content).where(
        (Pick.contact == contact_id) & (Pick.send_date >= since) & Pick.status.in_(("claimed", "sent")))}
    best = None
    for content in Content.select().where((Content.stage == stage) & (Content.active == True)):  # noqa: E712
        if content.id in received:
            continue
        tags = {row.tag_id for row in ContentTag.select(ContentTag.tag).where(ContentTag.content == content.id)}
        overlap = len(tags & interests)
        if overlap:
            key = (overlap, content.score, content.published_at, content.id)
            best = max(best, key) if best else key
    return best


def single_query_sql(programme, scope) -> tuple[str, list]:
    """The baseline: the same picks from one plain statement (SQLite marks).

    Each due contact is joined to every active content of its stage sharing
    one of its interest tags; the overlap is the row count per (contact,
    content); contents delivered in the window are excluded; the best one
    wins by overlap, score, recency, id. The range bounds are the due
    filter's last two parameters, filled by the caller."""
    from plugins.smart_content.picker import DELIVERED, due_sql
    from plugins.smart_content.targeting import segment_tag_ids

    due, due_params = due_sql(programme, scope)
    pairs = [(sid, tid) for sid, tags in segment_tag_ids().items() for tid in sorted(tags)]
    seg_values = ", ".join(["(?, ?)"] * len(pairs)) or "(0, 0)"
    sql = f"""
WITH due AS MATERIALIZED ({due}),
seg_tag(segment_id, tag_id) AS (VALUES {seg_values}),
interest AS MATERIALIZED (
  SELECT ct.contact_id, ct.tag_id FROM contact_tag ct JOIN due d ON d.contact_id = ct.contact_id
  UNION
  SELECT sm.contact_id, st.tag_id FROM segment_member sm JOIN due d ON d.contact_id = sm.contact_id
    JOIN seg_tag st ON st.segment_id = sm.segment_id
),
scored AS (
  SELECT d.contact_id, k.id AS content_id, COUNT(*) AS overlap, k.score, k.published_at
  FROM due d CROSS JOIN interest i CROSS JOIN smart_content_content_tag kt CROSS JOIN smart_content_content k
  WHERE i.contact_id = d.contact_id AND kt.tag_id = i.tag_id
    AND k.id = kt.content_id AND k.stage = d.stage AND k.active = 1
    AND NOT EXISTS (SELECT 1 FROM smart_content_pick s WHERE s.contact_id = d.contact_id
    AND s.content_id = k.id AND s.send_date >= ? AND s.status IN (?, ?))
  GROUP BY d.contact_id, k.id
),
ranked AS (
  SELECT contact_id, content_id, overlap, score, ROW_NUMBER() OVER (
    PARTITION BY contact_id ORDER BY overlap DESC, score DESC, published_at DESC, content_id DESC) AS rn
  FROM (SELECT * FROM scored UNION ALL SELECT contact_id, NULL, 0, 0, NULL FROM due) AS options
)
SELECT contact_id, content_id, overlap, score FROM ranked WHERE rn = 1 ORDER BY contact_id"""
    tail = [v for pair in pairs for v in pair] + [scope.since, *DELIVERED]
    return sql, due_params, tail


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 000 contacts and 1 000 contents")
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--contents", type=int)
    parser.add_argument("--sample", type=int, help="contacts for the per-contact check (50 quick, 100 full)")
    parser.add_argument("--baseline-contacts", type=int,
                        help="contacts the single-query baseline covers (all quick, 20 000 full)")
    args = parser.parse_args(argv)
    contacts = args.contacts or (10_000 if args.quick else 100_000)
    contents = args.contents or (1_000 if args.quick else 5_000)
    args.sample = args.sample or (50 if args.quick else 100)
    baseline_contacts = min(args.baseline_contacts or (contacts if args.quick else 20_000), contacts)

    from core.models import utcnow
    from plugins.smart_content import programme as programme_settings
    from plugins.smart_content.picker import Scope, id_bounds, pick_range
    from plugins.smart_content.targeting import segment_tag_ids

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-picks-"))
    app = make_app(folder)
    state = app.extensions["couvee"]
    try:
        with app.app_context(), state.database_connection():
            database = state.database
            today = utcnow().date()
            started = time.perf_counter()
            counts = load(database, contacts, contents, today)
            print(f"loaded {counts} in {time.perf_counter() - started:.1f} s")
            programme = programme_settings.load()
            scope = Scope(send_date=today, due_before=utcnow())
            since = today - dt.timedelta(days=365)
            step = max(contacts // args.sample, 1)
            sample = list(range(1, contacts + 1, step))[: args.sample]
            wanted, found = set(sample), {}

            started = time.perf_counter()
            due = 0
            for low, high in id_bounds(BATCH):
                due += len(database.execute_sql(*_due_only(programme, scope, low, high)).fetchall())
            read_due = time.perf_counter() - started

            picked = nothing = 0
            half_at, half_seconds = contacts // 2, None
            started = time.perf_counter()
            for low, high in id_bounds(BATCH):
                for choice in pick_range(programme, scope, low, high):
                    if choice.contact_id in wanted:
                        found[choice.contact_id] = choice
                    if choice.content_id is None:
                        nothing += 1
                    else:
                        picked += 1
                if half_seconds is None and high >= half_at:
                    half_seconds = time.perf_counter() - started
            project = time.perf_counter() - started
            rate = contacts / project
            print(f"project : {contacts:,} contacts in {project:.2f} s = {rate:,.0f} contacts/s "
                  f"({picked:,} picked, {nothing:,} with no content)")
            growth = project / half_seconds if half_seconds else 0.0
            print(f"growth  : half the contacts {half_seconds:.2f} s, all {project:.2f} s (x{growth:.2f}, linear = 2.00)")
            print(f"read due: {due:,} due contacts read in {read_due:.2f} s ({contacts / read_due:,.0f}/s)")

            sql, head, tail = single_query_sql(programme, scope)
            single, covered = {}, 0
            started = time.perf_counter()
            for low, high in id_bounds(BATCH):
                if covered >= baseline_contacts:
                    break
                for contact_id, content_id, overlap, score in database.execute_sql(sql, head + [low, high] + tail):
                    single[contact_id] = (content_id, overlap, score) if content_id is not None else None
                covered += high - low
            baseline = time.perf_counter() - started
            base_rate = covered / baseline
            print(f"baseline: single SQL query on {covered:,} contacts in {baseline:.2f} s = {base_rate:,.0f} contacts/s")
            print(f"{'':10}(project on the same contacts: {covered / rate:.2f} s at the project's overall rate)")
            project_picks = {}
            for low, high in id_bounds(BATCH):
                if low >= covered:
                    break
                for choice in pick_range(programme, scope, low, high):
                    project_picks[choice.contact_id] = ((choice.content_id, choice.overlap, choice.score)
                                                        if choice.content_id is not None else None)
            assert set(single) == set(project_picks), "the two ways saw different due contacts"
            differ = [cid for cid in single if single[cid] != project_picks[cid]]
            assert not differ, f"project and single query disagree on contacts {differ[:10]}"
            print(f"check   : project and single query agree on all {len(single):,} contacts they both covered")

            segment_tags = segment_tag_ids()
            expected = {contact_id: baseline_pick(contact_id, programme, since, segment_tags) for contact_id in sample}
            # the set-based ways agree with the per-contact loop: same content, overlap and score
            for contact_id in sample:
                best, got = expected[contact_id], found.get(contact_id)
                assert ((best[3], best[0], best[1]) if best else None) == (
                    (got.content_id, got.overlap, got.score) if got and got.content_id else None), contact_id
            print(f"check   : project and the per-contact Python loop agree on all {len(sample)} sampled contacts")
            load_avg = os.getloadavg()
            print("load average: " + " ".join(f"{value:.2f}" for value in load_avg))
            print(f"smart_content_picks: ratio={rate / base_rate:.2f} unit=rate baseline=sql contacts={contacts} "
                  f"contents={contents} picks_per_s={rate:.0f} baseline_per_s={base_rate:.0f} "
                  f"baseline_contacts={covered} growth_half_to_full={growth:.2f} "
                  f"read_due_per_s={contacts / read_due:.0f} load1={load_avg[0]:.2f}")
    finally:
        state.redis_handle.release()  # the embedded Redis lives in the folder removed next
        shutil.rmtree(folder, ignore_errors=True)


def _due_only(programme, scope, low, high):
    from plugins.smart_content.picker import due_sql

    sql, params = due_sql(programme, scope)
    return sql, params + [low, high]


if __name__ == "__main__":
    main()
