"""A6: passkeys, registered and used with a software authenticator (soft-webauthn) through
the same JSON endpoints as the pages' script. An assertion is checked against a challenge the
session holds once: a replayed assertion, a signature counter that went backwards or somebody
else's passkey is refused, said clearly, and recorded."""

import re

import pytest
from django.contrib.staticfiles import finders
from django_otp_webauthn.models import WebAuthnCredential

from tests.accounts.mfa_helpers import (
    SECOND_FACTOR_PAGE,
    SoftPasskey,
    browser,
    events,
    is_signed_in,
    sign_in_password,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db

OPTIONS = "/accounts/login/passkey/options/"
VERIFY = "/accounts/login/passkey/verify/"


@pytest.fixture
def passkey(member_of_a):
    """Ann registers a passkey (her first factor) from a signed-in session."""
    client = browser()
    client.force_login(member_of_a)
    key = SoftPasskey()
    response = key.register(client, name="Ann's laptop")
    assert response.status_code == 200, response.content
    key.registration = response.json()
    return key


def _pending_sign_in(user):
    client = browser()
    assert sign_in_password(client, user.email)["Location"] == SECOND_FACTOR_PAGE
    return client


def test_A6_register_a_passkey_then_sign_in_with_it(org_a, member_of_a, passkey):
    assert len(passkey.registration["recovery_codes"]) == 10  # shown once, by the script
    credential = WebAuthnCredential.objects.get(user=member_of_a)
    assert (credential.name, credential.confirmed) == ("Ann's laptop", True)
    [enrolled] = events(org_a, "second_factor.enrolled")
    assert enrolled.changes == {"method": [None, "passkey"]}

    client = _pending_sign_in(member_of_a)
    page = client.get(SECOND_FACTOR_PAGE).content.decode()
    assert 'id="passkey-button"' in page
    pending_key = client.cookies["sessionid"].value
    options = passkey.options(client, OPTIONS)
    assert options["rpId"] == "app.localhost"
    assert [c["id"] for c in options["allowCredentials"]]  # only after the password
    response = passkey.send(client, VERIFY, passkey.assertion(options))

    assert response.status_code == 200, response.content
    assert response.json() == {"redirect": "/orgs/"}
    assert client.cookies["sessionid"].value != pending_key
    assert is_signed_in(client)
    assert events(org_a, "auth.signed_in")[-1].changes == {"second_factor": [None, "passkey"]}


def test_A6_a_replayed_assertion_is_refused(org_a, member_of_a, passkey):
    client = _pending_sign_in(member_of_a)
    captured = passkey.assertion(passkey.options(client, OPTIONS))
    assert passkey.send(client, VERIFY, captured).status_code == 200

    replay = _pending_sign_in(member_of_a)
    without_challenge = passkey.send(replay, VERIFY, captured)
    assert without_challenge.status_code == 400
    assert without_challenge.json()["code"] == "no_challenge"
    passkey.options(replay, OPTIONS)  # a fresh challenge, which the captured answer did not sign
    wrong_challenge = passkey.send(replay, VERIFY, captured)
    assert wrong_challenge.status_code == 400
    assert "could not be verified" in wrong_challenge.json()["detail"]
    assert not is_signed_in(replay)
    reasons = [e.changes["reason"][1] for e in events(org_a, "auth.second_factor_failed")]
    assert reasons == ["no_challenge", "invalid_authentication_response"]


def test_A6_a_signature_counter_that_went_backwards_is_refused(org_a, member_of_a, passkey):
    client = _pending_sign_in(member_of_a)
    signed = passkey.send(client, VERIFY, passkey.assertion(passkey.options(client, OPTIONS)))
    assert signed.status_code == 200
    # A cloned authenticator: same key, counter behind the one the server last saw.
    passkey.device.sign_count = 0
    clone = _pending_sign_in(member_of_a)
    refused = passkey.send(clone, VERIFY, passkey.assertion(passkey.options(clone, OPTIONS)))
    assert refused.status_code == 400
    assert not is_signed_in(clone)
    [failure] = events(org_a, "auth.second_factor_failed")
    assert failure.changes["method"] == [None, "passkey"]
    assert failure.changes["reason"] == [None, "invalid_authentication_response"]
    assert WebAuthnCredential.objects.get(user=member_of_a).sign_count == 1


def test_A6_someone_elses_passkey_is_refused(org_a, member_of_a, passkey):
    bob = make_user("bob@alpha.example")
    bob_client = browser()
    bob_client.force_login(bob)
    bob_key = SoftPasskey()
    assert bob_key.register(bob_client).status_code == 200

    client = _pending_sign_in(member_of_a)
    refused = passkey.send(client, VERIFY, bob_key.assertion(passkey.options(client, OPTIONS)))
    assert refused.status_code == 400
    assert refused.json()["code"] == "credential_user_mismatch"
    assert not is_signed_in(client)


def test_A6_a_malformed_registration_saves_nothing(member_of_a):
    client = browser()
    client.force_login(member_of_a)
    client.post("/account/security/passkeys/options/", content_type="application/json")
    response = client.post(
        "/account/security/passkeys/register/",
        {"credential": {"id": "x", "response": {}}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.filter(user=member_of_a).exists()


def test_A6_the_ceremony_script_is_a_static_file_not_inline(member_of_a, passkey):
    client = _pending_sign_in(member_of_a)
    page = client.get(SECOND_FACTOR_PAGE).content.decode()
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script type="module" src="/static/js/passkeys.js">']
    assert finders.find("js/passkeys.js")
