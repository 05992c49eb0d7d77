"""Sending rate shared by every worker: Redis token buckets taken
atomically by one Lua script.

``take(redis, n, per_second, per_hour)`` grants up to ``n`` messages now and
says how long to wait when it grants none. Workers take a few tokens at a
time so the limit costs one Redis round trip per handful of messages.

Per-domain limits (``gmail.com=20/s, orange.fr=5/s``) add one bucket per
recipient domain, taken one message at a time by :class:`DomainPacer`: a
message to a domain over its limit waits (or is postponed) while the
messages to other domains go on.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

# KEYS: one bucket each. ARGV: wanted, then (limit, period in seconds) per key (limit 0 = unlimited)
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wanted = tonumber(ARGV[1])
local grant = wanted
local wait = 0
local buckets = {}
for i, key in ipairs(KEYS) do
  local limit, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  if limit > 0 then
    local state = redis.call('HMGET', key, 'tokens', 'at')
    local tokens = tonumber(state[1]) or limit
    local at = tonumber(state[2]) or now
    local rate = limit / period
    tokens = math.min(limit, tokens + math.max(0, now - at) * rate)
    local whole = math.floor(tokens)
    if whole < grant then grant = whole end
    if whole < 1 then
      local need = (1 - tokens) / rate
      if need > wait then wait = need end
    end
    buckets[#buckets + 1] = {key, tokens, period}
  end
end
if grant < 0 then grant = 0 end
for _, b in ipairs(buckets) do
  redis.call('HSET', b[1], 'tokens', tostring(b[2] - grant), 'at', tostring(now))
  redis.call('EXPIRE', b[1], math.ceil(b[3] * 2))
end
if grant > 0 then wait = 0 end
return {grant, tostring(wait)}
"""

KEYS = ("couvee:email:rate:second", "couvee:email:rate:hour")


def take(redis, wanted: int, per_second: int, per_hour: int) -> tuple[int, float]:
    """``(granted, wait_seconds)``; unlimited rates grant everything at once."""
    if wanted <= 0:
        return 0, 0.0
    if not per_second and not per_hour:
        return wanted, 0.0
    return take_buckets(redis, wanted, [(KEYS[0], int(per_second or 0), 1), (KEYS[1], int(per_hour or 0), 3600)])


def take_buckets(redis, wanted: int, buckets: list[tuple[str, int, int]]) -> tuple[int, float]:
    """``(granted, wait_seconds)`` from every ``(key, limit, period_seconds)`` bucket at once."""
    args = [wanted]
    for _, limit, period in buckets:
        args += [limit, period]
    granted, wait = redis.eval(_SCRIPT, len(buckets), *[key for key, _, _ in buckets], *args)
    return int(granted), float(wait)


class Throttle:
    """A worker's view of the shared buckets: takes tokens in small chunks."""

    def __init__(self, redis, per_second: int, per_hour: int, chunk: int = 10):
        self.redis, self.per_second, self.per_hour = redis, per_second, per_hour
        self.chunk = max(1, min(chunk, per_second or chunk))
        self.tokens = 0

    def acquire(self) -> float:
        """0 when one message may go now, else the seconds to wait."""
        if self.tokens > 0:
            self.tokens -= 1
            return 0.0
        granted, wait = take(self.redis, self.chunk, self.per_second, self.per_hour)
        if granted:
            self.tokens = granted - 1
            return 0.0
        return max(wait, 0.001)


# --- per-domain limits ---------------------------------------------------------------------

PERIODS = {"s": 1, "m": 60, "h": 3600}
_LIMIT = re.compile(r"^\s*([a-z0-9.-]+\.[a-z0-9-]+)\s*=\s*(\d+)\s*/\s*([smh])\s*$", re.IGNORECASE)
DOMAIN_KEY = "couvee:email:rate:domain:"


@dataclass(frozen=True)
class DomainLimit:
    domain: str
    limit: int
    period: int  # seconds

    def __str__(self) -> str:
        unit = {seconds: name for name, seconds in PERIODS.items()}[self.period]
        return f"{self.domain}={self.limit}/{unit}"


def parse_domain_limits(text: str) -> dict[str, DomainLimit]:
    """``"gmail.com=20/s, orange.fr=5/s"`` → limits by domain (lower case, IDNA);
    ``ValueError`` naming the first bad part. Commas, semicolons or new lines separate."""
    limits: dict[str, DomainLimit] = {}
    for part in re.split(r"[,;\n]+", text or ""):
        if not part.strip():
            continue
        match = _LIMIT.match(part.strip().encode("idna").decode("ascii") if not part.isascii() else part)
        if not match:
            raise ValueError(f"'{part.strip()}' is not understood: write domain=number/s (or /m, /h), "
                             "e.g. gmail.com=20/s.")
        domain, limit, unit = match.group(1).lower(), int(match.group(2)), match.group(3).lower()
        if limit < 1:
            raise ValueError(f"'{part.strip()}': the limit must be at least 1 (remove the domain for no limit).")
        if domain in limits:
            raise ValueError(f"{domain} is listed twice.")
        limits[domain] = DomainLimit(domain, limit, PERIODS[unit])
    return limits


def clean_domain_limits(text: str) -> str:
    """The setting's ``clean``: validate, and store in one canonical form."""
    return ", ".join(str(limit) for limit in parse_domain_limits(text).values())


def recipient_domain(address: str) -> str:
    domain = (address or "").rpartition("@")[2].strip().lower()
    try:
        return domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return domain


class DomainPacer:
    """Orders a batch so that a domain over its limit does not hold back the
    others: ``pace(rows)`` yields ``(row, postpone_seconds)``; 0 means send
    now (the domain's token is taken), more means the row must wait that
    long, longer than ``max_wait``: the caller postpones it. When only
    waiting rows are left, it sleeps until the first may go, calling
    ``before_sleep`` first (a send job reads its pending SMTP verdict there)."""

    def __init__(self, redis, limits: dict[str, DomainLimit], max_wait: float,
                 sleep: Callable[[float], None] = time.sleep):
        self.redis, self.limits, self.max_wait, self.sleep = redis, limits, max_wait, sleep

    def wait_for(self, address: str) -> float:
        """Take the domain's token for one message: 0 when it may go now, else the wait."""
        limit = self.limits.get(recipient_domain(address))
        if limit is None:
            return 0.0
        granted, wait = take_buckets(self.redis, 1, [(DOMAIN_KEY + limit.domain, limit.limit, limit.period)])
        return 0.0 if granted else max(wait, 0.001)

    def pace(self, rows: Iterable, address_of: Callable = lambda row: row.to_email,
             before_sleep: Callable[[], None] | None = None) -> Iterator[tuple]:
        waiting: list[tuple[float, int, object]] = []  # (ready at, order, row)
        order = 0
        pending = iter(rows)
        while True:
            row = next(pending, None)
            if row is None:
                if not waiting:
                    return
                waiting.sort(key=lambda item: (item[0], item[1]))
                ready_at, _, row = waiting.pop(0)
                delay = ready_at - time.monotonic()
                if delay > 0:
                    if before_sleep is not None:
                        before_sleep()
                    self.sleep(delay)
            wait = self.wait_for(address_of(row))
            if not wait:
                yield row, 0.0
            elif wait > self.max_wait:
                yield row, wait
            else:
                order += 1
                waiting.append((time.monotonic() + wait, order, row))
