"""Sending rate shared by every worker: two Redis token buckets (per second
and per hour) taken atomically by one Lua script.

``take(redis, n, per_second, per_hour)`` grants up to ``n`` messages now and
says how long to wait when it grants none. Workers take a few tokens at a
time so the limit costs one Redis round trip per handful of messages.
"""
from __future__ import annotations

# KEYS: second bucket, hour bucket. ARGV: wanted, rate/s, rate/h (0 = unlimited)
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wanted = tonumber(ARGV[1])
local grant = wanted
local wait = 0
local buckets = {}
for i, spec in ipairs({{KEYS[1], tonumber(ARGV[2]), 1}, {KEYS[2], tonumber(ARGV[3]), 3600}}) do
  local key, limit, period = spec[1], spec[2], spec[3]
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
  redis.call('EXPIRE', b[1], b[3] * 2)
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
    granted, wait = redis.eval(_SCRIPT, 2, *KEYS, wanted, int(per_second or 0), int(per_hour or 0))
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
