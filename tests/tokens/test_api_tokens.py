"""A17: organisation API tokens. Shown once, stored hashed, checksum checked before any
query, scoped per resource on top of the owner's current access, bound to their
organisation, expiring, revocable, audited; an inventory for owners."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from django.utils import timezone

from accounts.services import password_change, user_deactivate
from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Membership, SecurityPolicy
from tenants.services import membership_change_role, security_policy_update
from tests.factories import make_membership, make_sites, make_user
from tokens.format import CHECKSUM_LENGTH, TOKEN_PATTERN, new_token, parse_token
from tokens.models import ApiToken
from tokens.scopes import SCOPES
from tokens.services.api_tokens import api_token_create

pytestmark = pytest.mark.django_db

SITES = "/api/v1/o/alpha/sites/"
AUDIT_EVENTS = "/api/v1/o/alpha/audit/events/"
TOKENS = "/api/v1/o/alpha/api-tokens/"
OFFICE_IP = "198.51.100.20"
HOME_IP = "203.0.113.9"


def token_for(org, user, scopes, *, days: int = 30, second_factor: bool = False) -> str:
    with tenant_context(org):
        return api_token_create(
            owner=user,
            name="CI",
            scopes=scopes,
            expires_at=timezone.now() + timedelta(days=days),
            second_factor_verified=second_factor,
        ).token


def bearer(token: str, ip: str = OFFICE_IP, **extra) -> Client:
    return Client(
        HTTP_HOST=settings.PORTAL_HOST,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        REMOTE_ADDR=ip,
        **extra,
    )


def signed_in(user) -> Client:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def events(org, action: str) -> list[AuditEvent]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def membership_of(org, user) -> Membership:
    with tenant_context(org):
        return Membership.objects.get(user=user)


def stored(org, token_id: int) -> ApiToken:
    with tenant_context(org):
        return ApiToken.objects.get(pk=token_id)


@pytest.fixture
def owner(org_a):
    user = make_user("olive@alpha.example")
    make_membership(org_a, user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def admin(org_a):
    user = make_user("adam@alpha.example")
    make_membership(org_a, user, role=Membership.Role.ADMIN)
    return user


def _create(client: Client, **body):
    payload = {
        "name": "Payroll export",
        "scopes": ["sites:read"],
        "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
        **body,
    }
    return client.post(TOKENS, payload, content_type="application/json")


# Format and storage


def test_A17_token_format_carries_organisation_and_checksum(org_a):
    token = new_token(org_a.short_id)
    assert TOKEN_PATTERN.fullmatch(token)
    assert token.startswith(f"pal_{org_a.short_id}_")
    assert parse_token(token).organization_short_id == org_a.short_id
    # Any single changed character of the secret or the checksum breaks the checksum.
    secret_start = len(f"pal_{org_a.short_id}_")
    for position in (secret_start, len(token) - CHECKSUM_LENGTH - 1, len(token) - 1):
        swapped = "B" if token[position] != "B" else "C"
        assert parse_token(token[:position] + swapped + token[position + 1 :]) is None


def test_A17_token_is_shown_once_and_stored_only_hashed(org_a, owner):
    client = signed_in(owner)
    created = _create(client)
    assert created.status_code == 201, created.content
    token = created.json()["token"]
    assert TOKEN_PATTERN.fullmatch(token)
    listed = client.get(TOKENS).json()["results"]
    assert [t["id"] for t in listed] == [created.json()["id"]]
    assert "token" not in listed[0]
    assert token not in client.get(TOKENS).content.decode()
    secret = token.split("_")[2]
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text, digest FROM tokens_api_token t")
        [(row, digest)] = cursor.fetchall()
    assert bytes(digest) == hashlib.sha256(token.encode()).digest()
    assert token not in row and secret not in row and secret[:12] not in row


def test_A17_wrong_checksum_is_refused_before_any_database_query(
    org_a, owner, django_assert_num_queries
):
    token = token_for(org_a, owner, ["sites:read"])
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    client = bearer(tampered)
    with django_assert_num_queries(0):
        response = client.get(SITES)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith("Bearer")


# Use


def test_A17_token_reads_within_its_scope_without_session_or_csrf(org_a, owner):
    make_sites(org_a, 2, "A")
    token = token_for(org_a, owner, ["sites:read", "invitations:write"])
    client = bearer(token, enforce_csrf_checks=True)
    response = client.get(SITES)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 2
    invited = client.post(
        "/api/v1/o/alpha/invitations/",
        {"email": "new@alpha.example", "role": "staff"},
        content_type="application/json",
    )
    assert invited.status_code == 201, invited.content
    [event] = events(org_a, "invitation.created")
    assert event.actor_type == "api_token"
    assert event.actor_label == f"CI ({owner.email})"
    assert event.actor_role == Membership.Role.OWNER


def test_A17_scope_outside_the_token_is_403(org_a, owner):
    token = token_for(org_a, owner, ["sites:read"])
    client = bearer(token)
    assert client.get(SITES).status_code == 200
    refused = client.get(AUDIT_EVENTS)
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    # Views that declare no scope are closed to tokens: a token cannot mint tokens.
    assert client.get(TOKENS).status_code == 403
    assert _create(client).status_code == 403
    [denied, *_] = events(org_a, "access.denied")
    assert denied.changes["scope"] == [None, "audit_log:read"]
    assert denied.actor_type == "api_token"


def test_A17_token_never_exceeds_its_owner_role(org_a):
    staff = make_user("sam@alpha.example")
    make_membership(org_a, staff)
    token = token_for(org_a, staff, ["audit_log:read", "sites:read"])
    client = bearer(token)
    assert client.get(SITES).status_code == 200
    assert client.get(AUDIT_EVENTS).status_code == 403


def test_A17_token_of_one_organisation_on_another_organisations_url_is_404(
    org_a, org_b, owner, django_assert_num_queries
):
    make_membership(org_b, owner, role=Membership.Role.OWNER)
    make_sites(org_b, 1, "B")
    token = token_for(org_a, owner, ["sites:read"])
    client = bearer(token)
    with django_assert_num_queries(1):  # the organisation by slug, nothing of the token
        other = client.get("/api/v1/o/bravo/sites/")
    unknown = client.get("/api/v1/o/zulu/sites/")
    assert other.status_code == 404
    assert (other.status_code, other.content) == (unknown.status_code, unknown.content)
    assert b"B 0000" not in other.content


def test_A17_expired_token_is_401(org_a, owner):
    token = token_for(org_a, owner, ["sites:read"], days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1), tick=False):
        response = bearer(token).get(SITES)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    [refused] = events(org_a, "api_token.refused")
    assert refused.changes["reason"] == [None, "expired"]


def test_A17_revoked_token_is_401_and_revocation_is_audited(org_a, owner):
    token = token_for(org_a, owner, ["sites:read"])
    client = bearer(token)
    assert client.get(SITES).status_code == 200
    [api_token_id] = [t["id"] for t in signed_in(owner).get(TOKENS).json()["results"]]
    assert signed_in(owner).delete(f"{TOKENS}{api_token_id}/").status_code == 204
    response = client.get(SITES)
    assert response.status_code == 401
    assert response.json()["detail"] == "This API token has been revoked."
    [revoked] = events(org_a, "api_token.revoked")
    assert revoked.actor_id == str(owner.pk)
    assert stored(org_a, api_token_id).revoked_by_id == owner.pk


def test_A17_unknown_token_with_a_valid_checksum_is_401(org_a, owner):
    response = bearer(new_token(org_a.short_id)).get(SITES)
    assert response.status_code == 401


def test_A17_demoting_the_owner_shrinks_the_token_access_immediately(org_a, owner, admin):
    token = token_for(org_a, admin, ["audit_log:read", "sites:read"])
    client = bearer(token)
    assert client.get(AUDIT_EVENTS).status_code == 200
    with tenant_context(org_a):
        membership_change_role(
            membership=Membership.objects.get(user=admin), role=Membership.Role.STAFF
        )
    # A10: a role change ends the owner's sessions and tokens on their very next request.
    response = client.get(AUDIT_EVENTS)
    assert response.status_code == 401
    assert client.get(SITES).status_code == 401
    listed = signed_in(owner).get(TOKENS).json()["results"]
    assert [t["status"] for t in listed] == ["ended"]


def test_A17_token_whose_owner_lost_membership_is_refused(org_a, admin):
    token = token_for(org_a, admin, ["sites:read"])
    membership = membership_of(org_a, admin)
    with tenant_context(org_a):
        membership.status = Membership.Status.SUSPENDED
        membership.save()
    assert bearer(token).get(SITES).status_code == 404


def test_A10_password_change_and_deactivation_end_the_owner_tokens(org_a, admin):
    token = token_for(org_a, admin, ["sites:read"])
    password_change(user=admin, new_password="a new and different passphrase 7")
    assert bearer(token).get(SITES).status_code == 401
    later = token_for(org_a, admin, ["sites:read"])
    assert bearer(later).get(SITES).status_code == 200
    user_deactivate(user=admin)
    assert bearer(later).get(SITES).status_code == 401


def test_A4_second_factor_rule_applies_to_token_requests(org_a, admin):
    plain = token_for(org_a, admin, ["sites:read"])
    verified = token_for(org_a, admin, ["sites:read"], second_factor=True)
    with tenant_context(org_a):
        security_policy_update(second_factor_required=SecurityPolicy.SecondFactorRequirement.ALL)
    refused = bearer(plain).get(SITES)
    assert refused.status_code == 403
    assert refused.json()["code"] == "second_factor_required"
    assert bearer(verified).get(SITES).status_code == 200


# Bookkeeping


def test_A17_last_used_time_and_ip_are_recorded_and_a_new_ip_is_audited(org_a, admin):
    token = token_for(org_a, admin, ["sites:read"])
    api_token_id = signed_in(admin).get(TOKENS).json()["results"][0]["id"]
    assert bearer(token, OFFICE_IP).get(SITES).status_code == 200
    first = stored(org_a, api_token_id)
    assert first.last_used_ip == OFFICE_IP and first.last_used_at is not None
    # Within a minute from a known address: nothing is written.
    assert bearer(token, OFFICE_IP).get(SITES).status_code == 200
    assert stored(org_a, api_token_id).last_used_at == first.last_used_at
    assert bearer(token, HOME_IP).get(SITES).status_code == 200
    assert stored(org_a, api_token_id).last_used_ip == HOME_IP
    used = events(org_a, "api_token.used_from_new_ip")
    assert [e.changes["ip"][1] for e in used] == [OFFICE_IP, HOME_IP]
    assert {e.actor_type for e in used} == {"api_token"}
    # A refused request from a new address is still recorded (it may be a leaked token).
    assert bearer(token, "192.0.2.77").get(AUDIT_EVENTS).status_code == 403
    assert events(org_a, "api_token.used_from_new_ip")[-1].changes["ip"] == [None, "192.0.2.77"]
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert bearer(token, HOME_IP).get(SITES).status_code == 200
    assert stored(org_a, api_token_id).last_used_at > first.last_used_at


def test_A17_creation_is_audited_without_the_token(org_a, owner):
    token = _create(signed_in(owner), scopes=["sites:read", "audit_log:read"]).json()["token"]
    [created] = events(org_a, "api_token.created")
    assert created.actor_id == str(owner.pk)
    assert created.changes["scopes"] == [None, ["audit_log:read", "sites:read"]]
    assert token not in str(created.changes)


def test_A17_constant_query_count_per_token_request(org_a, admin):
    token = token_for(org_a, admin, ["sites:read"])
    client = bearer(token)
    client.get(SITES)  # the first use is recorded (a write of its own)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{SITES}?page_size=200").status_code == 200
        return len(captured)

    make_sites(org_a, 5, "Small")
    small = queries()
    make_sites(org_a, 150, "Large")
    assert queries() == small
    # organisation, context, token with owner, membership, sites (+ savepoints)
    assert small <= 8


# Creation rules and the inventory


def test_A17_expiry_is_mandatory_and_capped_by_the_organisation(org_a, owner):
    client = signed_in(owner)
    assert _create(client, expires_at=None).status_code == 400
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert _create(client, expires_at=past).status_code == 400
    too_far = (timezone.now() + timedelta(days=91)).isoformat()
    assert "at most 90 days" in str(_create(client, expires_at=too_far).json())
    with tenant_context(org_a):
        security_policy_update(api_token_max_days=7)
    week_and_a_day = (timezone.now() + timedelta(days=8)).isoformat()
    assert _create(client, expires_at=week_and_a_day).status_code == 400
    six_days = (timezone.now() + timedelta(days=6)).isoformat()
    assert _create(client, expires_at=six_days).status_code == 201


def test_A17_scopes_must_be_known(org_a, owner):
    client = signed_in(owner)
    assert _create(client, scopes=["shifts:teleport"]).status_code == 400
    assert _create(client, scopes=[]).status_code == 400
    assert _create(client, scopes="sites:read").status_code == 400


def test_A17_owners_see_and_revoke_every_token_others_only_their_own(org_a, owner, admin):
    staff = make_user("sam@alpha.example")
    make_membership(org_a, staff)
    token_for(org_a, owner, ["sites:read"])
    admin_token = token_for(org_a, admin, ["sites:read"])
    token_for(org_a, staff, ["sites:read"])
    inventory = signed_in(owner).get(TOKENS).json()["results"]
    assert {t["owner"]["email"] for t in inventory} == {owner.email, admin.email, staff.email}
    admins_view = signed_in(admin).get(TOKENS).json()["results"]
    assert [t["owner"]["email"] for t in admins_view] == [admin.email]
    staff_token_id = next(t["id"] for t in inventory if t["owner"]["email"] == staff.email)
    assert signed_in(admin).delete(f"{TOKENS}{staff_token_id}/").status_code == 404
    admin_token_id = admins_view[0]["id"]
    assert signed_in(owner).delete(f"{TOKENS}{admin_token_id}/").status_code == 204
    assert bearer(admin_token).get(SITES).status_code == 401


def test_A17_tokens_of_another_organisation_are_invisible(org_a, org_b, owner):
    other = make_user("bob@bravo.example")
    make_membership(org_b, other, role=Membership.Role.OWNER)
    token_for(org_b, other, ["sites:read"])
    assert signed_in(owner).get(TOKENS).json()["results"] == []
    with tenant_context(org_b):
        b_token_id = ApiToken.objects.get().pk
    assert signed_in(owner).delete(f"{TOKENS}{b_token_id}/").status_code == 404


def test_Z1_every_organisation_api_view_declares_its_token_scopes_or_none():
    """Scopes declared by views are in the catalogue; the views closed to tokens are listed
    here on purpose (a ratchet: the list may shrink, never grow)."""
    closed_to_tokens = {
        "api-tokens",
        "api-token-detail",
        "api-organization-sign-out-everyone",
        # A12: break-glass is for an owner at the keyboard, never a credential.
        "api-ip-allowlist-break-glass",
    }
    org_api = next(
        p for p in get_resolver("config.urls_portal").url_patterns if "api/v1/o/" in str(p.pattern)
    )
    for pattern in org_api.url_patterns:
        declared = getattr(pattern.callback.view_class, "required_scopes", None)
        if pattern.name in closed_to_tokens:
            assert not declared, pattern.name
        else:
            assert declared, f"{pattern.name} declares no API token scope"
            assert set(declared.values()) <= set(SCOPES), pattern.name
