"""A4, A7: second factors are the person's own to manage under /account/security/. Removing
one needs a second factor verified in the last few minutes; that step-up gives the session a
new key; adding one needs a session verified by a factor the person already has. Every change
is an audit event in each of the person's organisations."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import RecoveryCodeDevice, TOTPDevice
from tests.accounts.mfa_helpers import (
    browser,
    enrol_totp,
    events,
    next_step_code,
    sign_in_password,
    verify,
)
from tests.factories import make_membership, make_user

pytestmark = pytest.mark.django_db

STEP_UP = "/account/security/verify/"


@pytest.fixture
def signed_in_with_app(member_of_a):
    """Ann enrolled an app, then signed in with it: a session verified moments ago."""
    setup = browser()
    setup.force_login(member_of_a)
    app, _ = enrol_totp(setup)
    client = browser()
    sign_in_password(client, member_of_a.email)
    assert verify(client, "totp", next_step_code(app)).status_code == 302
    client.app = app
    return client


def _remove_url(device) -> str:
    return f"/account/security/remove/totp/{device.pk}/"


def test_A4_removing_a_factor_needs_a_recent_second_factor(org_a, member_of_a, signed_in_with_app):
    client = signed_in_with_app
    device = TOTPDevice.objects.get(user=member_of_a)
    later = timezone.now() + timedelta(seconds=settings.PALISADE_STEP_UP_SECONDS + 60)
    with time_machine.travel(later, tick=False):
        refused = client.post(_remove_url(device))
        assert refused.status_code == 302
        assert refused["Location"] == f"{STEP_UP}?next=%2Faccount%2Fsecurity%2F"
        assert TOTPDevice.objects.filter(pk=device.pk).exists()

        key_before = client.cookies[settings.SESSION_COOKIE_NAME].value
        stepped_up = client.post(STEP_UP, {"method": "totp", "code": client.app.now()})
        assert stepped_up["Location"] == "/account/security/"
        # A7: a new session key for the privilege the step-up gives.
        assert client.cookies[settings.SESSION_COOKIE_NAME].value != key_before

        removed = client.post(_remove_url(device))
        assert removed["Location"] == "/account/security/"
    assert not TOTPDevice.objects.filter(user=member_of_a).exists()
    # Recovery codes only stand in for a factor: they go with the last one.
    assert not RecoveryCodeDevice.objects.filter(user=member_of_a).exists()
    [stepped] = events(org_a, "auth.stepped_up")
    assert stepped.changes == {"method": [None, "totp"]}
    removals = events(org_a, "second_factor.removed")
    assert [e.changes["method"][1] for e in removals] == ["totp", "recovery_code"]
    assert removals[0].entity_id == str(device.pk)


def test_A4_a_fresh_sign_in_with_a_second_factor_counts_as_recent(member_of_a, signed_in_with_app):
    device = TOTPDevice.objects.get(user=member_of_a)
    assert signed_in_with_app.post(_remove_url(device))["Location"] == "/account/security/"
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_A4_a_wrong_code_at_step_up_is_refused_and_recorded(org_a, member_of_a, signed_in_with_app):
    refused = signed_in_with_app.post(STEP_UP, {"method": "totp", "code": "000000"})
    assert refused.status_code == 400
    [failure] = events(org_a, "auth.second_factor_failed")
    assert failure.changes["purpose"] == [None, "step_up"]
    assert failure.actor_type == "user"


def test_A4_another_persons_device_cannot_be_removed(member_of_a, signed_in_with_app):
    bob = make_user("bob@alpha.example")
    bob_client = browser()
    bob_client.force_login(bob)
    enrol_totp(bob_client)
    bob_device = TOTPDevice.objects.get(user=bob)
    assert signed_in_with_app.post(_remove_url(bob_device)).status_code == 404
    assert TOTPDevice.objects.filter(pk=bob_device.pk).exists()


def test_A4_adding_a_factor_from_a_session_not_verified_by_one_needs_a_step_up(member_of_a):
    earlier = browser()
    earlier.force_login(member_of_a)  # signed in before Ann had any second factor
    elsewhere = browser()
    elsewhere.force_login(member_of_a)
    enrol_totp(elsewhere)

    response = earlier.get("/account/security/email/")
    assert response.status_code == 302
    assert response["Location"] == f"{STEP_UP}?next=%2Faccount%2Fsecurity%2Femail%2F"
    options = earlier.post("/account/security/passkeys/options/", content_type="application/json")
    assert options.status_code == 403
    assert options.json()["code"] == "step_up_required"


def test_A4_changes_are_recorded_in_each_of_the_persons_organisations(org_a, org_b, member_of_a):
    make_membership(org_b, member_of_a)
    client = browser()
    client.force_login(member_of_a)
    enrol_totp(client)
    for organization in (org_a, org_b):
        [enrolled] = events(organization, "second_factor.enrolled")
        assert enrolled.actor_id == str(member_of_a.pk)
        assert enrolled.entity_type == "accounts.totpdevice"
        assert "key" not in enrolled.changes  # names the device, never a secret
