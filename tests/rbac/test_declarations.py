"""Z1: every view of every site declares what it needs, and an undeclared one answers 403.
The declared permissions give the default roles the same access as the interim role checks
they replaced (owners and admins where it was owners and admins)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

import config.urls_admin  # noqa: F401  (loaded only with PALISADE_SERVE_ADMIN_SITE=1)
from audit.models import AuditEvent
from rbac.permissions import PERMISSION, declaration_of
from rbac.registry import PERMISSIONS
from tenants.context import tenant_context
from tests.factories import make_membership, make_organization, make_sites, make_user

SITE_URLCONFS = ("config.urls_portal", "config.urls_client", "config.urls_admin")


def _patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern


def _every_view():
    for urlconf in SITE_URLCONFS:
        for route, pattern in _patterns(get_resolver(urlconf).url_patterns):
            yield f"{urlconf}:{route}", pattern.callback


def test_Z1_every_url_of_every_site_declares_its_permission():
    undeclared = [route for route, callback in _every_view() if declaration_of(callback) is None]
    assert undeclared == [], "Views without a permission declaration:\n" + "\n".join(undeclared)


def test_Z1_declared_permission_names_are_in_the_registry():
    for route, callback in _every_view():
        declaration = declaration_of(callback)
        if declaration.kind == PERMISSION:
            assert declaration.by_method, route
            # Each method's permissions: one, or the alternatives of requires_any.
            assert all(declaration.by_method.values()), route
            declared = {name for names in declaration.by_method.values() for name in names}
            assert declared <= PERMISSIONS, route


def test_Z1_the_walk_sees_every_site():
    routes = [route for route, _ in _every_view()]
    for urlconf in SITE_URLCONFS:
        assert any(route.startswith(f"{urlconf}:healthz") for route in routes), urlconf


@override_settings(
    SITE_URLCONFS={"testserver": "tests.rbac.urls_undeclared"}, ALLOWED_HOSTS=["testserver"]
)
@pytest.mark.django_db
def test_Z1_an_undeclared_view_answers_403_and_is_logged(caplog):
    client = Client()
    assert client.get("/declared/").status_code == 200
    with caplog.at_level("ERROR", logger="rbac.middleware"):
        page = client.get("/forgotten/")
        api = client.get("/api/forgotten/")
    assert page.status_code == 403 and b"open" not in page.content
    assert api.status_code == 403 and api.json() == {
        "detail": "You do not have permission to perform this action."
    }
    assert [r.getMessage() for r in caplog.records if "declares no permission" in r.getMessage()]


# --- the same allow/deny as the interim role checks, per endpoint family ---------------------

ROLES = ["owner", "admin", "manager", "staff"]
OWNERS_AND_ADMINS = {"owner", "admin"}
EVERY_MEMBER = set(ROLES)

# (method, path, body, roles admitted)
FAMILIES = [
    ("get", "/api/v1/o/alpha/audit/events/", None, OWNERS_AND_ADMINS),
    ("get", "/api/v1/o/alpha/audit/checkpoints/", None, OWNERS_AND_ADMINS),
    ("get", "/api/v1/o/alpha/audit/sinks/", None, OWNERS_AND_ADMINS),
    ("get", "/api/v1/o/alpha/invitations/", None, OWNERS_AND_ADMINS),
    ("get", "/api/v1/o/alpha/security/ip-allowlist/", None, OWNERS_AND_ADMINS),
    ("get", "/api/v1/o/alpha/sites/", None, EVERY_MEMBER),
    ("get", "/api/v1/o/alpha/api-tokens/", None, EVERY_MEMBER),
    ("get", "/o/alpha/sites/", None, EVERY_MEMBER),
    ("get", "/o/alpha/settings/sessions/", None, OWNERS_AND_ADMINS),
    # Refusals only (an admitted caller would sign everyone out or suspend the allowlist).
    ("post", "/api/v1/o/alpha/sessions/sign-out-everyone/", {}, None),
    ("post", "/api/v1/o/alpha/security/ip-allowlist/break-glass/", {}, None),
    ("post", "/o/alpha/settings/ip-allowlist/break-glass/", {}, None),
]
REFUSED_ONLY = {
    "/api/v1/o/alpha/sessions/sign-out-everyone/": {"manager", "staff"},
    "/api/v1/o/alpha/security/ip-allowlist/break-glass/": {"admin", "manager", "staff"},
    "/o/alpha/settings/ip-allowlist/break-glass/": {"admin", "manager", "staff"},
}


@pytest.fixture
def members(org_a):
    make_sites(org_a, 1)
    clients = {}
    for role in ROLES:
        user = make_user(f"{role}@alpha.example")
        make_membership(org_a, user, role=role)
        client = Client(HTTP_HOST=settings.PORTAL_HOST)
        client.force_login(user)
        clients[role] = client
    return clients


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "admitted"), FAMILIES)
def test_Z1_declared_permissions_admit_the_same_roles_as_before(
    members, org_a, method, path, body, admitted
):
    for role, client in members.items():
        if admitted is None and role not in REFUSED_ONLY[path]:
            continue
        if body is None:
            response = getattr(client, method)(path)
        else:
            response = getattr(client, method)(
                path, json.dumps(body), content_type="application/json"
            )
        expected_allowed = admitted is not None and role in admitted
        assert (response.status_code != 403) is expected_allowed, (role, path, response)
        assert response.status_code < 500, (role, path)


@pytest.mark.django_db
def test_L1_a_refusal_by_declared_permission_is_recorded_as_access_denied(members, org_a):
    assert members["manager"].get("/api/v1/o/alpha/invitations/").status_code == 403
    with tenant_context(org_a):
        [denial] = AuditEvent.objects.filter(action="access.denied")
    assert denial.actor_role == "manager"
    assert denial.entity_type == "user"
    assert denial.changes["permission"] == [None, "user.manage"]


@pytest.mark.django_db
def test_Z1_another_organisations_member_is_still_404(members, org_a):
    make_organization("Bravo Care", "bravo")
    assert members["owner"].get("/api/v1/o/bravo/sites/").status_code == 404
