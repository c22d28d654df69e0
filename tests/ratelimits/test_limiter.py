"""The Lua limiter against the test session's real Redis (A11): several windows and buckets
in one atomic round trip, refusals that use no quota, windows of Redis time that roll over."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis.connection

from ratelimits.limiter import (
    Counter,
    Quota,
    RateLimiter,
    RateLimiterUnavailable,
    configured_client,
    redis_client,
)
from tests.processes import free_port
from tests.ratelimits.conftest import at_window_start

DAY = 86400


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(configured_client(), f"test:{uuid.uuid4().hex}")


def test_A11_every_window_counts_and_the_fullest_refuses(limiter):
    counters = [Counter("user:1", Quota(5, DAY)), Counter("user:1", Quota(3, DAY - 1))]
    first, second, third, fourth = (limiter.hit(counters) for _ in range(4))
    assert [d.allowed for d in (first, second, third, fourth)] == [True, True, True, False]
    # The tightest window is the one with the fewest requests left, not the smallest limit.
    assert (first.tightest, first.remaining) == (Quota(3, DAY - 1), 2)
    assert (fourth.tightest, fourth.remaining) == (Quota(3, DAY - 1), 0)
    assert 0 < fourth.retry_after_ms == fourth.reset_ms <= (DAY - 1) * 1000
    assert limiter.hit([counters[0]]).remaining == 1  # 3 counted there, and now a fourth


def test_A11_a_refused_request_uses_no_quota_in_any_bucket(limiter):
    strict, roomy = Counter("strict", Quota(1, DAY)), Counter("roomy", Quota(3, DAY))
    assert limiter.hit([strict, roomy]).allowed
    for _ in range(5):
        assert not limiter.hit([strict, roomy]).allowed
    # Only the first request counted in the roomy bucket: two more fit, not zero.
    assert [limiter.hit([roomy]).allowed for _ in range(3)] == [True, True, False]


def test_A11_buckets_are_independent(limiter):
    alpha, bravo = (
        Counter("user:1:org:alpha", Quota(1, DAY)),
        Counter("user:1:org:bravo", Quota(1, DAY)),
    )
    assert limiter.hit([alpha]).allowed
    assert not limiter.hit([alpha]).allowed
    assert limiter.hit([bravo]).allowed


def test_A11_windows_roll_over_and_retry_after_is_the_moment_it_passes(limiter):
    counters = [Counter("net:203.0.113.7", Quota(2, 1)), Counter("net:203.0.113.7", Quota(3, 2))]
    at_window_start(2)
    assert [limiter.hit(counters).allowed for _ in range(3)] == [True, True, False]
    refused = limiter.hit(counters)
    # The 1 s window is full (the 2 s one holds 2 of 3): the wait is what is left of it.
    assert 0 < refused.retry_after_ms <= 1000
    time.sleep(refused.retry_after_ms / 1000)
    passed = limiter.hit(counters)
    assert passed.allowed
    # That used the 2 s window's third and last place: now it decides, up to its own end.
    refused = limiter.hit(counters)
    assert not refused.allowed
    assert (refused.tightest, refused.remaining) == (Quota(3, 2), 0)
    assert refused.retry_after_ms == refused.reset_ms


def test_A11_parallel_requests_never_exceed_the_quota(limiter):
    counters = [Counter("user:7", Quota(50, DAY)), Counter("user:7:all", Quota(200, DAY))]

    def burst(_: int) -> int:
        return sum(limiter.hit(counters).allowed for _ in range(20))

    with ThreadPoolExecutor(max_workers=16) as pool:
        allowed = sum(pool.map(burst, range(16)))
    assert allowed == 50


def test_A11_one_round_trip_per_request(limiter, monkeypatch):
    counters = [Counter(f"user:{n}", Quota(100, DAY)) for n in range(6)]
    limiter.hit(counters)  # connection set up and script loaded
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    limiter.hit(counters)
    assert len(sent) == 1
    assert b"EVALSHA" in b"".join(sent[0])


def test_A11_script_reloads_after_redis_forgets_it(limiter):
    client = configured_client()
    client.script_flush()
    assert limiter.hit([Counter("user:1", Quota(1, DAY))]).allowed


def test_A11_unreachable_redis_is_reported_not_raised_raw():
    closed = RateLimiter(redis_client(f"redis://127.0.0.1:{free_port()}/0", 0.25), "test")
    with pytest.raises(RateLimiterUnavailable):
        closed.hit([Counter("user:1", Quota(1, 1))])
