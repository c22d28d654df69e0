"""A8: token mode for SPA and mobile clients. 60-second access JWTs, a 7-day refresh token in
an HttpOnly, SameSite=Strict cookie rotated on every use, reuse detection that revokes the
family, and A10 revocation reaching both."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pyotp
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import UserSession
from accounts.second_factors import codes
from accounts.second_factors.services import totp_enrolment_confirm, totp_enrolment_start
from accounts.services import password_change
from accounts.sessions.services import user_sessions_revoke
from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import TEST_PASSWORD, make_sites
from tokens.api import REFRESH_COOKIE, REFRESH_COOKIE_PATH
from tokens.models import RefreshToken
from tokens.tasks import delete_expired_refresh_tokens

pytestmark = pytest.mark.django_db

SIGN_IN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/refresh/"
SIGN_OUT = "/api/v1/auth/sign-out/"
SITES = "/api/v1/o/alpha/sites/"


def app() -> Client:
    """A client in token mode: it keeps the refresh cookie, never a session."""
    return Client(HTTP_HOST=settings.PORTAL_HOST, enforce_csrf_checks=True)


def sign_in(client: Client, email: str, **extra):
    body = {"email": email, "password": TEST_PASSWORD, **extra}
    return client.post(SIGN_IN, body, content_type="application/json")


def access(response) -> str:
    assert response.status_code == 200, response.content
    return response.json()["access"]


def api(token: str, path: str = SITES):
    return Client(HTTP_HOST=settings.PORTAL_HOST, HTTP_AUTHORIZATION=f"Bearer {token}").get(path)


def events(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def member(org_a, member_of_a):
    make_sites(org_a, 2, "A")
    return member_of_a


def test_A8_sign_in_gives_a_60_second_access_token_and_a_strict_refresh_cookie(org_a, member):
    client = app()
    response = sign_in(client, member.email)
    token = access(response)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60 == response.json()["expires_in"]
    assert claims["sub"] == str(member.pk) and "org" not in claims
    cookie = response.cookies[REFRESH_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == REFRESH_COOKIE_PATH
    assert int(cookie["max-age"]) == pytest.approx(7 * 24 * 3600, abs=5)
    assert response["Cache-Control"] == "no-store"
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert len(api(token).json()["results"]) == 2
    [signed_in] = events(org_a, "auth.signed_in")
    assert signed_in.changes["mode"] == [None, "token"]
    assert not UserSession.objects.filter(user=member).exists()


def test_A8_access_token_lasts_60_seconds(org_a, member):
    token = access(sign_in(app(), member.email))
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        response = api(token)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_A8_access_token_is_checked_against_the_organisation_membership(org_a, org_b, member):
    token = access(sign_in(app(), member.email))
    assert api(token, "/api/v1/o/bravo/sites/").status_code == 404


def test_A8_refresh_rotates_the_refresh_token_every_time(org_a, member):
    client = app()
    sign_in(client, member.email)
    first = client.cookies[REFRESH_COOKIE].value
    refreshed = client.post(REFRESH)
    second = client.cookies[REFRESH_COOKIE].value
    assert second != first
    assert api(access(refreshed)).status_code == 200
    third = access(client.post(REFRESH))
    assert api(third).status_code == 200
    assert RefreshToken.objects.filter(user=member, used_at__isnull=False).count() == 2


def test_A8_a_replayed_refresh_token_revokes_the_family_and_both_holders_sign_in_again(
    org_a, member
):
    client = app()
    sign_in(client, member.email)
    stolen = client.cookies[REFRESH_COOKIE].value
    access(client.post(REFRESH))  # the client rotates: the stolen token is now spent
    thief = app()
    thief.cookies[REFRESH_COOKIE] = stolen
    replay = thief.post(REFRESH)
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_reused"
    # The legitimate client's newer token is part of the same family: revoked too.
    legitimate = client.post(REFRESH)
    assert legitimate.status_code == 401
    assert legitimate.json()["code"] == "refresh_revoked"
    assert not RefreshToken.objects.filter(user=member, revoked_at__isnull=True).exists()
    [reused] = events(org_a, "auth.refresh_token_reused")
    assert reused.changes["tokens_revoked"] == [None, 2]
    # Signing in again starts a new family.
    assert api(access(sign_in(app(), member.email))).status_code == 200


def test_A8_using_the_same_refresh_token_twice_from_one_client_revokes_the_family(org_a, member):
    client = app()
    sign_in(client, member.email)
    token = client.cookies[REFRESH_COOKIE].value
    access(client.post(REFRESH))
    client.cookies[REFRESH_COOKIE] = token
    assert client.post(REFRESH).json()["code"] == "refresh_reused"
    assert client.post(REFRESH).status_code == 401


def test_A10_revocation_refuses_access_tokens_and_the_next_refresh(org_a, member):
    client = app()
    token = access(sign_in(client, member.email))
    user_sessions_revoke(user=member, reason=UserSession.EndReason.ENDED_BY_USER)
    # Not only the next refresh: the access token itself, on its very next request.
    assert api(token).status_code == 401
    refresh = client.post(REFRESH)
    assert refresh.status_code == 401
    assert refresh.json()["code"] == "refresh_revoked"
    assert REFRESH_COOKIE in refresh.cookies and refresh.cookies[REFRESH_COOKIE].value == ""


def test_A10_password_change_ends_token_mode(org_a, member):
    client = app()
    token = access(sign_in(client, member.email))
    password_change(user=member, new_password="a new and different passphrase 7")
    assert api(token).status_code == 401
    assert client.post(REFRESH).status_code == 401


def test_A8_sign_out_ends_the_family(org_a, member):
    client = app()
    sign_in(client, member.email)
    token = client.cookies[REFRESH_COOKIE].value
    assert client.post(SIGN_OUT).status_code == 204
    again = app()
    again.cookies[REFRESH_COOKIE] = token
    assert again.post(REFRESH).status_code == 401


def test_A8_wrong_password_is_refused_and_audited(org_a, member):
    response = sign_in(app(), member.email, password="not the password at all")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert sign_in(app(), "nobody@nowhere.example").status_code == 401
    assert len(events(org_a, "auth.sign_in_failed")) == 1


def test_A2_forced_password_change_comes_first(org_a, member):
    member.must_change_password = True
    member.save()
    response = sign_in(app(), member.email)
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"


def test_A8_a_person_with_a_second_factor_must_give_it(org_a, member, settings):
    # No back-off after the wrong code below (its own tests are in tests/accounts).
    settings.PALISADE_SECOND_FACTOR_THROTTLE_FACTOR = 0
    device = totp_enrolment_start(user=member)
    authenticator = pyotp.TOTP(codes.totp_key_base32(bytes.fromhex(device.key)))
    totp_enrolment_confirm(user=member, code=authenticator.now())
    without = sign_in(app(), member.email)
    assert without.status_code == 401
    assert without.json()["code"] == "second_factor_required"
    assert "totp" in without.json()["methods"]
    wrong = sign_in(app(), member.email, method="totp", code="000000")
    assert wrong.json()["code"] == "second_factor_refused"
    assert events(org_a, "auth.second_factor_failed")
    code = authenticator.at(timezone.now().timestamp() + 30)
    token = access(sign_in(app(), member.email, method="totp", code=code))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "mfa"]
    assert api(token).status_code == 200


@pytest.mark.parametrize("cookie", ["", "x", "A" * 65, "A" * 10_000, "\u00e9t\u00e9", "; path=/"])
def test_A8_bogus_refresh_cookies_get_a_401(org_a, cookie):
    client = app()
    client.cookies[REFRESH_COOKIE] = cookie
    response = client.post(REFRESH)
    assert response.status_code == 401


def test_A8_malformed_sign_in_bodies_get_a_400(org_a):
    client = app()
    assert client.post(SIGN_IN, "{not json", content_type="application/json").status_code == 400
    assert (
        client.post(SIGN_IN, {"email": "a@b.example"}, content_type="application/json").status_code
        == 400
    )
    huge = {"email": "a" * 10_000, "password": "p" * 10_000}
    assert client.post(SIGN_IN, huge, content_type="application/json").status_code == 400


def test_A8_families_past_their_end_are_deleted_with_their_spent_tokens(org_a, member):
    client = app()
    sign_in(client, member.email)
    client.post(REFRESH)
    current = app()
    sign_in(current, member.email)
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1), tick=False):
        sign_in(current, member.email)
        assert delete_expired_refresh_tokens() == 3
    assert RefreshToken.objects.filter(user=member).count() == 1
