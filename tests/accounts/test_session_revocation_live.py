"""A10 on the real stack: a change made by one process refuses the member's session in
another process (gunicorn) on its very next request, and that holds with Redis unreachable,
because the revocation check never asks Redis."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import redis.connection
from django.conf import settings
from django.test import Client

from accounts.services import user_deactivate
from tenants.context import tenant_context
from tenants.models import Membership
from tenants.services import membership_change_role
from tests.accounts.sessions_helpers import browser, signed_in_browser
from tests.factories import make_membership, make_organization, make_user
from tests.processes import free_port, gunicorn

SITES_API = "/api/v1/o/alpha/sites/"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def status_of(base_url: str, path: str, cookie: str, method: str = "GET") -> int:
    assert base_url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310 - loopback URL checked above
        base_url + path, method=method, headers={"Host": settings.PORTAL_HOST, "Cookie": cookie}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def alpha(committed_db):
    organization = make_organization("Alpha Guarding", "alpha")
    member = make_user("ann@alpha.example")
    make_membership(organization, member, role=Membership.Role.MANAGER)
    return organization, member


def demote(organization, user) -> None:
    with tenant_context(organization):
        membership = Membership.objects.get(user=user)
        membership_change_role(membership=membership, role=Membership.Role.STAFF)


def test_A10_demotion_refuses_the_members_sessions_in_another_process(alpha, test_environment):
    organization, member = alpha
    cookies = [session_cookie(member) for _ in range(2)]
    with gunicorn(test_environment) as base_url:
        assert [status_of(base_url, SITES_API, c) for c in cookies] == [200, 200]
        demote(organization, member)
        assert [status_of(base_url, SITES_API, c) for c in cookies] == [401, 401]


def test_A10_revocation_holds_with_redis_unreachable(alpha, test_environment):
    organization, member = alpha
    cookie, other = session_cookie(member), session_cookie(member)
    env = {**test_environment, "PALISADE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with gunicorn(env) as base_url:
        # Redis is down, and nothing on the request path needs it: service goes on ...
        assert status_of(base_url, SITES_API, cookie) == 200
        assert status_of(base_url, "/account/sessions/", cookie) == 200
        # ... and revocation is enforced all the same (fail closed, without failing).
        demote(organization, member)
        assert status_of(base_url, SITES_API, cookie) == 401
        member.refresh_from_db()
        fresh = session_cookie(member)
        assert status_of(base_url, SITES_API, fresh) == 200
        user_deactivate(user=member)
        assert status_of(base_url, SITES_API, fresh) == 401
        assert status_of(base_url, SITES_API, other) == 401


@pytest.mark.django_db
def test_A10_session_checks_send_no_redis_command(member_of_a, org_a, monkeypatch):
    commands = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        commands.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    client = signed_in_browser(member_of_a)
    assert client.get(SITES_API).status_code == 200
    assert client.get("/o/alpha/sites/").status_code == 200
    assert client.get("/account/sessions/").status_code == 200
    forged = browser()
    forged.cookies[settings.SESSION_COOKIE_NAME] = "forged-session-key"
    assert forged.get(SITES_API).status_code == 401
    with tenant_context(org_a):
        membership_change_role(
            membership=Membership.objects.get(user=member_of_a), role=Membership.Role.ADMIN
        )
    assert client.get(SITES_API).status_code == 401
    assert commands == []
