"""A5: ten single-use recovery codes, shown once with the first second factor, stored only as
digests, each accepted once; regenerating them ends the old ones."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.second_factors.codes import recovery_code_digest
from tests.accounts.mfa_helpers import (
    browser,
    enrol_totp,
    events,
    is_signed_in,
    recovery_codes_on,
    sign_in_password,
    verify,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann_client(member_of_a):
    client = browser()
    client.force_login(member_of_a)
    return client


@pytest.fixture
def codes(ann_client):
    _, shown = enrol_totp(ann_client)
    return shown


def _stored_digests(user) -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.digest FROM accounts_recovery_code c "
            "JOIN accounts_recovery_code_device d ON d.id = c.device_id WHERE d.user_id = %s",
            [user.pk],
        )
        return [bytes(row[0]) for row in cursor.fetchall()]


def _sign_in_with(user, code: str):
    client = browser()
    sign_in_password(client, user.email)
    return client, verify(client, "recovery_code", code)


def test_A5_ten_codes_are_shown_once_and_stored_only_as_digests(member_of_a, ann_client, codes):
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 19 for code in codes)  # xxxx-xxxx-xxxx-xxxx: 80 random bits
    stored = _stored_digests(member_of_a)
    assert sorted(stored) == sorted(recovery_code_digest(code) for code in codes)
    for code in codes:
        plain = code.replace("-", "").encode()
        assert all(plain not in digest and code.encode() not in digest for digest in stored)
    overview = ann_client.get("/account/security/").content.decode()
    assert "10 of 10 left" in overview
    assert not any(code in overview for code in codes)  # never shown again


def test_A5_a_recovery_code_signs_in_once_only(org_a, member_of_a, ann_client, codes):
    client, used = _sign_in_with(member_of_a, codes[0])
    assert used["Location"] == "/orgs/"
    assert is_signed_in(client)
    assert events(org_a, "auth.signed_in")[-1].changes == {"second_factor": [None, "recovery_code"]}
    assert "9 of 10 left" in ann_client.get("/account/security/").content.decode()

    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        again, refused = _sign_in_with(member_of_a, codes[0])
    assert refused.status_code == 400
    assert not is_signed_in(again)
    assert events(org_a, "auth.second_factor_failed")[-1].changes["method"] == [
        None,
        "recovery_code",
    ]


def test_A5_codes_are_accepted_whatever_their_case_spacing_or_hyphens(member_of_a, codes):
    typed = codes[1].replace("-", " ").upper()
    _, used = _sign_in_with(member_of_a, typed)
    assert used.status_code == 302


def test_A5_regenerating_ends_the_old_codes(org_a, member_of_a, ann_client, codes):
    response = ann_client.post("/account/security/recovery-codes/")
    assert response.status_code == 200
    fresh = recovery_codes_on(response)
    assert "Your earlier recovery codes no longer work" in response.content.decode()
    assert len(fresh) == 10 and not set(fresh) & set(codes)

    _, old = _sign_in_with(member_of_a, codes[2])
    assert old.status_code == 400
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        _, new = _sign_in_with(member_of_a, fresh[0])
    assert new.status_code == 302
    generated = events(org_a, "second_factor.recovery_codes_generated")
    assert [e.changes for e in generated] == [{"count": [None, 10]}] * 2


def test_A5_regenerating_needs_a_session_verified_by_a_second_factor(member_of_a, codes):
    password_only = browser()
    password_only.force_login(member_of_a)  # signed in, never verified by a second factor
    response = password_only.post("/account/security/recovery-codes/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/security/verify/?next=")
    assert sorted(_stored_digests(member_of_a)) == sorted(recovery_code_digest(c) for c in codes)
