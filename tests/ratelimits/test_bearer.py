"""Bearer requests on the organisation API are counted per principal (A11), decided without
I/O before the tenant layer authenticates them: an API token per token (and per network in a
generous bearer bucket, since a checksum can be forged), an access JWT as its user's session,
a malformed header per network as anonymous traffic. Still one Redis round trip, no query."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis.connection
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from ratelimits.limiter import configured_client
from ratelimits.middleware import RateLimitMiddleware
from tenants.context import tenant_context
from tests.ratelimits.conftest import set_quotas
from tokens.access import access_token_issue
from tokens.format import new_token
from tokens.services.api_tokens import api_token_create

pytestmark = pytest.mark.django_db

SITES_API = "/api/v1/o/alpha/sites/"
OFFICE = "198.51.100.20"
ELSEWHERE = "203.0.113.9"


def token_for(org, user) -> str:
    with tenant_context(org):
        return api_token_create(
            owner=user,
            name="CI",
            scopes=["sites:read"],
            expires_at=timezone.now() + timedelta(days=30),
            second_factor_verified=False,
        ).token


def access_for(user) -> str:
    return access_token_issue(
        user_id=user.pk,
        session_generation=user.session_generation,
        family_id=uuid.uuid4(),
        second_factor=False,
    )


def bearer(credential: str, ip: str = OFFICE) -> Client:
    return Client(
        HTTP_HOST=settings.PORTAL_HOST, HTTP_AUTHORIZATION=f"Bearer {credential}", REMOTE_ADDR=ip
    )


def statuses(client: Client, path: str, times: int) -> list[int]:
    return [client.get(path).status_code for _ in range(times)]


def test_A11_api_tokens_are_counted_per_token(org_a, member_of_a, settings):
    set_quotas(settings, "default", "2/86400")
    first, second = token_for(org_a, member_of_a), token_for(org_a, member_of_a)
    # Two tokens of one user on one network: separate quotas.
    assert statuses(bearer(first), SITES_API, 3) == [200, 200, 429]
    assert statuses(bearer(second), SITES_API, 2) == [200, 200]
    # The same token from another network: the same bucket.
    assert bearer(first, ELSEWHERE).get(SITES_API).status_code == 429
    # The user's session is not the token's principal.
    session = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=OFFICE)
    session.force_login(member_of_a)
    assert session.get(SITES_API).status_code == 200


def test_A11_an_api_token_response_describes_its_buckets(org_a, member_of_a):
    response = bearer(token_for(org_a, member_of_a)).get(SITES_API)
    assert response.status_code == 200
    assert response["RateLimit-Policy"] == (
        "3;w=1, 200;w=60, 800;w=300, "
        '12;w=1;scope="bearer-network", 800;w=60;scope="bearer-network", '
        '3200;w=300;scope="bearer-network"'
    )


def test_A11_an_access_jwt_shares_its_users_session_buckets(org_a, member_of_a, settings):
    set_quotas(settings, "default", "2/86400")
    session = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=OFFICE)
    session.force_login(member_of_a)
    assert session.get(SITES_API).status_code == 200
    assert bearer(access_for(member_of_a), ELSEWHERE).get(SITES_API).status_code == 200
    assert session.get(SITES_API).status_code == 429
    assert bearer(access_for(member_of_a)).get(SITES_API).status_code == 429
    response = bearer(access_for(member_of_a)).get(SITES_API)
    assert 'scope="all-organizations"' in response["RateLimit-Policy"]


def test_A11_invented_tokens_from_one_network_hit_the_bearer_cap(org_a, member_of_a, settings):
    set_quotas(settings, "default", "2/86400")
    settings.PALISADE_RATELIMIT_BEARER_NETWORK_FACTOR = 3
    # Each invented token has a bucket of its own, but the network's bearer bucket (2 x 3)
    # bounds them all before any lookup.
    invented = [bearer(new_token(org_a.short_id)).get(SITES_API) for _ in range(7)]
    assert [r.status_code for r in invented] == [401] * 6 + [429]
    assert invented[-1]["RateLimit-Limit"] == "6"
    # Real tokens from that network wait too; other networks do not.
    real = token_for(org_a, member_of_a)
    assert bearer(real).get(SITES_API).status_code == 429
    assert bearer(real, ELSEWHERE).get(SITES_API).status_code == 200
    assert bearer(new_token(org_a.short_id), ELSEWHERE).get(SITES_API).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    ["Token abc", "Bearer !!!", "Bearer pal_nottoken", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"],
)
def test_A11_malformed_bearer_headers_count_per_network(org_a, settings, authorization):
    set_quotas(settings, "default", "1/86400")
    client = Client(
        HTTP_HOST=settings.PORTAL_HOST, HTTP_AUTHORIZATION=authorization, REMOTE_ADDR=OFFICE
    )
    assert client.get(SITES_API).status_code in (400, 401)
    assert client.get(SITES_API).status_code == 429
    # The same bucket as the network's anonymous traffic.
    anonymous = Client(HTTP_HOST=settings.PORTAL_HOST, REMOTE_ADDR=OFFICE)
    assert anonymous.get("/accounts/logout/").status_code == 429


def test_A11_bearer_requests_make_one_redis_round_trip(org_a, member_of_a, monkeypatch):
    token, access = token_for(org_a, member_of_a), access_for(member_of_a)
    assert bearer(token).get(SITES_API).status_code == 200  # connection set up, script loaded
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    assert bearer(token).get(SITES_API).status_code == 200
    assert bearer(access).get(SITES_API).status_code == 200
    assert bearer(new_token(org_a.short_id)).get(SITES_API).status_code == 401
    assert len(sent) == 3


@pytest.mark.parametrize("kind", ["api_token", "access", "invented"])
def test_A11_the_limiter_makes_no_query_for_bearer_requests(
    org_a, member_of_a, rate_limits, django_assert_num_queries, kind
):
    credential = {
        "api_token": lambda: token_for(org_a, member_of_a),
        "access": lambda: access_for(member_of_a),
        "invented": lambda: new_token(org_a.short_id),
    }[kind]()
    request = RequestFactory().get(
        SITES_API, HTTP_AUTHORIZATION=f"Bearer {credential}", REMOTE_ADDR=OFFICE
    )
    request.user = AnonymousUser()
    middleware = RateLimitMiddleware(lambda request: HttpResponse())
    with django_assert_num_queries(0):
        response = middleware(request)
    assert response.status_code == 200
    counted = {key.decode() for key in configured_client().scan_iter(f"{rate_limits}:*")}
    principal = f"user:{member_of_a.pk}" if kind == "access" else "token:"
    assert any(principal in key for key in counted)
    assert not any(":net:" in key for key in counted)
