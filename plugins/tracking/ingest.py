"""The hit endpoint's work: validate a hit and append it to a Redis stream.

No database query happens here. A hit is refused (with a status and a reason,
never a 500) when the body is too large or not a JSON object, a field has the
wrong type or size, the site key is unknown, the request's Origin is not one
of the site's origins, or the IP sent too many hits this minute. Hits from bots
and, when the site honours them, from browsers sending Do Not Track / Global
Privacy Control are dropped silently (204 with ``X-Couvee-Dropped``).

Accepted hits are appended with ``XADD`` to :data:`STREAM` by one Lua script
that also counts the IP's rate and sets the "drain soon" flag, so a hit costs
one round trip to Redis, on a connection the web thread keeps
(:class:`_HitWriter`); the first hit after a drain started queues the next
drain job.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import sites

STREAM = "couvee:tracking:hits"
DRAIN_FLAG = "couvee:tracking:drain_queued"
MAX_BODY = 8 * 1024
KINDS = ("page", "event", "identify")
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_SCREEN = re.compile(r"^\d{1,5}x\d{1,5}$")
_EVENT_NAME = re.compile(r"^[\w .:/-]{1,100}$")
BOTS = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|headless|lighthouse|pingdom|uptime|curl|wget|"
    r"python-requests|httpclient|phantomjs|preview|monitor", re.IGNORECASE)

#: KEYS: rate key, stream, drain flag; ARGV: limit, window s, payload, drain flag ttl
_INGEST_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return -1 end
redis.call('XADD', KEYS[2], '*', 'd', ARGV[3])
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then return 1 end
return 0
"""


class Refused(Exception):
    """A hit we do not accept: ``status`` and a short ``reason``."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Outcome:
    accepted: bool
    dropped: str = ""  # bot | dnt
    queue_drain: bool = False


def _text(data: dict, key: str, limit: int, required: bool = False) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise Refused(400, f"missing field {key}")
        return ""
    if not isinstance(value, str):
        raise Refused(400, f"field {key} must be a string")
    if len(value) > limit:
        raise Refused(400, f"field {key} is longer than {limit} characters")
    return value


def _url(data: dict, key: str, required: bool = False) -> str:
    value = _text(data, key, 2048, required)
    if value and not value.lower().startswith(("http://", "https://")):
        raise Refused(400, f"field {key} must be an http(s) URL")
    return value


def _properties(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50:
        raise Refused(400, "field p must be an object of at most 50 keys")
    for key, item in value.items():
        if len(key) > 100 or not (item is None or isinstance(item, (str, int, float, bool))):
            raise Refused(400, "field p holds only short keys and text, number, true/false or null values")
        if isinstance(item, str) and len(item) > 500:
            raise Refused(400, "field p: values are at most 500 characters")
    return value


def _identity(value) -> dict:
    if not isinstance(value, dict):
        raise Refused(400, "field id must be an object")
    identity = {}
    for key, limit in (("email", 254), ("hash", 128), ("first_name", 100), ("last_name", 100)):
        text = _text(value, key, limit)
        if text:
            identity[key] = text
    if "email" not in identity:
        raise Refused(400, "identify needs an email")
    return identity


def parse(body: bytes) -> dict:
    """The hit as we store it in the stream, or :class:`Refused`."""
    if len(body) > MAX_BODY:
        raise Refused(413, f"a hit is at most {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the body must be a JSON object")
    kind = data.get("k", "page")
    if kind not in KINDS:
        raise Refused(400, f"field k must be one of {', '.join(KINDS)}")
    hit = {"s": _text(data, "s", 64, required=True), "k": kind}
    for key in ("v", "h"):
        value = _text(data, key, 64)
        if value and not _ID.match(value):
            raise Refused(400, f"field {key} is not a valid id")
        hit[key] = value
    if not hit["v"]:
        raise Refused(400, "missing field v")
    hit["u"] = _url(data, "u", required=True)
    hit["r"] = _url(data, "r")
    hit["t"] = _text(data, "t", 512)
    hit["l"] = _text(data, "l", 35)
    hit["tz"] = _text(data, "tz", 64)
    screen = _text(data, "sc", 11)
    if screen and not _SCREEN.match(screen):
        raise Refused(400, "field sc must look like 1920x1080")
    hit["sc"] = screen
    hit["ct"] = _text(data, "ct", 1024)
    if kind == "event":
        name = _text(data, "n", 100, required=True)
        if not _EVENT_NAME.match(name):
            raise Refused(400, "field n: letters, digits, spaces and . : / - _ only")
        hit["n"] = name
        hit["p"] = _properties(data.get("p"))
    if kind == "identify":
        hit["id"] = _identity(data.get("id"))
    return hit


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOTS.search(user_agent))


def check_site(hit: dict, origin: str) -> sites.SiteInfo:
    site = sites.lookup(hit["s"])
    if site is None:
        raise Refused(403, "unknown site key")
    if not site.allows_origin(origin):
        raise Refused(403, "this origin is not allowed for the site")
    return site


class _HitWriter:
    """Runs the ingest script for the hit endpoint on a Redis connection of
    each web thread's own, kept open between hits.

    Through the client's pool every hit paid for a checkout (a readiness
    ``select`` on the socket), the retry wrapper and the release: about as
    much CPU as the rest of the request (see docs/performance.md). Here a hit
    is one ``EVALSHA`` written and its answer read on the thread's connection;
    the script is loaded on ``NOSCRIPT``; a broken connection is reopened and
    the call retried once (as the pool's client does); a forked process opens
    its own."""

    def __init__(self, redis):
        self.pool = redis.connection_pool
        self.sha = hashlib.sha1(_INGEST_LUA.encode()).hexdigest()
        self.local = threading.local()

    def _connection(self):
        local, pid = self.local, os.getpid()
        if getattr(local, "pid", None) != pid:
            local.connection, local.pid = self.pool.make_connection(), pid
        return local.connection

    def run(self, keys: list[str], args: list) -> int:
        connection = self._connection()
        try:
            return self._evalsha(connection, keys, args)
        except (RedisConnectionError, RedisTimeoutError):
            connection.disconnect()  # reconnects on the next command
            return self._evalsha(connection, keys, args)

    def _evalsha(self, connection, keys: list[str], args: list) -> int:
        command = _pack("EVALSHA", self.sha, len(keys), *keys, *args)
        connection.send_packed_command([command])
        try:
            return connection.read_response()
        except NoScriptError:  # first call on this server, or its scripts were flushed
            pass
        connection.send_command("SCRIPT", "LOAD", _INGEST_LUA)
        connection.read_response()
        connection.send_packed_command([command])
        return connection.read_response()


def _pack(*args) -> bytes:
    """One Redis command in the protocol's bytes (arguments are text or
    numbers only): ~6 µs a hit less than redis-py's generic packer."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _writer() -> _HitWriter:
    """This app's hit writer (made on first use, for the app's Redis client)."""
    extensions = current_app.extensions
    writer = extensions.get("couvee.tracking.writer")
    if writer is None:
        writer = extensions["couvee.tracking.writer"] = _HitWriter(extensions["couvee"].redis)
    return writer


def append(hit: dict, site_id: int | None, rate_limit: int, ip: str) -> Outcome:
    """XADD the hit (with the server's receive time) unless the IP is over
    ``rate_limit`` hits this minute; returns whether a drain job should be queued."""
    now = time.time()
    hit["site"] = site_id
    hit["at"] = int(now * 1000)
    result = _writer().run([f"couvee:tracking:rate:{site_id}:{ip}:{int(now // 60)}", STREAM, DRAIN_FLAG],
                           [max(1, rate_limit), 61, json.dumps(hit, separators=(",", ":")), 30])
    if result == -1:
        raise Refused(429, "too many hits from this address; slow down")
    return Outcome(accepted=True, queue_drain=result == 1)


def ingest(body: bytes, origin: str, user_agent: str, ip: str, dnt: bool) -> Outcome:
    """Validate and append one hit (the whole endpoint minus HTTP)."""
    hit = parse(body)
    site = check_site(hit, origin)
    if is_bot(user_agent):
        return Outcome(accepted=False, dropped="bot")
    if dnt and site.honour_dnt:
        return Outcome(accepted=False, dropped="dnt")
    return append(hit, site.id, site.rate_limit, ip)
