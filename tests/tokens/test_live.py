"""A8, A10, A17 on the real stack: a gunicorn serves API-token and access-token requests, and
a revocation made by this process refuses both in that process on their very next request."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import UserSession
from accounts.sessions.services import user_sessions_revoke
from tenants.context import tenant_context
from tenants.models import Membership
from tests.factories import make_membership, make_organization, make_sites, make_user
from tests.processes import gunicorn
from tokens.services.api_tokens import api_token_create, api_token_revoke
from tokens.services.token_mode import token_mode_sign_in

SITES_API = "/api/v1/o/alpha/sites/"


def status_of(base_url: str, token: str) -> int:
    assert base_url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310 - loopback URL checked above
        base_url + SITES_API,
        headers={"Host": settings.PORTAL_HOST, "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_A17_A8_bearer_requests_and_their_revocation_through_gunicorn(
    committed_db, test_environment
):
    organization = make_organization("Alpha Guarding", "alpha")
    make_sites(organization, 3)
    member = make_user("ann@alpha.example")
    make_membership(organization, member, role=Membership.Role.MANAGER)
    with tenant_context(organization):
        issued = api_token_create(
            owner=member,
            name="CI",
            scopes=["sites:read"],
            expires_at=timezone.now() + timedelta(days=1),
            second_factor_verified=False,
        )
        kept = api_token_create(
            owner=member,
            name="kept",
            scopes=["sites:read"],
            expires_at=timezone.now() + timedelta(days=1),
            second_factor_verified=False,
        ).token
    access = token_mode_sign_in(user=member).access
    with gunicorn(test_environment) as base_url:
        assert [status_of(base_url, t) for t in (issued.token, kept, access)] == [200] * 3
        with tenant_context(organization):
            api_token_revoke(api_token=issued.api_token, by=member)
        assert [status_of(base_url, t) for t in (issued.token, kept, access)] == [401, 200, 200]
        user_sessions_revoke(user=member, reason=UserSession.EndReason.ENDED_BY_USER)
        assert [status_of(base_url, t) for t in (kept, access)] == [401, 401]
