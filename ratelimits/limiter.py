"""Several fixed-window quotas over several buckets, checked and counted in one Redis round
trip (A11).

A request names its counters (one per bucket and window). ``LIMIT_SCRIPT`` reads them all
and counts the request in every one of them only if none is full, so a refused request uses
no quota; Redis runs a script atomically, so parallel requests in any number of processes
never get more through than a quota allows. Time is Redis's own clock (``TIME``): every app
process agrees where a window starts, whatever its own clock says.

Windows are fixed: a quota of L per W seconds admits at most L requests in each interval
``[k*W, (k+1)*W)`` of Redis time. Across a boundary up to 2L can pass within W seconds; the
shorter windows of the same policy bound such bursts (3 per second caps any minute at 180).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)
OUTAGE_LOG_SECONDS = 10.0


class RateLimiterUnavailable(Exception):
    """Redis could not be asked. Each policy decides whether its requests then pass (A11)."""


class OutageLog:
    """Logs that Redis cannot be asked at most every OUTAGE_LOG_SECONDS per process: under
    load an outage must not turn every request into a log line."""

    def __init__(self) -> None:
        self._logged_at = -math.inf

    def unavailable(self, error: redis.RedisError) -> RateLimiterUnavailable:
        now = time.monotonic()
        if now - self._logged_at >= OUTAGE_LOG_SECONDS:
            self._logged_at = now
            logger.error(
                "Rate-limit store unreachable: requests under fail-open policies pass, the "
                "others are refused (logged at most every %.0f s): %s",
                OUTAGE_LOG_SECONDS,
                error,
            )
        return RateLimiterUnavailable(str(error))


@cache
def outage_log(client: redis.Redis) -> OutageLog:
    return OutageLog()


@dataclass(frozen=True)
class Quota:
    limit: int
    seconds: int


@dataclass(frozen=True)
class Counter:
    """One window of one bucket: ``key`` names the bucket (who is counted, under which
    policy), the window length is appended to it."""

    key: str
    quota: Quota


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # When refused: until every full window has rolled over, the earliest the request passes.
    retry_after_ms: int
    # The window closest to refusing (fewest requests left, then the longest to wait), which
    # the RateLimit headers describe.
    tightest: Quota
    remaining: int
    reset_ms: int


# KEYS: one hash {w: window index, n: count} per counter. ARGV: limit and window (ms) per key.
# Returns allowed (1/0), the wait until every full window has rolled over (ms), and the
# tightest window: its position in KEYS (from 1), requests left in it, time to its end (ms).
LIMIT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local indexes, counts, resets = {}, {}, {}
local allowed, retry = 1, 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local index = math.floor(now / window)
  local state = redis.call('HMGET', key, 'w', 'n')
  local count = 0
  if tonumber(state[1]) == index then count = tonumber(state[2]) end
  indexes[i], counts[i], resets[i] = index, count, (index + 1) * window - now
  if count >= limit then
    allowed = 0
    retry = math.max(retry, resets[i])
  end
end
local tightest, fewest, longest = 1, math.huge, 0
for i, key in ipairs(KEYS) do
  if allowed == 1 then
    counts[i] = counts[i] + 1
    redis.call('HSET', key, 'w', indexes[i], 'n', counts[i])
    redis.call('PEXPIRE', key, resets[i])
  end
  local left = math.max(0, tonumber(ARGV[2 * i - 1]) - counts[i])
  if left < fewest or (left == fewest and resets[i] > longest) then
    tightest, fewest, longest = i, left, resets[i]
  end
end
return {allowed, retry, tightest, fewest, longest}
"""


@cache
def redis_client(url: str, timeout: float) -> redis.Redis:
    """One client (and connection pool) per process. Short timeouts bound what a hung Redis
    adds to a request; one immediate retry replaces a pooled connection Redis has closed."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


def configured_client() -> redis.Redis:
    return redis_client(settings.REDIS_URL, settings.PALISADE_RATELIMIT_REDIS_TIMEOUT_SECONDS)


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._limit = client.register_script(LIMIT_SCRIPT)

    def hit(self, counters: Sequence[Counter]) -> Decision:
        """Counts one request in every counter, or in none if one of them is full."""
        keys = [f"{self.prefix}:{c.key}:{c.quota.seconds}" for c in counters]
        args = [n for c in counters for n in (c.quota.limit, c.quota.seconds * 1000)]
        try:
            allowed, retry_after_ms, tightest, remaining, reset_ms = self._limit(
                keys=keys, args=args
            )
        except redis.RedisError as error:
            raise outage_log(self._limit.registered_client).unavailable(error) from error
        return Decision(
            allowed=allowed == 1,
            retry_after_ms=retry_after_ms,
            tightest=counters[tightest - 1].quota,
            remaining=remaining,
            reset_ms=reset_ms,
        )


@cache
def _rate_limiter(client: redis.Redis, prefix: str) -> RateLimiter:
    return RateLimiter(client, prefix)


def rate_limiter() -> RateLimiter:
    """The limiter the settings describe (tests give each test its own key prefix)."""
    return _rate_limiter(configured_client(), settings.PALISADE_RATELIMIT_KEY_PREFIX)
