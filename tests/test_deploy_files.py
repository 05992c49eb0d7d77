"""deploy/ as an operator uses it: the compose file and the systemd units name
only commands and options that exist, and the units' own command lines start
the web process, run a worker and apply migrations for real.

Docker is not available here, so the compose file is checked as YAML and by
its commands; the systemd units are read like systemd reads them."""
from __future__ import annotations

import configparser
import importlib
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from waitress.adjustments import Adjustments

from .conftest import free_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
BIN = Path(sys.executable).parent
LONG_RUNNING = {"worker", "cron"}


def run_cli(*args: str) -> str:
    done = subprocess.run([str(BIN / "couvee"), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def couvee_commands() -> set[str]:
    listing = run_cli("--help").split("Commands:", 1)[1]
    return {line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.split()}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(path)
    return parser


def exec_start(path: Path, instance: str = "8001") -> list[str]:
    return shlex.split(unit(path)["Service"]["ExecStart"].replace("%i", instance))


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_commands() -> dict[str, list[str]]:
    """Service name → command, for the services running the Couvée image."""
    services = compose()["services"]
    return {name: service["command"] for name, service in services.items()
            if service.get("image") == "couvee:latest"}


def check_command(argv: list[str], known: set[str]) -> None:
    program = Path(argv[0]).name
    if program == "couvee":
        command, options = argv[1], [a.split("=")[0] for a in argv[2:] if a.startswith("--")]
        assert command in known, f"couvee {command} is not a command of `couvee --help`"
        usage = run_cli(command, "--help")
        for option in options:
            assert re.search(rf"(^|\s){re.escape(option)}\b", usage), f"couvee {command} has no {option}"
    elif program == "waitress-serve":
        assert (BIN / "waitress-serve").exists(), "waitress-serve is installed with Couvée's dependencies"
        settings, rest = Adjustments.parse_args(argv[1:])
        assert settings.pop("call") is True and rest == ["core.wsgi:make_application"], rest
        settings.pop("help")
        Adjustments(**settings)  # raises on an unknown or malformed option
        module, name = rest[0].split(":")
        assert callable(getattr(importlib.import_module(module), name))
    else:
        raise AssertionError(f"{argv[0]}: not a command Couvée installs")


def test_the_compose_file_is_yaml_and_names_only_real_commands():
    known = couvee_commands()
    data = compose()
    commands = compose_commands()
    assert set(commands) == {"migrate", "web", "worker", "cron"}
    for argv in commands.values():
        check_command(argv, known)
    assert {argv[1] for argv in commands.values() if argv[0] == "couvee"} == {"migrate", "worker", "cron"}
    assert {"postgres", "redis", "proxy"} <= set(data["services"])
    web = data["services"]["web"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in web, "web processes are reached through the proxy only"
    proxy_conf = (DEPLOY / data["services"]["proxy"]["volumes"][0].split(":")[0]).read_text()
    assert "server web:8000" in proxy_conf and "X-Forwarded-For $remote_addr" in proxy_conf
    assert (DEPLOY / data["x-couvee"]["build"]["dockerfile"].removeprefix("deploy/")).exists()
    assert data["x-couvee"]["env_file"] == "couvee.env" and (DEPLOY / "couvee.env.example").exists()
    shared = {name: data["services"][name]["volumes"] for name in commands}
    assert all(volumes == ["instance:/var/lib/couvee"] for volumes in shared.values()), shared


def test_the_systemd_units_name_only_real_commands():
    known = couvee_commands()
    names = {path.name for path in UNITS}
    assert names == {"couvee-web@.service", "couvee-worker@.service", "couvee-cron.service",
                     "couvee-migrate.service"}
    used = set()
    for path in UNITS:
        service = unit(path)["Service"]
        assert service["EnvironmentFile"] == "/etc/couvee/couvee.env", path.name
        assert service["User"] == "couvee", path.name
        argv = exec_start(path)
        check_command(argv, known)
        if Path(argv[0]).name == "couvee":
            used.add(argv[1])
    assert used == {"worker", "cron", "migrate"}
    for path in UNITS:
        if unit(path)["Service"].get("Type") != "oneshot":
            assert unit(path)["Service"]["Restart"] == "always", path.name


def test_the_environment_example_names_only_settings_couvee_reads():
    from core import config

    documented = set(re.findall(r"COUVEE_[A-Z_]+", config.__doc__))
    named = set(env_example())
    assert named <= documented and {"COUVEE_DATABASE_URL", "COUVEE_REDIS_URL", "COUVEE_SECRET_KEY"} <= named


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "couvee.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_web_processes_trust_exactly_the_proxy_in_front_of_them():
    assert env_example()["COUVEE_TRUSTED_PROXIES"] == "1"
    assert compose()["services"]["web"]["environment"]["COUVEE_TRUSTED_PROXIES"] == "1"
    for conf in ("nginx.conf", "compose-nginx.conf"):  # one hop that replaces the header, never appends
        text = (DEPLOY / conf).read_text()
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in text, conf
        assert "$proxy_add_x_forwarded_for" not in text, conf
    assert "--listen=127.0.0.1:" in unit(DEPLOY / "systemd" / "couvee-web@.service")["Service"]["ExecStart"]


@pytest.fixture
def host_env(config, tmp_path):
    """couvee.env.example as a host reads it, pointed at the test's database and Redis."""
    env = {**os.environ, **env_example()}
    env.update(COUVEE_DATABASE_URL=config["database_url"], COUVEE_REDIS_URL=config["redis_url"],
               COUVEE_SECRET_KEY=config["secret_key"], COUVEE_INSTANCE=str(tmp_path / "host"),
               COUVEE_BASE_URL="http://127.0.0.1")
    return env


def on_this_host(argv: list[str]) -> list[str]:
    """The unit's command with /opt/couvee/venv/bin replaced by this virtualenv."""
    return [str(BIN / Path(argv[0]).name), *argv[1:]]


def test_the_units_command_lines_migrate_serve_and_work(host_env):
    def run_unit(name: str, *extra: str, instance: str = "1"):
        argv = on_this_host(exec_start(DEPLOY / "systemd" / name, instance)) + list(extra)
        return subprocess.run(argv, env=host_env, capture_output=True, text=True, timeout=120)

    migrated = run_unit("couvee-migrate.service")
    assert migrated.returncode == 0, migrated.stderr

    port = free_port()
    argv = on_this_host(exec_start(DEPLOY / "systemd" / "couvee-web@.service", str(port)))
    web = subprocess.Popen(argv, env=host_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.svg", timeout=5)
            except (ConnectionError, urllib.error.URLError):
                assert web.poll() is None, web.stderr.read().decode()
                assert time.monotonic() < deadline, "the web process did not answer within 60 s"
                time.sleep(0.2)
        assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert refused.value.code == 401
    finally:
        web.terminate()
        web.wait(timeout=30)

    worked = run_unit("couvee-worker@.service", "--burst")
    assert worked.returncode == 0, worked.stderr
