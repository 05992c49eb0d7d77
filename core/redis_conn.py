"""Redis connection: the configured server, or the instance's embedded
server (``core.embedded_redis``: a real Redis binary shipped in a pip package).

Several processes of one instance share the embedded server: the first one
starts it, the others attach to its socket, and the last one to exit stops it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import redis

from .db import ConfigError
from .embedded_redis import EmbeddedRedis, EmbeddedRedisError

log = logging.getLogger("couvee.redis")


@dataclass
class RedisHandle:
    client: redis.Redis
    url: str
    #: the embedded server this process is a user of, if any
    embedded: EmbeddedRedis | None = None

    def release(self) -> None:
        """Let go of the embedded server (stopped if no other process uses it).
        Also done at exit; a no-op for a configured server."""
        if self.embedded is not None:
            self.client.close()
            self.embedded.release()


def start_embedded(instance_path: Path) -> RedisHandle:
    server = EmbeddedRedis(instance_path / "redis")
    try:
        socket_path = server.attach()
    except (OSError, EmbeddedRedisError) as error:
        raise ConfigError(f"could not start the embedded Redis in {server.folder}: {error}") from error
    client = redis.Redis(unix_socket_path=socket_path)
    return RedisHandle(client=client, url=f"unix://{socket_path}", embedded=server)


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
