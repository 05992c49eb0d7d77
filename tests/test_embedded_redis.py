"""The embedded Redis lives as long as the couvee processes that use it
(issue 15 item 11: ``couvee serve`` stopped with Ctrl-C/SIGTERM, and every CLI
command, left its redis-server running). Real processes, real signals."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def redis_servers_of(instance: Path) -> list[int]:
    """Pids of the redis-server processes working in the instance's folder."""
    folder = str((instance / "redis").resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") == folder and b"redis-server" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def couvee_env(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("COUVEE_")}
    env.update(COUVEE_INSTANCE=str(instance), COUVEE_DATABASE_URL=f"sqlite:///{tmp_path / 'couvee.db'}",
               COUVEE_SECRET_KEY="embedded-redis-test-secret-0123", PYTHONUNBUFFERED="1")
    return instance, env


def couvee(env, *args, **options):
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, **options)


def createuser(env, email):
    return couvee(env, "createuser", "--email", email, "--password", "long enough password")


def start_serve(env):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Couvée is running" in line:
            return process, port
    process.wait(timeout=30)
    raise AssertionError("couvee serve did not start:\n" + "".join(lines))


def stop(process, signum=signal.SIGTERM) -> str:
    process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    return output


def test_a_cli_command_leaves_no_redis_server(couvee_env):
    instance, env = couvee_env
    result = createuser(env, "admin@example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Created admin admin@example.com" in result.stdout
    assert redis_servers_of(instance) == []
    # a second command starts a fresh server, finds the data, and stops it too
    again = createuser(env, "admin@example.com")
    assert "existe déjà" in again.stderr  # a fresh install speaks French (General → Default language)
    assert redis_servers_of(instance) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_stops_its_redis_and_children(couvee_env, signum):
    instance, env = couvee_env
    serve, port = start_serve(env)
    try:
        [server] = redis_servers_of(instance)
        children = [int(pid) for pid in Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()]
        assert children  # its workers and the scheduler
    finally:
        output = stop(serve, signum)
    assert serve.returncode == 0, output
    assert "Couvée stopped." in output
    assert redis_servers_of(instance) == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in [server, *children])


def test_a_command_run_while_serve_runs_reuses_its_redis_and_leaves_it_running(couvee_env):
    instance, env = couvee_env
    serve, port = start_serve(env)
    try:
        [server] = redis_servers_of(instance)
        result = createuser(env, "admin@example.com")
        assert result.returncode == 0, result.stdout + result.stderr
        assert redis_servers_of(instance) == [server]  # reused, not killed from under serve
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login")
        assert page.status == 200
    finally:
        output = stop(serve)
    assert serve.returncode == 0, output
    assert redis_servers_of(instance) == []


def wait_for_redis_server(instance: Path, process) -> int:
    """The pid of the instance's redis-server once ``process`` has started it."""
    deadline = time.monotonic() + 60
    while not redis_servers_of(instance):
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "no redis-server started"
        time.sleep(0.1)
    [server] = redis_servers_of(instance)
    return server


def test_a_command_stopped_with_sigterm_releases_the_redis(couvee_env, tmp_path):
    instance, env = couvee_env
    fifo = tmp_path / "contacts.csv"
    os.mkfifo(fifo)  # the import blocks opening it, after the app (and its Redis) is up
    command = subprocess.Popen([sys.executable, "-m", "core.cli", "import", str(fifo)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = wait_for_redis_server(instance, command)
    output = stop(command)
    assert command.returncode == 128 + signal.SIGTERM, output
    assert redis_servers_of(instance) == []
    assert not Path(f"/proc/{server}").exists()


@pytest.mark.parametrize("name", ["worker", "cron"])
def test_a_standalone_worker_or_cron_stopped_with_sigterm_releases_the_redis(couvee_env, name):
    instance, env = couvee_env
    process = subprocess.Popen([sys.executable, "-m", "core.cli", name], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_redis_server(instance, process)
    output = stop(process)
    assert process.returncode in (0, 128 + signal.SIGTERM), output  # stopped while working / while starting
    assert redis_servers_of(instance) == []
