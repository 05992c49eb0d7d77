"""Benchmark: a 3-condition dynamic segment through the compiler vs hand-written SQL.

    python bench/segment_eval.py            # 1 000 000 contacts
    python bench/segment_eval.py --quick    # 100 000 contacts, well under a minute

Builds a SQLite database (in a temporary folder, with core's schema and
indexes, created by the app's migrations) of N contacts with a ``zone`` select
field (NORAM/LATAM/EMEA/APAC), 5 tags (~20% each) and ~1.5 page visits plus
~0.5 email opens per contact over the last 90 days. The load is set-based
(``INSERT ... SELECT`` over a generated sequence, pseudo-random but
deterministic; journal and sync off), so a million contacts load in seconds.

Then, on the same database and connection, alternating runs (median of
``--repeat``):

- **compiler**: the segment "zone = EMEA AND tag = webinar AND visited
  */pricing* in the last 30 days" compiled by ``plugins.segments`` (compile time
  included) and counted;
- **hand SQL** (the baseline): the same question written by hand, as an
  expert would (``EXISTS`` per condition, cheap conditions first); a
  ``JOIN``/``DISTINCT`` variant is timed too, and the faster of the two is the
  baseline;
- both counts must be equal.

The clock is frozen during the run (``time_machine``) so that "the last 30
days" means the same instant for both. Also: ``refresh_contact`` for one contact (what runs on every change) vs a full
``rebuild`` of the segment (first build, with its events, and a steady-state
rebuild).

Last line: ``segment_eval: ratio=<compiler time / hand SQL time> unit=time ...``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ZONES = ["NORAM", "LATAM", "EMEA", "APAC"]
TAGS = ["webinar", "newsletter", "customer", "lead", "vip"]
PAGES = ["/pricing", "/blog/segments", "/features", "/pricing/enterprise", "/about", "/docs/api"]
#: odd 32-bit multipliers: hash(i) = (i * A) mod 2^32, its top byte is ~uniform
MULTIPLIERS = [2654435761, 2246822519, 3266489917, 668265263, 374761393, 1103515245, 2860486313, 3034981397]

DEFINITION = {"match": "all", "groups": [{"match": "all", "conditions": [
    {"filter": "field", "params": {"field": "zone", "operator": "equals", "value": "EMEA"}},
    {"filter": "tag", "params": {"operator": "has", "value": "webinar"}},
    {"filter": "page_visited", "params": {"operator": "had", "url": "*/pricing*", "days": "30"}},
]}]}

HAND_EXISTS = """
SELECT COUNT(*) FROM contact c
WHERE EXISTS (SELECT 1 FROM contact_value v
              WHERE v.contact_id = c.id AND v.field_id = ? AND v.value = ?)
  AND EXISTS (SELECT 1 FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id
              WHERE ct.contact_id = c.id AND t.name = ?)
  AND EXISTS (SELECT 1 FROM event e
              WHERE e.contact_id = c.id AND e.kind = ? AND e.created_at >= ?
                AND json_extract(e.data, '$.url') LIKE ? ESCAPE '\\')
"""
HAND_JOIN = """
SELECT COUNT(DISTINCT v.contact_id)
FROM contact_value v
JOIN contact_tag ct ON ct.contact_id = v.contact_id
JOIN tag t ON t.id = ct.tag_id
JOIN event e ON e.contact_id = v.contact_id
WHERE v.field_id = ? AND v.value = ? AND t.name = ?
  AND e.kind = ? AND e.created_at >= ? AND json_extract(e.data, '$.url') LIKE ? ESCAPE '\\'
"""


def _hash(column: str, which: int) -> str:
    """SQL: a deterministic pseudo-random byte (0..255) of ``column``."""
    return f"((({column} * {MULTIPLIERS[which]}) % 4294967296) >> 24)"


def make_app(folder: Path):
    from core.app import create_app

    return create_app({
        "instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'segments.db'}",
        "redis_url": None, "secret_key": "bench-secret-key-0123456789", "testing": True,
    })


def load(database, contacts: int, now: dt.datetime) -> dict:
    """Fill the database set-based; return row counts."""
    from core.models import CustomField

    CustomField.create(key="zone", label="Zone", type_id="select", options=ZONES)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    run = database.execute_sql
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -200000", "temp_store = MEMORY"):
        run(f"PRAGMA {pragma}")
    run("CREATE TEMP TABLE seq (i INTEGER PRIMARY KEY)")
    run("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
        "INSERT INTO seq SELECT i FROM s", (contacts,))
    with database.atomic():
        run("INSERT INTO contact (id, email, first_name, last_name, points, created_at, updated_at) "
            "SELECT i, 'c' || i || '@example.com', '', '', 0, datetime(?, '-' || (i % 365) || ' days'), ? FROM seq",
            (stamp, stamp))
        run("INSERT INTO contact_value (contact_id, field_id, value) "
            f"SELECT i, 1, CASE {_hash('i', 0)} % 4 WHEN 0 THEN 'NORAM' WHEN 1 THEN 'LATAM' "
            "WHEN 2 THEN 'EMEA' ELSE 'APAC' END FROM seq")
        for number, name in enumerate(TAGS, start=1):
            run("INSERT INTO tag (id, name) VALUES (?, ?)", (number, name))
            run(f"INSERT INTO contact_tag (contact_id, tag_id, created_at) SELECT i, ?, ? FROM seq "
                f"WHERE {_hash('i', number)} < 51", (number, stamp))
        pages = " ".join(f"WHEN {n} THEN '{page}'" for n, page in enumerate(PAGES))
        for visit in range(3):  # 0 to 3 visits, 1.5 on average
            key = f"(i * 4 + {visit})"
            run("INSERT INTO event (contact_id, kind, data, source, created_at, dispatched_at) "
                f"SELECT i, 'page_visited', '{{\"url\": \"https://example.com' || CASE {_hash(key, 6)} % 6 {pages} END "
                f"|| '\"}}', 'bench', datetime(?, '-' || (({_hash(key, 7)} * 256 + {_hash(key, 5)}) * 7776000 / 65536) "
                f"|| ' seconds'), ? FROM seq WHERE {_hash(key, 4)} % 2 = 0", (stamp, stamp))
        run("INSERT INTO event (contact_id, kind, data, source, created_at, dispatched_at) "
            "SELECT i, 'email_opened', '{\"message_id\": 1}', 'bench', "
            f"datetime(?, '-' || ({_hash('i', 7)} % 90) || ' days'), ? FROM seq WHERE {_hash('i', 5)} < 128",
            (stamp, stamp))
    run("DROP TABLE seq")
    run("ANALYZE")
    counts = {table: run(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
              for table in ("contact", "contact_value", "contact_tag", "event")}
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL"):
        run(f"PRAGMA {pragma}")
    return counts


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 000 contacts instead of 1 000 000")
    parser.add_argument("--contacts", type=int, help="number of contacts (overrides --quick)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (median)")
    args = parser.parse_args(argv)
    contacts = args.contacts or (100_000 if args.quick else 1_000_000)

    import time_machine

    from core.models import Contact, utcnow
    from plugins.segments import compile_segment, rebuild, refresh_contact
    from plugins.segments.models import Segment, SegmentMember

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-segments-"))
    app = make_app(folder)
    state = app.extensions["couvee"]
    try:
        now = utcnow()
        # the clock is frozen so the compiler's "last 30 days" and the hand SQL's are the same instant
        with time_machine.travel(now, tick=False), app.app_context(), state.database_connection():
            database = state.database
            seconds, counts = timed(lambda: load(database, contacts, now))
            print(f"loaded {counts} in {seconds:.1f} s")
            segment = Segment.create(name="EMEA webinar pricing", kind="dynamic", filter=DEFINITION)
            since = (now - dt.timedelta(days=30)).replace(tzinfo=None)
            hand_args = (1, "EMEA", "webinar", "page_visited", since, "%/pricing%")

            def compiler_count():
                return compile_segment(Segment.get_by_id(segment.id)).count()

            def hand(sql):
                return lambda: database.execute_sql(sql, hand_args).fetchone()[0]

            runs = {"compiler": compiler_count, "hand_exists": hand(HAND_EXISTS), "hand_join": hand(HAND_JOIN)}
            times = {name: [] for name in runs}
            results = {}
            for name, function in runs.items():  # warm the cache once
                results[name] = function()
            for _ in range(args.repeat):
                for name, function in runs.items():
                    elapsed, results[name] = timed(function)
                    times[name].append(elapsed)
            median = {name: statistics.median(values) for name, values in times.items()}
            for name in runs:
                print(f"{name:12s} count={results[name]:>8,}  median {median[name] * 1000:8.1f} ms "
                      f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times[name])})")
            if len(set(results.values())) != 1:
                raise SystemExit(f"the counts differ: {results}")
            baseline = min(median["hand_exists"], median["hand_join"])

            first_rebuild, built = timed(lambda: rebuild(segment))
            steady_rebuild, _ = timed(lambda: rebuild(segment))
            member = SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment == segment.id).first()
            outsider = Contact.select(Contact.id).where(Contact.id.not_in(
                SegmentMember.select(SegmentMember.contact))).first()
            refresh_times = []
            for contact_id in [member.contact_id, outsider.id] * 10:
                elapsed, changed = timed(lambda: refresh_contact(contact_id))
                assert changed == {"joined": [], "left": []}, changed
                refresh_times.append(elapsed)
            refresh = statistics.median(refresh_times)
            print(f"rebuild: first {first_rebuild:.2f} s ({built['joined']:,} joined, events queued), "
                  f"steady {steady_rebuild:.2f} s; refresh_contact (one contact): {refresh * 1000:.2f} ms "
                  f"= {steady_rebuild / refresh:,.0f}x faster than a rebuild")
            if built["members"] != results["compiler"]:
                raise SystemExit(f"rebuild found {built['members']} members, the query {results['compiler']}")
    finally:
        handle = state.redis_handle
        if handle.embedded is not None:
            handle.embedded.shutdown()
        shutil.rmtree(folder, ignore_errors=True)

    ratio = median["compiler"] / baseline
    print(f"segment_eval: ratio={ratio:.2f} unit=time contacts={contacts} members={results['compiler']} "
          f"compiler_ms={median['compiler'] * 1000:.1f} hand_sql_ms={baseline * 1000:.1f} "
          f"hand_exists_ms={median['hand_exists'] * 1000:.1f} hand_join_ms={median['hand_join'] * 1000:.1f} "
          f"refresh_ms={refresh * 1000:.2f} rebuild_s={steady_rebuild:.2f}")


if __name__ == "__main__":
    main()
