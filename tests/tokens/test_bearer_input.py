"""Bad bearer input (A8, A17): malformed headers, look-alike and oversized tokens get a clear
4xx, never a crash, and nothing about them reaches the database."""

from __future__ import annotations

import jwt
import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_membership, make_user
from tokens.format import new_token

pytestmark = pytest.mark.django_db

SITES = "/api/v1/o/alpha/sites/"


def with_authorization(value: str) -> Client:
    return Client(HTTP_HOST=settings.PORTAL_HOST, HTTP_AUTHORIZATION=value)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("", 400),
        ("Bearer", 400),
        ("Bearer ", 400),
        ("Basic YWxpY2U6c2VjcmV0", 400),
        ("bearer pal_xxxxxxxx_yyyy", 400),
        ("Bearer a b", 400),
        ("Bearer pal_é", 400),
        ("Bearer \x00\x01", 400),
        ("Bearer pal_", 401),
        ("Bearer pal_alpha_notarealtoken", 401),
        ("Bearer pal_" + "a" * 8 + "_" + "b" * 38, 401),
        ("Bearer a.b.c", 401),
        ("Bearer eyJhbGciOiJub25lIn0.e30.", 401),
        ("Bearer " + "A" * 900, 401),
        ("Bearer " + "A" * 100_000, 401),
        ("Bearer pal_" + "x" * 5000, 401),
    ],
)
def test_A17_malformed_or_bogus_credentials_get_a_clear_4xx_without_queries(
    org_a, header, status, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = with_authorization(header).get(SITES)
    assert response.status_code == status
    assert response.json()["code"] in {"invalid_request", "invalid_token"}
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_A8_unsigned_and_foreign_signed_jwts_are_refused(org_a, member_of_a):
    claims = {"sub": str(member_of_a.pk), "gen": 0, "fam": "x", "amr": ["pwd"]}
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    foreign = jwt.encode({**claims, "iss": "palisade", "aud": "palisade-api"}, "x" * 32)
    for token in (unsigned, foreign):
        assert with_authorization(f"Bearer {token}").get(SITES).status_code == 401


def test_A17_a_token_for_an_organisation_that_does_not_exist_is_404(org_a):
    user = make_user("pat@alpha.example")
    make_membership(org_a, user)
    assert with_authorization(f"Bearer {new_token('zzzzzzzz')}").get(SITES).status_code == 404


def test_A17_bearer_credentials_outside_the_organisation_api_are_refused(org_a):
    client = with_authorization(f"Bearer {new_token(org_a.short_id)}")
    response = client.get("/api/v1/account/sessions/")
    assert response.status_code == 401
    assert "organisation API" in response.json()["detail"]
