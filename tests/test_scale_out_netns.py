"""Scale-out, tested as separate machines: the web process and two
``couvee worker`` processes each run on their own "host", a Linux network
namespace joined to a bridge by a veth pair (addresses in a private /24,
see tests/netns.py). They share only what docs/deployment.md says they
share: PostgreSQL, a Redis server, the instance folder and the environment.

- The test starts its own ``redis-server``, bound to the bridge address.
- PostgreSQL here listens on 127.0.0.1 only, and this machine's configuration
  is not ours to change: a small TCP forwarder in the test (tests/tcp_forwarder.py)
  listens on the bridge address and relays to 127.0.0.1:5432. The hosts use
  ``COUVEE_DATABASE_URL`` with the bridge address, as they would use a database host.
- The SMTP sink (aiosmtpd) listens on the bridge address; it tells the worker
  hosts apart by their addresses.

An administrator, over HTTP to the web host, creates a list, imports 2,000
contacts into it from a CSV (the web host stores the upload in the shared
instance folder, a worker host imports it), writes a newsletter to the list
and sends it. When message 600 arrives, the worker host sending it dies:
every process in its namespace is SIGKILLed before the SMTP server answers
(so that message was not accepted). Every recipient must get exactly one
message, and the send must end ``sent``.

The dead host's claims run out after ten minutes (``sendlog.LEASE``); the
test moves that lease into the past instead of waiting (other processes'
clocks cannot be moved), then runs the email sweep as ``couvee cron`` does
every minute. The surviving host sends the rest.

Database: ``COUVEE_TEST_DATABASE_URL`` when it is PostgreSQL (its ``public``
schema reset, as in conftest); otherwise a throwaway database created on
``postgresql://postgres@127.0.0.1:5432`` and dropped afterwards. Skipped with
the reason when no PostgreSQL answers there, when namespaces cannot be made
(not root, no ``ip``, namespaces denied) or ``redis-server`` is missing.
Runs in about a minute on 2 shared cores."""
from __future__ import annotations

import collections
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import threading
import types
import urllib.parse
from pathlib import Path

import pytest
import redis as redis_client
import requests

from core.app import create_app
from core.models import Event, utcnow

from . import netns
from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SmtpSink, _reset_postgres, csrf_of, free_port
from .tcp_forwarder import TcpForwarder
from .test_event_dispatch_processes import wait_until
from .test_email_send import configure

TOTAL, KILL_AT = 2000, 600
BIN = Path(sys.executable).parent
SECRET = "netns-test-secret-0123456789"
WEB_PORT = 8000
POSTGRES_PORT = 5432
DEFAULT_POSTGRES = f"postgresql://postgres@127.0.0.1:{POSTGRES_PORT}"


# --- the shared servers ------------------------------------------------------------------


@pytest.fixture
def postgres_url():
    """A PostgreSQL database of our own (see the module docstring)."""
    import psycopg2

    url = os.environ.get("COUVEE_TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        _reset_postgres(url)
        yield url
        return
    try:
        server = psycopg2.connect(f"{DEFAULT_POSTGRES}/postgres", connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"the scale-out test needs PostgreSQL at {DEFAULT_POSTGRES} ({str(error).strip()})")
    server.autocommit = True
    name = f"couvee_netns_{os.getpid()}"
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{DEFAULT_POSTGRES}/{name}"
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.close()


@pytest.fixture
def network():
    reason = netns.unavailable()
    if reason:
        pytest.skip(reason)
    if shutil.which("redis-server") is None:
        pytest.skip("the scale-out test starts its own redis-server (apt-get install redis-server)")
    lan = netns.Network()
    try:
        yield lan
    finally:
        lan.close()


@pytest.fixture
def redis_server(network, tmp_path):
    """A Redis server listening on the bridge address only, with a password
    (Redis refuses clients from other hosts without one)."""
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    server = subprocess.Popen(["redis-server", "--bind", network.address, "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(folder), "--requirepass", SECRET],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://:{SECRET}@{network.address}:{port}/0"
    try:
        client = redis_client.Redis.from_url(url)
        wait_until(lambda: _answers(client), 20)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def _answers(client) -> bool:
    try:
        return client.ping()
    except redis_client.ConnectionError:
        return False


class HostSink(SmtpSink):
    """The SMTP sink, also noting which host sent each message, and killing
    the worker host that sends message ``KILL_AT`` before answering it."""

    def __init__(self, kill):
        super().__init__()
        self.kill = kill  # host address -> None, kills that host
        self.peers: list[str] = []
        self.killed = threading.Event()
        self.victim = self.unanswered = None

    async def handle_DATA(self, server, session, envelope):
        peer = session.peer[0]
        if len(self.messages) + 1 == KILL_AT and not self.killed.is_set():
            self.victim, self.unanswered = peer, envelope.rcpt_tos[0]
            self.kill(peer)
            self.killed.set()
            return "451 4.3.0 Connection lost"  # nobody is left to read it
        answer = await super().handle_DATA(server, session, envelope)
        self.peers.append(peer)
        return answer


# --- the hosts ---------------------------------------------------------------------------


@pytest.fixture
def site(postgres_url, network, redis_server, tmp_path):
    """web, worker1 and worker2 hosts running, and an app in the test process
    (for arranging settings and reading the outcome)."""
    from aiosmtpd.controller import Controller

    parts = urllib.parse.urlsplit(postgres_url)
    database = (parts.hostname or "127.0.0.1", parts.port or POSTGRES_PORT)
    forwarder = TcpForwarder((network.address, 0), database)
    hosts_db = parts._replace(netloc=f"{parts.username or 'postgres'}"
                                     f"{':' + parts.password if parts.password else ''}"
                                     f"@{network.address}:{forwarder.port}").geturl()
    addresses = {host: network.add_host(host) for host in ("web", "worker1", "worker2")}
    by_address = {address: host for host, address in addresses.items()}
    web_url = f"http://{addresses['web']}:{WEB_PORT}"
    instance = tmp_path / "instance"  # the shared instance folder
    instance.mkdir()
    env = {**os.environ, "COUVEE_DATABASE_URL": hosts_db, "COUVEE_REDIS_URL": redis_server,
           "COUVEE_SECRET_KEY": SECRET, "COUVEE_INSTANCE": str(instance), "COUVEE_BASE_URL": web_url}
    logs = tmp_path / "logs"
    logs.mkdir()
    sink = HostSink(kill=lambda address: network.kill_host(by_address[address]))
    smtp = Controller(sink, hostname=network.address, port=free_port())
    processes: dict[str, subprocess.Popen] = {}

    def start(host: str, argv: list[str]) -> None:
        log = open(logs / f"{host}.log", "wb")
        processes[host] = network.start(host, argv, env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    try:
        smtp.start()
        sink.host, sink.port = network.address, smtp.port
        for argv in (["migrate"], ["createuser", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD]):
            done = network.run("web", [str(BIN / "couvee"), *argv], env)  # as couvee-migrate.service would
            assert done.returncode == 0, done.stdout + done.stderr
        start("web", [str(BIN / "waitress-serve"), f"--listen={addresses['web']}:{WEB_PORT}", "--threads=4",
                      "--call", "core.wsgi:make_application"])
        for host in ("worker1", "worker2"):
            start(host, [str(BIN / "couvee"), "worker"])
        app = create_app({"instance_path": instance, "database_url": postgres_url, "redis_url": redis_server,
                          "secret_key": SECRET, "base_url": web_url, "plugin_state_ttl": 0})
        state = app.extensions["couvee"]
        with app.app_context(), state.database_connection():
            yield types.SimpleNamespace(url=web_url, sink=sink, smtp=smtp, hosts=addresses, processes=processes,
                                        logs=logs, app=app, network=network, database=database)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        network.close()  # kills whatever is left on the hosts
        for process in processes.values():
            process.wait(timeout=30)
        smtp.stop()
        forwarder.close()


def reaches(network, host: str, address: tuple[str, int]) -> bool:
    probe = f"import socket; socket.create_connection({address!r}, timeout=3)"
    return network.run(host, [sys.executable, "-c", probe], dict(os.environ), timeout=30).returncode == 0


def log_tail(site, host: str) -> str:
    return f"--- {host} ---\n" + (site.logs / f"{host}.log").read_text(errors="replace")[-3000:]


# --- the administrator, over HTTP ---------------------------------------------------------


class Admin:
    """An administrator's browser without JavaScript: a cookie jar and forms posted with their CSRF token."""

    def __init__(self, url: str):
        self.url, self.http = url, requests.Session()

    def get(self, path: str) -> requests.Response:
        response = self.http.get(self.url + path, timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response

    def submit(self, form_page: str, action: str, data: dict, files=None) -> requests.Response:
        """Open ``form_page``, post ``data`` with its token to ``action``; the page redirected to."""
        data = {**data, "csrf_token": csrf_of(self.get(form_page))}
        response = self.http.post(self.url + action, data=data, files=files, timeout=60)
        assert response.status_code == 200 and response.history, (action, response.status_code, response.text[:800])
        return response


def id_in(response: requests.Response, pattern: str) -> int:
    match = re.search(pattern, urllib.parse.urlsplit(response.url).path)
    assert match, response.url
    return int(match.group(1))


def wait_for_web(url: str) -> None:
    def answers():
        try:
            return requests.get(url + "/favicon.svg", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(answers, 60)


def import_recipients(admin: Admin, list_id: int) -> dict:
    rows = "".join(f"r{i}@example.com,Reader{i}\n" for i in range(TOTAL))
    setup = admin.submit("/admin/imports", "/admin/imports", {},
                         files={"file": ("readers.csv", ("email,first_name\n" + rows).encode())})
    job_id = id_in(setup, r"/admin/imports/(\d+)/setup")
    admin.submit(f"/admin/imports/{job_id}/setup", f"/admin/imports/{job_id}/setup",
                 {"target_0": "email", "target_1": "first_name", "policy": "update", "segment_id": str(list_id)})
    return wait_until(lambda: _finished(admin.get(f"/admin/imports/{job_id}/progress.json").json()), 120, step=0.5)


def _finished(progress: dict) -> dict | None:
    return progress if progress["status"] in ("done", "failed", "cancelled") else None


# --- the story ---------------------------------------------------------------------------


def test_a_worker_host_dies_mid_newsletter_and_every_recipient_gets_exactly_one_email(site):
    from plugins.email import newsletters
    from plugins.email.models import CLAIMED, DONE, Newsletter, Send

    configure(site.sink, batch_size=50, workers=2)
    for host in site.hosts:  # separate machines: the database server itself is out of their reach
        assert not reaches(site.network, host, site.database), host
    wait_for_web(site.url)
    admin = Admin(site.url)
    admin.submit("/admin/login", "/admin/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    readers = admin.submit("/admin/segments/new?kind=static", "/admin/segments/new",
                           {"name": "Readers", "kind": "static", "match": "all", "action": "save"})
    list_id = id_in(readers, r"/admin/segments/(\d+)$")
    imported = import_recipients(admin, list_id)
    assert (imported["status"], imported["created"], imported["errors"]) == ("done", TOTAL, 0), imported

    written = admin.submit("/admin/email/new", "/admin/email/new", {
        "name": "Scale-out", "subject": "News for {{ first_name }}", "content": "<p>Hello {{ first_name }}</p>",
        "segments": str(list_id), "track": "on", "utm_source": "newsletter", "utm_medium": "email"})
    newsletter_id = id_in(written, r"/admin/email/(\d+)$")
    started = admin.submit(f"/admin/email/{newsletter_id}", f"/admin/email/{newsletter_id}/send",
                           {"confirmed": "yes", "at": ""})
    assert "Sending started." in started.text

    sink = site.sink
    assert sink.killed.wait(timeout=120), "\n".join(log_tail(site, h) for h in ("worker1", "worker2"))
    victim = next(host for host, address in site.hosts.items() if address == sink.victim)
    survivor = ({"worker1", "worker2"} - {victim}).pop()
    assert site.processes[victim].wait(timeout=30) == -9  # the host is gone, work horse included
    assert site.processes[survivor].poll() is None

    # ten minutes later: the dead host's lease has run out, the cron's sweep restarts the send
    dead_claim = Send.get((Send.newsletter == newsletter_id) & (Send.to_email == sink.unanswered)).claim
    held = Send.update(lease_until=utcnow() - dt.timedelta(seconds=1)).where(
        (Send.claim == dead_claim) & (Send.status == CLAIMED)).execute()
    assert held >= 1  # at least the message the host died sending
    newsletters.sweep()

    def finished():
        return Newsletter.get_by_id(newsletter_id).status == "sent"

    wait_until(finished, 120, step=0.5)
    received = collections.Counter(message["To"] for message in sink.messages)
    assert len(received) == TOTAL and set(received.values()) == {1}
    misaddressed = [m["To"] for m in sink.messages if m["Subject"] != f"News for Reader{m['To'][1:].split('@')[0]}"]
    assert misaddressed == []  # each message personalised for its own recipient
    senders = collections.Counter(sink.peers)
    after_kill = set(sink.peers[KILL_AT - 1:])
    assert after_kill == {site.hosts[survivor]}, after_kill
    assert senders[site.hosts[victim]] > 0 and senders[site.hosts[survivor]] > 0, senders  # both hosts sent
    assert Send.select().where((Send.newsletter == newsletter_id) & (Send.status == DONE)).count() == TOTAL
    assert Event.select().where(Event.kind == "email_sent").count() == TOTAL  # one event per message, no more
    print(f"sent by host: {dict((h, senders[a]) for h, a in site.hosts.items() if a in senders)}; "
          f"{victim} killed at message {KILL_AT}, {held} claimed rows taken over by {survivor}")
