"""A3 and E3: email codes as a second factor. Turned on by entering a first emailed code; at
sign-in a code is sent on request, accepted once and only for ten minutes; the code is kept
encrypted under the person's data key."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.accounts.mfa_helpers import (
    SECOND_FACTOR_PAGE,
    browser,
    events,
    is_signed_in,
    recovery_codes_on,
    sign_in_password,
    verify,
)

pytestmark = pytest.mark.django_db


def _last_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Runs a request and delivers the mail its transaction queued."""

    def request(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return request


@pytest.fixture
def email_on(member_of_a, send):
    """Ann turns email codes on through the pages."""
    client = browser()
    client.force_login(member_of_a)
    sent = send(lambda: client.post("/account/security/email/", {"action": "start"}))
    assert "We sent a code to a***@alpha.example" in sent.content.decode()
    confirmed = client.post("/account/security/email/", {"action": "confirm", "code": _last_code()})
    assert confirmed.status_code == 200
    return recovery_codes_on(confirmed)


def _send_sign_in_code(client, send):
    return send(lambda: client.post(SECOND_FACTOR_PAGE, {"method": "email_send"}))


def test_A3_turn_on_email_codes_and_sign_in_with_one(org_a, member_of_a, email_on, send):
    assert len(email_on) == 10  # a first factor comes with recovery codes
    assert mail.outbox[0].to == [member_of_a.email]
    [enrolled] = events(org_a, "second_factor.enrolled")
    assert enrolled.changes == {"method": [None, "email"]}

    client = browser()
    sign_in_password(client, member_of_a.email)
    page = client.get(SECOND_FACTOR_PAGE).content.decode()
    assert "Email me a code" in page and "a***@alpha.example" in page
    sent = _send_sign_in_code(client, send)
    assert "We sent a code to a***@alpha.example" in sent.content.decode()
    assert "Your Palisade sign-in code" in mail.outbox[-1].subject

    assert verify(client, "email", _last_code())["Location"] == "/orgs/"
    assert is_signed_in(client)
    assert events(org_a, "auth.signed_in")[-1].changes == {"second_factor": [None, "email"]}


def test_A3_an_email_code_works_once(member_of_a, email_on, send):
    client = browser()
    sign_in_password(client, member_of_a.email)
    _send_sign_in_code(client, send)
    code = _last_code()
    assert verify(client, "email", code).status_code == 302

    again = browser()
    sign_in_password(again, member_of_a.email)
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        assert verify(again, "email", code).status_code == 400
    assert not is_signed_in(again)


def test_A3_an_email_code_expires_after_ten_minutes(org_a, member_of_a, email_on, send):
    """Checked through a step-up: a pending sign-in itself lasts only five minutes."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = browser()
        client.force_login(member_of_a)
        send(lambda: client.post("/account/security/verify/", {"method": "email_send"}))
        code = _last_code()
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        refused = client.post("/account/security/verify/", {"method": "email", "code": code})
    assert refused.status_code == 400
    assert "That code is not valid" in refused.content.decode()
    [failure] = events(org_a, "auth.second_factor_failed")
    assert failure.changes["method"] == [None, "email"]
    assert failure.changes["purpose"] == [None, "step_up"]
    assert failure.actor_id == str(member_of_a.pk)


def test_A3_codes_are_not_sent_again_within_the_cooldown(member_of_a, email_on, send):
    client = browser()
    sign_in_password(client, member_of_a.email)
    sent_before = len(mail.outbox)
    _send_sign_in_code(client, send)
    second = _send_sign_in_code(client, send)
    assert second.status_code == 400
    assert "A code was sent moments ago" in second.content.decode()
    assert len(mail.outbox) == sent_before + 1


def test_E3_the_emailed_code_is_stored_encrypted(member_of_a, email_on, send):
    client = browser()
    sign_in_password(client, member_of_a.email)
    _send_sign_in_code(client, send)
    code = _last_code()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code FROM accounts_email_otp_device WHERE user_id = %s", [member_of_a.pk]
        )
        raw = bytes(cursor.fetchone()[0])
    assert code.encode() not in raw
    assert len(raw) == 1 + 4 + 12 + len(code) + 16
