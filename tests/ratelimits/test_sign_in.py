"""Failed sign-in throttling (A11): per account and network, per network, and an account-wide
delay that attackers spread over many networks cannot turn into a lockout. Blocked attempts
are refused before the password is checked, the same way for unknown accounts, and a block
that begins is an audit event of the account."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.test import Client

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import TEST_PASSWORD, make_membership, make_user
from tests.ratelimits.conftest import set_quotas

pytestmark = pytest.mark.django_db

HOME, ELSEWHERE, ATTACKER = "198.51.100.7", "192.0.2.50", "203.0.113.66"


@pytest.fixture(autouse=True)
def small_thresholds(settings):
    settings.PALISADE_RATELIMIT_SIGN_IN_PAIR_FAILURES = 3
    settings.PALISADE_RATELIMIT_SIGN_IN_NETWORK_FAILURES = 6
    settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_FAILURES = 10
    settings.PALISADE_RATELIMIT_SIGN_IN_BLOCK_SECONDS = 60
    settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_SECONDS = 1
    settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_MAX_SECONDS = 30
    # These tests are about failed sign-ins, not request rates.
    set_quotas(settings, "default", "1000/60")
    set_quotas(settings, "sign-in", "1000/60")


def sign_in(ip: str, email: str, password: str = TEST_PASSWORD):
    client = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=ip)
    return client.post("/accounts/login/", {"username": email, "password": password})


def wrong(ip: str, email: str):
    response = sign_in(ip, email, "not " + TEST_PASSWORD)
    return response.status_code


def blocked_events(org) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action="auth.sign_in_blocked").order_by("seq"))


def _without_numbers(response) -> str:
    return re.sub(r"\d+", "N", response.content.decode())


def test_A11_failures_block_the_account_on_that_network_only(org_a, member_of_a):
    email = member_of_a.email
    assert [wrong(ATTACKER, email) for _ in range(3)] == [200, 200, 200]
    refused = sign_in(ATTACKER, email)  # even with the right password
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert b"Too many sign-in attempts. Please try again in 60 seconds." in refused.content
    # From another network the person signs in as usual.
    assert sign_in(HOME, email).status_code == 302


def test_A11_a_blocked_attempt_is_refused_before_the_password_check(
    org_a, member_of_a, monkeypatch
):
    for _ in range(3):
        wrong(ATTACKER, member_of_a.email)
    checked = []

    def counting_check_password(password, encoded, *args, **kwargs):
        checked.append(password)
        return check_password(password, encoded, *args, **kwargs)

    monkeypatch.setattr("django.contrib.auth.base_user.check_password", counting_check_password)
    with tenant_context(org_a):
        failures_before = AuditEvent.objects.filter(action="auth.sign_in_failed").count()
    assert sign_in(ATTACKER, member_of_a.email).status_code == 429
    assert checked == []
    with tenant_context(org_a):
        assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == failures_before


def test_A11_unknown_and_known_accounts_are_throttled_alike(member_of_a):
    for email in (member_of_a.email, "nobody@alpha.example"):
        assert [wrong(ATTACKER, email) for _ in range(3)] == [200, 200, 200]
    known, unknown = sign_in(ATTACKER, member_of_a.email), sign_in(ATTACKER, "nobody@alpha.example")
    assert known.status_code == unknown.status_code == 429
    assert known["Retry-After"] == unknown["Retry-After"]
    assert _without_numbers(known) == _without_numbers(unknown)


def test_A11_the_account_is_counted_by_what_was_typed(member_of_a):
    for typed in ("ANN@alpha.example", " ann@ALPHA.example ", "ann@alpha.example"):
        wrong(ATTACKER, typed)
    assert sign_in(ATTACKER, "ann@alpha.example").status_code == 429


def test_A11_blocks_grow_with_every_further_failure(member_of_a, settings):
    settings.PALISADE_RATELIMIT_SIGN_IN_BLOCK_SECONDS = 1
    for _ in range(3):
        wrong(ATTACKER, member_of_a.email)
    first = sign_in(ATTACKER, member_of_a.email)
    assert first.status_code == 429 and first["Retry-After"] == "1"
    time.sleep(1.05)
    assert wrong(ATTACKER, member_of_a.email) == 200  # the block is over; this one fails too
    second = sign_in(ATTACKER, member_of_a.email)
    assert second.status_code == 429 and second["Retry-After"] == "2"


def test_A11_a_right_password_starts_the_pair_afresh(member_of_a):
    for _ in range(2):
        wrong(HOME, member_of_a.email)
    assert sign_in(HOME, member_of_a.email).status_code == 302
    for _ in range(2):
        wrong(HOME, member_of_a.email)
    assert sign_in(HOME, member_of_a.email).status_code == 302


def test_A11_failures_against_many_accounts_block_the_network(org_a):
    for n in range(3):
        make_membership(org_a, make_user(f"person{n}@alpha.example"))
    attempts = [wrong(ATTACKER, f"person{n % 3}@alpha.example") for n in range(6)]
    assert attempts == [200] * 6  # two per account: no pair is blocked
    refused = sign_in(ATTACKER, "person0@alpha.example")
    assert refused.status_code == 429
    assert sign_in(ATTACKER, "someone-else@alpha.example").status_code == 429
    assert sign_in(HOME, "person0@alpha.example").status_code == 302


def test_A11_attackers_on_many_networks_cannot_lock_the_person_out(org_a, member_of_a, settings):
    settings.PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_MAX_SECONDS = 2
    email = member_of_a.email
    assert sign_in(HOME, email).status_code == 302  # the person's usual network
    attackers = [f"203.0.113.{n}" for n in range(1, 31)]
    outcomes = [sign_in(ip, email, "guess") for ip in attackers for _ in range(2)]
    # Past 10 failures every attempt waits for the account-wide delay (doubling, capped).
    refused = [r for r in outcomes if r.status_code == 429]
    assert refused
    assert max(int(r["Retry-After"]) for r in refused) <= 2
    # From their usual network the person is not delayed by anyone else's failures ...
    assert sign_in(HOME, email).status_code == 302
    # ... and from a new one at most by the cap, however long the attack goes on.
    assert sign_in(ATTACKER, email, "guess").status_code in {200, 429}
    fresh = sign_in(ELSEWHERE, email)
    if fresh.status_code == 429:
        assert int(fresh["Retry-After"]) <= 2
        time.sleep(int(fresh["Retry-After"]))
        fresh = sign_in(ELSEWHERE, email)
    assert fresh.status_code == 302


def test_A11_a_block_that_begins_is_audited_in_the_accounts_organisations(org_a, member_of_a):
    for _ in range(3):
        wrong(ATTACKER, member_of_a.email)
    for _ in range(4):
        assert sign_in(ATTACKER, member_of_a.email).status_code == 429
    events = blocked_events(org_a)
    assert len(events) == 1  # the refused attempts add nothing
    assert events[0].changes == {"scope": [None, "account_network"], "seconds": [None, 60]}
    assert events[0].ip == ATTACKER
    assert events[0].actor_type == "anonymous"


def test_A11_token_mode_sign_in_is_throttled_alike_in_json(member_of_a):
    client = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=ATTACKER)

    def token_sign_in(password: str):
        body = {"email": member_of_a.email, "password": password}
        return client.post("/api/v1/auth/token/", body, content_type="application/json")

    assert [token_sign_in("guess").status_code for _ in range(3)] == [401, 401, 401]
    refused = token_sign_in(TEST_PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["code"] == "sign_in_throttled"
    assert refused["Retry-After"] == "60"
