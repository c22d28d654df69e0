"""Rate limits on (the test profile turns them off for every other test), with a key prefix of
each test's own in the test session's Redis, so tests never count each other's requests."""

from __future__ import annotations

import copy
import time
import uuid

import pytest

from ratelimits.limiter import configured_client


@pytest.fixture(autouse=True)
def rate_limits(settings) -> str:
    settings.PALISADE_RATELIMIT_ENABLED = True
    settings.PALISADE_RATELIMIT_KEY_PREFIX = f"test:{uuid.uuid4().hex}"
    return settings.PALISADE_RATELIMIT_KEY_PREFIX


def set_quotas(settings, policy: str, quotas: str, *, fail_open: bool | None = None) -> None:
    """``quotas`` as in the environment: ``"2/60,5/3600"``."""
    policies = copy.deepcopy(settings.PALISADE_RATELIMIT_POLICIES)
    policies[policy]["quotas"] = [
        tuple(int(n) for n in quota.split("/")) for quota in quotas.split(",")
    ]
    if fail_open is not None:
        policies[policy]["fail_open"] = fail_open
    settings.PALISADE_RATELIMIT_POLICIES = policies


def redis_now() -> float:
    seconds, microseconds = configured_client().time()
    return seconds + microseconds / 1_000_000


def at_window_start(seconds: int) -> None:
    """Waits for a fresh window of Redis time, so a test's requests fall in one window."""
    time.sleep(seconds - redis_now() % seconds + 0.02)
