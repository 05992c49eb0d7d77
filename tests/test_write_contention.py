"""One write discipline: writing transactions take SQLite's write lock first
(``core.write_transaction``), and public endpoints never answer 500 while
another process holds it: they wait a little, then hand the write to a
worker (``core.write_or_defer``), and nothing accepted is lost.

The other writer is a real second connection to the same database, as a
worker or an import in another process would be: a raw ``sqlite3``
connection holding ``BEGIN IMMEDIATE``, or on PostgreSQL a ``psycopg2`` one
holding an EXCLUSIVE lock on the contact and event tables (the public
endpoints' ``lock_timeout`` then plays SQLite's busy timeout). The
real-process checks are in test_write_contention_processes.py.
"""
from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from core import contact_token, make_token, utcnow
from core.contacts import create_contact
from core.db import is_contention, write_transaction
from core.deferred_writes import FAILED_KEY, drain_deferred_writes, pending_count
from plugins.imports.pipeline import Importer, Settings
from plugins.imports.reader import Row
from core.models import Contact, Event, Tag
from plugins.email.models import Click, Link, Open, Send
from plugins.forms.models import OptIn, Submission

from .forms_helpers import make_form, set_setting, submit


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's deferred and IMMEDIATE transactions; PostgreSQL has no database-wide write lock")


@pytest.fixture
def config(config):
    config["public_write_wait"] = 0.3  # a public request waits this long for the lock, then defers
    return config


@contextlib.contextmanager
def other_writer(database_url: str):
    """Another process's connection holding the write lock until the block
    ends (yields a cursor)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=10)
        connection.execute("BEGIN IMMEDIATE")
        cursor = connection
    else:
        import psycopg2

        connection = psycopg2.connect(database_url)
        cursor = connection.cursor()
        cursor.execute("LOCK TABLE contact, event IN EXCLUSIVE MODE")  # reads pass, writes wait
    try:
        yield cursor
    finally:
        connection.commit()
        connection.close()


def release_after(connection_cm, seconds: float) -> threading.Thread:
    """Hold the lock from a thread for ``seconds`` (taken before this returns)."""
    taken = threading.Event()

    def hold():
        with connection_cm as connection:
            connection.execute("INSERT INTO tag (name) VALUES ('written-by-the-other-process')")
            taken.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    return thread


# -- the write transaction -----------------------------------------------------------


@pytest.mark.usefixtures("sqlite_only")
def test_an_import_batch_waits_for_another_writer_instead_of_failing(ctx, database_url):
    """The batch reads (which emails exist) then writes: begun deferred, its
    read snapshot is stale once the other writer commits and SQLite refuses
    the write at once ("database is locked"); begun IMMEDIATE it just waits."""
    create_contact({"email": "known@example.com"})
    importer = Importer(Settings(mapping=[{"header": "email", "target": "email"},
                                          {"header": "first", "target": "first_name"}]))
    rows = [Row(line, [f"p{line}@example.com", "Ada"]) for line in range(2, 202)]
    rows.append(Row(202, ["known@example.com", "Known"]))
    holder = release_after(other_writer(database_url), 0.5)
    result = importer.process(rows)
    holder.join()
    assert (result.counts.created, result.counts.updated) == (200, 1)
    assert Contact.select().count() == 201
    assert Tag.select().where(Tag.name == "written-by-the-other-process").exists()


@pytest.mark.usefixtures("sqlite_only")
def test_write_transaction_begins_immediate_on_sqlite(ctx, database_url):
    """While our write transaction is open, another connection cannot take
    the write lock: the lock was taken at BEGIN, before any write."""
    with write_transaction():
        Contact.select().count()  # only a read so far
        probe = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")
        probe.close()


def test_contention_is_recognised_and_other_errors_are_not(ctx, database_url):
    database = ctx.extensions["couvee"].database
    with other_writer(database_url):
        with pytest.raises(Exception) as caught:
            if database_url.startswith("sqlite"):
                database.execute_sql("PRAGMA busy_timeout = 1")
            else:
                database.execute_sql("SET lock_timeout = 1")
            Contact.create(email="late@example.com")
    assert is_contention(caught.value)
    assert not is_contention(ValueError("a bug"))


# -- public endpoints on a busy database ------------------------------------------------


def test_a_short_lock_is_waited_for_and_the_post_written_at_once(web, ctx, database_url):
    ctx.extensions["couvee"].config.public_write_wait = 5
    set_setting("forms", "min_fill_seconds", 0)
    form = make_form("Newsletter")
    holder = release_after(other_writer(database_url), 0.5)
    page = submit(web, form, {"email": "ada@example.com"})
    holder.join()
    assert "Thank you, we received your request." in page.text
    assert Submission.select().count() == 1
    assert pending_count() == 0


def test_a_form_post_on_a_locked_database_is_thanked_and_written_by_a_worker(web, ctx, database_url, run_jobs):
    set_setting("forms", "min_fill_seconds", 0)
    form = make_form("Newsletter", fields=["first_name"])
    with other_writer(database_url):
        page = submit(web, form, {"email": "ada@example.com", "first_name": "Ada"}, status=200)
    assert Submission.select().count() == 0  # the database was busy: a worker writes it
    assert pending_count() == 1
    assert "Thank you, we received your request." in page.text
    run_jobs()
    assert pending_count() == 0
    [submission] = Submission.select()
    assert submission.contact.email == "ada@example.com" and submission.contact.first_name == "Ada"
    assert Event.select().where((Event.contact == submission.contact) & (Event.kind == "form_submitted")).count() == 1


def test_json_submissions_on_a_locked_database_say_ok(web, ctx, database_url, run_jobs):
    set_setting("forms", "min_fill_seconds", 0)
    form = make_form("Newsletter", origins=["https://shop.example"])
    definition = web.get(f"/f/{form.key}/form.json", headers={"Origin": "https://shop.example"}).json
    with other_writer(database_url):
        answer = web.post(f"/f/{form.key}/submit", {"email": "bo@example.com", "cv_token": definition["token"]},
                          headers={"Origin": "https://shop.example"}, status=200).json
    assert answer["ok"] is True
    run_jobs()
    assert Submission.select().join(Contact).where(Contact.email == "bo@example.com").count() == 1


def _send_to(contact) -> Send:
    return Send.create(key=f"test:{contact.id}", contact=contact, to_email=contact.email, status="sent")


def test_unsubscribes_on_a_locked_database_are_accepted_then_recorded(web, ctx, database_url, run_jobs):
    page_person = create_contact({"email": "page@example.com"})
    click_person = create_contact({"email": "click@example.com"})
    page_send, click_send = _send_to(page_person), _send_to(click_person)
    page = web.get("/e/u/" + make_token("email.unsubscribe", page_send.id))
    form = page.forms[0]
    form["reason"] = "Too many"
    with other_writer(database_url):
        done = form.submit(status=200)
        web.post(f"/e/u/{make_token('email.unsubscribe', click_send.id)}/one-click",
                 {"List-Unsubscribe": "One-Click"}, status=200)
    assert "You are unsubscribed" in done.text
    assert pending_count() == 2
    run_jobs()
    unsubscribed = {e.contact_id: e.data for e in Event.select().where(Event.kind == "email_unsubscribed")}
    assert unsubscribed[page_person.id]["via"] == "page" and unsubscribed[page_person.id]["reason"] == "Too many"
    assert unsubscribed[click_person.id]["via"] == "one-click"


def test_opens_and_clicks_on_a_locked_database_are_served_then_recorded(web, ctx, database_url, run_jobs):
    person = create_contact({"email": "reader@example.com"})
    row = _send_to(person)
    link = Link.create(scope=f"send:{row.id}", url_hash="x", url="https://shop.example/offer")
    with other_writer(database_url):
        pixel = web.get(f"/e/o/{make_token('email.open', row.id)}.gif", headers={"User-Agent": "Mozilla/5.0"})
        click = web.get(f"/e/c/{make_token('email.click', [row.id, link.id])}", status=302)
    assert pixel.content_type == "image/gif"
    assert click.headers["Location"].startswith("https://shop.example/offer?cv_t=")
    assert (Open.select().count(), Click.select().count()) == (0, 0)
    run_jobs()
    assert (Open.select().count(), Click.select().count()) == (1, 1)
    assert {e.kind for e in Event.select().where(Event.contact == person.id)} >= {"email_opened", "email_clicked"}


def test_an_opt_in_confirmation_on_a_locked_database_is_confirmed_by_a_worker(web, ctx, database_url, run_jobs):
    form = make_form("Newsletter", double_opt_in="1")
    person = create_contact({"email": "doi@example.com"})
    opt_in = OptIn.create(contact=person, form=form, purpose="email_marketing", text="Yes, the newsletter.",
                          text_version="1")
    token = contact_token(person, "forms.confirm", o=opt_in.id)
    clicked_at = utcnow()
    with other_writer(database_url):
        page = web.post("/f/confirm", {"t": token}, status=200)
    assert OptIn.get_by_id(opt_in.id).status == "pending"
    run_jobs()
    confirmed = OptIn.get_by_id(opt_in.id)
    assert confirmed.status == "confirmed"
    assert confirmed.confirmed_at >= clicked_at.replace(microsecond=0) and confirmed.confirmed_at <= utcnow()
    assert "Thank you, your subscription is confirmed." in page.text


def test_preference_centre_changes_on_a_locked_database_are_saved_by_a_worker(web, ctx, database_url, run_jobs):
    person = create_contact({"email": "pref@example.com", "first_name": "Old"})
    page = web.get(f"/privacy/preferences?t={contact_token(person, 'gdpr.preferences')}")
    form = page.forms[0]
    form["first_name"] = "New"
    with other_writer(database_url):
        form.submit(status=200)
    assert Contact.get_by_id(person.id).first_name == "Old"
    run_jobs()
    assert Contact.get_by_id(person.id).first_name == "New"


def test_a_deferred_write_that_fails_for_another_reason_is_kept_not_lost(web, ctx, database_url, run_jobs):
    """A write the worker cannot apply (the form was deleted meanwhile) is
    moved to the failed list with its error, and the drain goes on."""
    set_setting("forms", "min_fill_seconds", 0)
    gone, kept = make_form("Gone"), make_form("Kept")
    with other_writer(database_url):
        submit(web, gone, {"email": "one@example.com"}, status=200)
        submit(web, kept, {"email": "two@example.com"}, status=200)
    gone.delete_instance(recursive=True)
    assert drain_deferred_writes() == 2
    assert Submission.select().join(Contact).where(Contact.email == "two@example.com").count() == 1
    [failed] = ctx.extensions["couvee"].redis.lrange(FAILED_KEY, 0, -1)
    assert re.search(rb"DoesNotExist", failed)
    assert pending_count() == 0


def test_every_writing_transaction_goes_through_write_transaction():
    """A bare ``atomic()`` begins deferred on a database opened elsewhere (and
    reads as an exception to the rule): core and the bundled plugins use
    ``write_transaction`` only; core/db.py is where it is built."""
    root = Path(__file__).resolve().parent.parent
    bare = re.compile(r"\.(atomic|transaction)\(")
    offenders = [f"{path.relative_to(root)}:{number}"
                 for folder in ("core", "plugins") for path in sorted((root / folder).rglob("*.py"))
                 if path != root / "core" / "db.py"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if bare.search(line)]
    assert offenders == []


def test_two_workers_draining_at_once_write_each_deferred_post_once(web, ctx, wsgi, database_url):
    set_setting("forms", "min_fill_seconds", 0)
    form = make_form("Newsletter")
    with other_writer(database_url):
        for n in range(12):
            submit(web, form, {"email": f"queued{n}@example.com"}, status=200)
    assert pending_count() == 12
    app, applied = wsgi.app, []

    def worker():
        with app.app_context(), app.extensions["couvee"].database_connection():
            applied.append(drain_deferred_writes())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    while pending_count():  # a drainer that found the other one busy left the rest to it, or to the next run
        worker()
    assert sum(applied) == 12
    emails = [s.contact.email for s in Submission.select()]
    assert sorted(emails) == sorted(f"queued{n}@example.com" for n in range(12))
