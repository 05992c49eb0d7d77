"""Issue 16's must-show checks for the write discipline, with real processes:
``couvee worker`` and ``couvee import`` started as subprocesses on the test's
database and Redis (SQLite file, or PostgreSQL when COUVEE_TEST_DATABASE_URL
is set), the app under a real HTTP server for the form posts.

- a 20,000-row ``couvee import`` succeeds while one worker, then two, run;
- 30 concurrent public form posts while the worker dispatches 10,000
  events: every answer a success, 30 submissions stored;
- a dynamic segment created right after a 20,000-row import shows the exact
  count within 30 s of the import's end.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from rq.job import Job
from rq.queue import Queue
from rq.registry import FinishedJobRegistry, StartedJobRegistry

from core import emit_many, utcnow
from core.models import Contact
from core.queue import queue_names
from plugins.segments.editing import save_segment
from plugins.segments.models import Segment
from plugins.forms.models import Submission

from .forms_helpers import make_form, set_setting
from .test_email_newsletter import kill_with_work_horses

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROWS = 20_000


def couvee_env(wsgi) -> dict:
    config = wsgi.runtime.config
    env = {key: value for key, value in os.environ.items() if not key.startswith("COUVEE_")}
    env.update(COUVEE_INSTANCE=str(config.instance_path), COUVEE_DATABASE_URL=config.database_url,
               COUVEE_REDIS_URL=config.redis_url, COUVEE_SECRET_KEY=config.secret_key,
               COUVEE_BASE_URL=config.base_url, PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def workers(wsgi, tmp_path):
    """``start(n)`` runs n ``couvee worker`` processes (all queues, forking a
    work horse per job, as in production) until the test ends."""
    started = []

    def start(count: int = 1):
        for index in range(count):
            log = open(tmp_path / f"worker{len(started)}.log", "w")
            process = subprocess.Popen([sys.executable, "-m", "core.cli", "worker"], cwd=ROOT, env=couvee_env(wsgi),
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            started.append((process, log))
        time.sleep(1.0)  # registered and listening
        for process, _ in started:
            assert process.poll() is None, "a worker died at start"

    yield start
    for process, log in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, log in started:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # still in a long job: stop it the hard way
            kill_with_work_horses(process.pid)
            process.wait(timeout=15)
        log.close()


def write_csv(path: Path, rows: int, prefix: str = "person") -> Path:
    with open(path, "w", encoding="utf-8") as out:
        out.write("email,first_name,last_name\n")
        for n in range(rows):
            out.write(f"{prefix}{n}@example.com,First{n},Last{n}\n")
    return path


def couvee_import(wsgi, csv: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", "import", str(csv), *options], cwd=ROOT,
                          env=couvee_env(wsgi), capture_output=True, text=True, timeout=300)


def _naive_utc(moment):
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def worker_busy_between(redis, start, end) -> bool:
    """Whether a worker ran a job (they all write: dispatching events,
    rebuilding segments) at some time between ``start`` and ``end``."""
    start, end = _naive_utc(start), _naive_utc(end)
    for name in queue_names():
        queue = Queue(name, connection=redis)
        for registry in (StartedJobRegistry(queue=queue), FinishedJobRegistry(queue=queue)):
            for job in Job.fetch_many(registry.get_job_ids(), connection=redis):
                if job is None or job.started_at is None:
                    continue
                ended = _naive_utc(job.ended_at) if job.ended_at else None
                if _naive_utc(job.started_at) <= end and (ended is None or ended >= start):
                    return True
    return False


def events_backlog(count: int) -> list[int]:
    """``count`` contacts, each with a ``tag_added`` event waiting for dispatch."""
    now = time.time()
    rows = [{"email": f"busy{n}@example.com"} for n in range(count)]
    for start in range(0, count, 1000):
        Contact.insert_many(rows[start:start + 1000]).execute()
    ids = [c.id for c in Contact.select(Contact.id).where(Contact.email.startswith("busy"))]
    assert time.time() - now < 60
    return emit_many([{"contact": contact_id, "kind": "tag_added", "data": {"tag": "busy"}} for contact_id in ids])


# -- an import while workers run -------------------------------------------------------


@pytest.mark.parametrize("worker_count", [1, 2])
def test_a_20000_row_import_succeeds_while_workers_run(wsgi, ctx, workers, tmp_path, worker_count):
    events_backlog(5000)  # the workers are busy writing when the import starts
    workers(worker_count)
    began = utcnow()
    result = couvee_import(wsgi, write_csv(tmp_path / "people.csv", IMPORT_ROWS), "--tag", "imported")
    assert result.returncode == 0, result.stderr[-3000:]
    assert worker_busy_between(ctx.extensions["couvee"].redis, began, utcnow())  # they wrote meanwhile
    assert f"Done: {IMPORT_ROWS} rows, {IMPORT_ROWS} created" in result.stdout
    assert Contact.select().where(Contact.email.startswith("person")).count() == IMPORT_ROWS


# -- public form posts while the worker dispatches ----------------------------------------


def post_form(url: str, key: str, email: str) -> tuple[int, str]:
    """What a browser does: open the hosted form, then post it."""
    import re

    with urllib.request.urlopen(f"{url}/f/{key}", timeout=60) as page:
        html = page.read().decode()
    token = re.search(r'name="cv_token" value="([^"]+)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(cv_[a-z_]+)" value="([^"]*)"', html))
    fields.update(cv_token=token, email=email)
    request = urllib.request.Request(f"{url}/f/{key}", data=urllib.parse.urlencode(fields).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_30_concurrent_form_posts_while_the_worker_dispatches_10000_events(wsgi, ctx, workers, live_server):
    set_setting("forms", "min_fill_seconds", 0)
    set_setting("forms", "rate_limit", 0)
    form = make_form("Newsletter")
    events_backlog(10_000)
    workers(1)
    answers = []

    def visitor(n):
        answers.append(post_form(live_server.url, form.key, f"visitor{n}@example.com"))

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(30)]
    began = utcnow()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert worker_busy_between(ctx.extensions["couvee"].redis, began, utcnow())  # it wrote meanwhile
    assert sorted(status for status, _ in answers) == [200] * 30
    assert all("Thank you, we received your request." in body for _, body in answers)
    deadline = time.monotonic() + 60  # any post deferred on a busy database is written by the worker
    while Submission.select().count() < 30 and time.monotonic() < deadline:
        time.sleep(0.5)
    stored = {s.contact.email for s in Submission.select()}
    assert stored == {f"visitor{n}@example.com" for n in range(30)}


# -- a dynamic segment right after an import -----------------------------------------------


def test_a_dynamic_segment_made_after_a_20000_row_import_counts_them_all_within_30_s(wsgi, ctx, workers, tmp_path):
    workers(1)
    result = couvee_import(wsgi, write_csv(tmp_path / "people.csv", IMPORT_ROWS), "--tag", "fair")
    assert result.returncode == 0, result.stderr[-3000:]
    ended = time.monotonic()
    segment = save_segment(None, name="Imported", kind="dynamic", definition={
        "match": "all", "groups": [{"match": "all", "conditions": [
            {"filter": "tag", "params": {"operator": "has", "value": "fair"}}]}]})
    count = None
    while time.monotonic() - ended < 30:
        count = Segment.get_by_id(segment.id).member_count
        if count == IMPORT_ROWS:
            break
        time.sleep(0.5)
    assert count == IMPORT_ROWS, f"{count} members {time.monotonic() - ended:.0f} s after the import"
