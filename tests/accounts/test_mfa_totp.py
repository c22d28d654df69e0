"""A4 and E3: the authenticator app. Enrolled through the pages (QR code and typed key, the
codes computed by pyotp from the provisioning URI), confirmed by a first code, then asked for
at every sign-in; a code is accepted once; the secret is encrypted under the person's own
data key and unreadable in the database; django-otp works with the device."""

import base64
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_otp import devices_for_user, match_token
from django_otp.models import Device

from accounts.models import RecoveryCodeDevice, TOTPDevice
from keys.fields import Unreadable, UnreadableValue
from keys.services import user_key_shred
from tests.accounts.mfa_helpers import (
    SECOND_FACTOR_PAGE,
    browser,
    enrol_totp,
    events,
    is_signed_in,
    next_step_code,
    provisioning_uri,
    sign_in_password,
    verify,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann_client(member_of_a):
    client = browser()
    client.force_login(member_of_a)
    return client


def _stored_key(device_pk: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totp_device WHERE id = %s", [device_pk])
        return bytes(cursor.fetchone()[0])


def test_A4_enrol_with_the_qr_code_confirm_and_sign_in_with_the_app(org_a, member_of_a, ann_client):
    assert (
        "Set up the authenticator app" in ann_client.get("/account/security/totp/").content.decode()
    )
    ann_client.post("/account/security/totp/", {"action": "start"})
    page = ann_client.get("/account/security/totp/")
    text = page.content.decode()
    assert "<svg" in text and "<title>QR code</title>" in text  # drawn here, not fetched
    uri = provisioning_uri(page)
    app = pyotp.parse_uri(uri)
    assert uri.startswith("otpauth://totp/Palisade:ann@alpha.example?")
    assert (app.issuer, app.name, app.digits, app.interval) == (
        "Palisade",
        member_of_a.email,
        6,
        30,
    )
    manual_key = re.search(r'id="totp-manual-key"[^>]*>([A-Z2-7 ]+)<', text).group(1)
    assert manual_key.replace(" ", "") == app.secret

    refused = ann_client.post("/account/security/totp/", {"action": "confirm", "code": "123456"})
    assert refused.status_code == 400
    assert not TOTPDevice.objects.get(user=member_of_a).confirmed
    confirmed_at = timezone.now() + timedelta(seconds=2)  # past the back-off
    with time_machine.travel(confirmed_at, tick=False):
        confirmed = ann_client.post(
            "/account/security/totp/", {"action": "confirm", "code": app.now()}
        )
    assert confirmed.status_code == 200
    assert "Your recovery codes" in confirmed.content.decode()
    [enrolled] = events(org_a, "second_factor.enrolled")
    assert (enrolled.entity_type, enrolled.changes) == (
        "accounts.totpdevice",
        {"method": [None, "totp"]},
    )

    ann_client.post("/accounts/logout/")
    client = browser()
    # One step after the confirming code, on a pinned clock: "the next step from now" would
    # be the confirming code's own (spent) step whenever the 2 s above crossed a boundary.
    with time_machine.travel(confirmed_at + timedelta(seconds=app.interval), tick=False):
        assert sign_in_password(client, member_of_a.email)["Location"] == SECOND_FACTOR_PAGE
        assert verify(client, "totp", app.now())["Location"] == "/orgs/"
        assert is_signed_in(client)


def test_A4_a_code_is_accepted_once_even_within_its_own_step(org_a, member_of_a, ann_client):
    app, _ = enrol_totp(ann_client)
    code = next_step_code(app)
    first = browser()
    sign_in_password(first, member_of_a.email)
    assert verify(first, "totp", code).status_code == 302

    second = browser()
    sign_in_password(second, member_of_a.email)
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        reused = verify(second, "totp", code)
    assert reused.status_code == 400
    assert "That code is not valid" in reused.content.decode()
    assert not is_signed_in(second)
    [failure] = events(org_a, "auth.second_factor_failed")
    assert failure.changes["reason"] == [None, "wrong_code"]


def test_A4_codes_outside_one_step_of_tolerance_are_refused(member_of_a, ann_client):
    app, _ = enrol_totp(ann_client)
    now = timezone.now()
    for attempt, offset in enumerate((-95, 95)):
        # Ten seconds apart, so the second is not refused merely by the first's back-off.
        with time_machine.travel(now + timedelta(seconds=200 + 10 * attempt), tick=False):
            client = browser()
            sign_in_password(client, member_of_a.email)
            stale = app.at(timezone.now().timestamp() + offset)
            assert verify(client, "totp", stale).status_code == 400


def test_A4_wrong_codes_make_the_device_back_off(member_of_a, ann_client):
    app, _ = enrol_totp(ann_client)
    client = browser()
    sign_in_password(client, member_of_a.email)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert verify(client, "totp", "000000").status_code == 400
        throttled = verify(client, "totp", next_step_code(app))
        assert "Too many wrong codes" in throttled.content.decode()
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        assert verify(client, "totp", next_step_code(app)).status_code == 302


def test_A4_only_one_app_at_a_time_and_an_unfinished_enrolment_is_replaced(member_of_a, ann_client):
    ann_client.post("/account/security/totp/", {"action": "start"})
    ann_client.post("/account/security/totp/", {"action": "start"})
    assert TOTPDevice.objects.filter(user=member_of_a).count() == 1
    enrol_totp(ann_client)
    again = ann_client.post("/account/security/totp/", {"action": "start"})
    assert again.status_code == 400
    assert "already set up" in again.content.decode()


def test_E3_the_totp_secret_is_unreadable_in_the_database(member_of_a, ann_client):
    app, _ = enrol_totp(ann_client)
    device = TOTPDevice.objects.get(user=member_of_a)
    raw = _stored_key(device.pk)
    secret = base64.b32decode(app.secret)
    for form in (secret, secret.hex().encode(), app.secret.encode()):
        assert form not in raw
    assert raw[0] == 1 and int.from_bytes(raw[1:5], "big") == 1  # format 1, key version 1
    assert len(raw) == 1 + 4 + 12 + len(secret.hex()) + 16
    assert device.key == secret.hex()  # and the model reads it back


def test_E3_a_secret_copied_to_another_persons_device_fails_its_integrity_check(member_of_a):
    """Ann's ciphertext in Bob's row: another row and another person's key (the binding of
    person and row is also checked value by value in tests/keys/test_subject_keys.py)."""
    bob = make_user("bob@alpha.example")
    for user in (member_of_a, bob):
        client = browser()
        client.force_login(user)
        enrol_totp(client)
    ann_device, bob_device = (TOTPDevice.objects.get(user=u) for u in (member_of_a, bob))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_totp_device SET key = %s WHERE id = %s",
            [_stored_key(ann_device.pk), bob_device.pk],
        )
    moved = TOTPDevice.objects.get(pk=bob_device.pk)
    assert isinstance(moved.key, UnreadableValue)
    assert moved.key.reason == Unreadable.INTEGRITY
    assert not moved.verify_token("000000")


def test_E6_shredding_a_persons_key_makes_their_totp_secret_unreadable(member_of_a, ann_client):
    app, _ = enrol_totp(ann_client)
    user_key_shred(user=member_of_a)

    key = TOTPDevice.objects.get(user=member_of_a).key
    assert key.reason == Unreadable.SUBJECT_KEY_DESTROYED
    assert str(key) == "[unreadable: this person's encryption key was destroyed]"
    client = browser()
    sign_in_password(client, member_of_a.email)
    assert verify(client, "totp", next_step_code(app)).status_code == 400


def test_A4_django_otp_finds_and_verifies_the_devices(member_of_a, ann_client):
    app, _ = enrol_totp(ann_client)
    devices = list(devices_for_user(member_of_a))
    assert {type(d) for d in devices} == {TOTPDevice, RecoveryCodeDevice}
    device = match_token(member_of_a, next_step_code(app))
    assert isinstance(device, TOTPDevice)
    assert Device.from_persistent_id(device.persistent_id) == device
    assert match_token(member_of_a, "000000") is None
