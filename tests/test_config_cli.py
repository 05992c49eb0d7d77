"""Start-up: configuration errors are clear messages, the instance folder is
created, and the command line offers what the README promises."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from core.cli import main
from core.config import load_config
from core.db import ConfigError


def test_missing_instance_folder_is_created_with_a_secret_key(tmp_path):
    config = load_config({"instance_path": tmp_path / "new" / "instance"}, environ={})
    assert (tmp_path / "new" / "instance" / "plugins").is_dir()
    assert config.secret_key == (tmp_path / "new" / "instance" / "secret_key").read_text()
    assert load_config({"instance_path": tmp_path / "new" / "instance"}, environ={}).secret_key == config.secret_key
    assert config.database_url.startswith("sqlite:///") and config.redis_url is None


@pytest.mark.parametrize("env, message", [
    ({"COUVEE_DATABASE_URL": "mysql://x"}, "unsupported scheme 'mysql'"),
    ({"COUVEE_REDIS_URL": "http://x"}, "COUVEE_REDIS_URL: expected redis://"),
    ({"COUVEE_BASE_URL": "couvee.example"}, "COUVEE_BASE_URL: expected an absolute"),
    ({"COUVEE_SAFE_MODE": "maybe"}, "COUVEE_SAFE_MODE: expected 1/0"),
    ({"COUVEE_SECRET_KEY": "short"}, "at least 16 characters"),
])
def test_invalid_configuration_is_a_clear_message(tmp_path, env, message):
    from core.app import create_app

    with pytest.raises(ConfigError, match=message):
        create_app(load_config({"instance_path": tmp_path}, environ=env))


def test_unreachable_redis_is_a_clear_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("COUVEE_INSTANCE", str(tmp_path))
    monkeypatch.setenv("COUVEE_REDIS_URL", "redis://127.0.0.1:1/0")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 1
    assert "Redis is not reachable at COUVEE_REDIS_URL=redis://127.0.0.1:1/0" in result.output
    assert "Traceback" not in result.output


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    for command in ("serve", "worker", "cron", "migrate", "plugins", "createuser"):
        assert command in result.output
    plugins = CliRunner().invoke(main, ["plugins", "--help"])
    for command in ("list", "enable", "disable"):
        assert command in plugins.output


@pytest.fixture
def env(config, monkeypatch):
    monkeypatch.setenv("COUVEE_INSTANCE", str(config["instance_path"]))
    monkeypatch.setenv("COUVEE_DATABASE_URL", config["database_url"])
    monkeypatch.setenv("COUVEE_REDIS_URL", config["redis_url"])
    return config


def test_createuser_migrate_and_plugins_commands(env):
    from .conftest import install_fixture_plugin

    runner = CliRunner()
    result = runner.invoke(main, ["createuser", "--email", "boss@example.com", "--password", "long password 1"])
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com" in result.output
    assert "Database is up to date" in runner.invoke(main, ["migrate"]).output
    install_fixture_plugin(env["instance_path"])
    listed = runner.invoke(main, ["plugins", "list"]).output
    assert "couvee_fixture" in listed and "inactive" in listed
    assert runner.invoke(main, ["plugins", "enable", "couvee_fixture"]).exit_code == 0
    assert "active" in runner.invoke(main, ["plugins", "list"]).output
    assert runner.invoke(main, ["plugins", "disable", "couvee_fixture"]).exit_code == 0
    unknown = runner.invoke(main, ["plugins", "enable", "nope"])
    assert unknown.exit_code == 1 and "no plugin named 'nope'" in unknown.output
