"""Failed sign-in throttling (A11), per account and client network.

Failures are counted three ways, each forgotten ``PALISADE_RATELIMIT_SIGN_IN_WINDOW_SECONDS``
after its last failure:

- per account and network (5 by default): then that pair is blocked for a minute, doubling
  with every further failure up to the window (15 minutes);
- per network, whatever the account (50): the same blocks, for the whole network;
- per account, whatever the network (20): only a short delay (1 second, doubling, at most 30
  seconds) between attempts, and none at all from a network the account has signed in from in
  the last 30 days. Attackers spread over many networks cannot lock the person out: from their
  usual network they are never delayed by others' failures, and from a new one by at most
  the cap.

Accounts are counted by what was typed (a keyed hash of it, so Redis holds no addresses),
never by whether such an account exists: an unknown email is throttled exactly like a real
one and nothing tells them apart. A blocked attempt is refused before the password is
checked, so it neither costs a hash nor counts as a failure.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from ratelimits.limiter import configured_client, outage_log
from ratelimits.policies import client_network

SCOPES = ("account_network", "network", "account")


class SignInThrottled(Exception):
    """The attempt is refused before its password is checked."""

    def __init__(self, scope: str, retry_after_ms: int) -> None:
        super().__init__(f"sign-in throttled ({scope}) for {retry_after_ms} ms")
        self.scope = scope
        self.retry_after_ms = retry_after_ms


class SignInUnavailable(Exception):
    """Redis cannot be asked and sign-in fails closed (A11)."""


# KEYS: account+network, network, account, the account's known network. Returns the scope
# that blocks (1-3 as KEYS, 0 for none) and how long it still does (ms).
CHECK_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local checked = 3
if redis.call('EXISTS', KEYS[4]) == 1 then checked = 2 end
local scope, wait = 0, 0
for i = 1, checked do
  local blocked_until = tonumber(redis.call('HGET', KEYS[i], 'until') or 0)
  if blocked_until - now > wait then scope, wait = i, blocked_until - now end
end
return {scope, wait}
"""

# KEYS: account+network, network, account. ARGV: the window (ms), then per key the failures
# allowed, the first block and the longest block (ms). Returns the block this failure starts
# per key (ms, 0 for none).
FAILED_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[1])
local blocks = {}
for i, key in ipairs(KEYS) do
  local allowed = tonumber(ARGV[3 * i - 1])
  local first, longest = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local failures = redis.call('HINCRBY', key, 'n', 1)
  local block = 0
  if failures >= allowed then
    block = math.min(first * 2 ^ (failures - allowed), longest)
    redis.call('HSET', key, 'until', now + block)
  end
  redis.call('PEXPIRE', key, math.max(window, block))
  blocks[i] = block
end
return blocks
"""


@dataclass(frozen=True)
class Attempt:
    account: str
    network: str

    @classmethod
    def of(cls, request: HttpRequest | None, identifier: str) -> Attempt:
        typed = unicodedata.normalize("NFKC", identifier).strip().lower()
        account = salted_hmac("ratelimits.sign_in.account", typed, algorithm="sha256")
        network = client_network(request) if request is not None else "unknown"
        return cls(account=account.hexdigest()[:32], network=network)


@dataclass(frozen=True)
class Block:
    scope: str
    milliseconds: int


class SignInThrottle:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}:sign-in"
        self._check = client.register_script(CHECK_SCRIPT)
        self._failed = client.register_script(FAILED_SCRIPT)

    def _keys(self, attempt: Attempt) -> list[str]:
        return [
            f"{self.prefix}:pair:{attempt.account}:{attempt.network}",
            f"{self.prefix}:net:{attempt.network}",
            f"{self.prefix}:account:{attempt.account}",
        ]

    def _known_key(self, attempt: Attempt) -> str:
        return f"{self.prefix}:known:{attempt.account}:{attempt.network}"

    def check(self, attempt: Attempt) -> None:
        """Raises SignInThrottled while the attempt is blocked."""
        try:
            scope, wait = self._check(keys=[*self._keys(attempt), self._known_key(attempt)])
        except redis.RedisError as error:
            raise outage_log(self.client).unavailable(error) from error
        if scope:
            raise SignInThrottled(SCOPES[scope - 1], wait)

    def failed(self, attempt: Attempt) -> list[Block]:
        """Counts a failure; the blocks it starts."""
        window = settings.PALISADE_RATELIMIT_SIGN_IN_WINDOW_SECONDS * 1000
        block = settings.PALISADE_RATELIMIT_SIGN_IN_BLOCK_SECONDS * 1000
        delay = settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_SECONDS * 1000
        args = [
            window,
            settings.PALISADE_RATELIMIT_SIGN_IN_PAIR_FAILURES, block, window,
            settings.PALISADE_RATELIMIT_SIGN_IN_NETWORK_FAILURES, block, window,
            settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_FAILURES, delay,
            settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_MAX_SECONDS * 1000,
        ]  # fmt: skip
        try:
            blocks = self._failed(keys=self._keys(attempt), args=args)
        except redis.RedisError as error:
            raise outage_log(self.client).unavailable(error) from error
        return [Block(scope, ms) for scope, ms in zip(SCOPES, blocks, strict=True) if ms]

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the pair starts afresh, and the network becomes one the
        account is known from (exempt from the account-wide delay). Network and account
        counts stay: a success of one's own account must not wipe failures against others."""
        days = settings.PALISADE_RATELIMIT_SIGN_IN_KNOWN_NETWORK_DAYS
        pipeline = self.client.pipeline()
        pipeline.delete(self._keys(attempt)[0])
        pipeline.set(self._known_key(attempt), 1, ex=days * 86400)
        try:
            pipeline.execute()
        except redis.RedisError as error:
            raise outage_log(self.client).unavailable(error) from error


@cache
def _sign_in_throttle(client: redis.Redis, prefix: str) -> SignInThrottle:
    return SignInThrottle(client, prefix)


def sign_in_throttle() -> SignInThrottle:
    return _sign_in_throttle(configured_client(), settings.PALISADE_RATELIMIT_KEY_PREFIX)
