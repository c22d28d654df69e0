"""Z2, Z3: every default role against every guarded action of the organisation API, over real
HTTP. The table below is written out by hand, not derived from the registry, so a change to
a default role that is not also made here fails.

A refusal is a 403 from the permission layer; anything else (200, 201, 400 for an empty body,
404 for an id that does not exist) means the request got past it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tenants.context import tenant_context
from tenants.services import guest_access_grant
from tests.factories import make_client, make_membership, make_user

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MANAGER, STAFF = "owner", "admin", "manager", "staff"
CLIENT, AUDITOR, BOARD = "client", "auditor", "board_guest"
ROLES = (OWNER, ADMIN, MANAGER, STAFF, CLIENT, AUDITOR, BOARD)
MISSING = 987654321  # an id no row has: admitted callers get 404, refused ones 403

# permission: (method, path under /api/v1/o/alpha/, roles admitted)
TABLE: dict[str, tuple[str, str, set[str]]] = {
    "site.view": ("get", "sites/", {OWNER, ADMIN, MANAGER, STAFF, CLIENT, AUDITOR}),
    "shift.view": ("get", "shifts/", {OWNER, MANAGER, STAFF, CLIENT, AUDITOR}),
    "shift.create": ("post", "shifts/", {OWNER, MANAGER}),
    "shift.export": ("get", "shifts/export.csv", {OWNER, MANAGER}),
    "leave.view": ("get", "leave/", {OWNER, MANAGER, STAFF, AUDITOR}),
    "leave.create": ("post", "leave/", {OWNER, MANAGER, STAFF}),
    "leave.approve": ("post", f"approvals/leave/{MISSING}/approve/", {OWNER, MANAGER}),
    "expense.view": ("get", "expenses/", {OWNER, MANAGER, STAFF, AUDITOR}),
    "expense.create": ("post", "expenses/", {OWNER, MANAGER, STAFF}),
    "expense.approve": ("post", f"approvals/expense/{MISSING}/approve/", {OWNER, MANAGER}),
    "timesheet.view": ("get", "timesheets/", {OWNER, MANAGER, STAFF, CLIENT, AUDITOR}),
    "timesheet.create": ("post", "timesheets/", {OWNER, MANAGER, STAFF}),
    "timesheet.approve": (
        "post",
        f"approvals/timesheet/{MISSING}/approve/",
        {OWNER, MANAGER, CLIENT},
    ),
    "document.view": ("get", "documents/", {OWNER, MANAGER, STAFF, CLIENT, AUDITOR, BOARD}),
    "document.create": ("post", "documents/", {OWNER, MANAGER}),
    "document.update": ("post", f"documents/{MISSING}/grants/", {OWNER, MANAGER}),
    "client.view": ("get", "clients/", {OWNER, MANAGER, AUDITOR}),
    "client.create": ("post", "clients/", {OWNER, MANAGER}),
    "department.view": ("get", "departments/", {OWNER, ADMIN, MANAGER, STAFF, AUDITOR}),
    "department.create": ("post", "departments/", {OWNER, ADMIN}),
    "department.update": ("patch", f"departments/{MISSING}/", {OWNER, ADMIN}),
    "role.view": ("get", "roles/", {OWNER, ADMIN, AUDITOR}),
    "role.create": ("post", "roles/", {OWNER, ADMIN}),
    "role.update": ("patch", "roles/no-such-role/", {OWNER, ADMIN}),
    "role.delete": ("delete", "roles/no-such-role/", {OWNER, ADMIN}),
    "user.manage": ("get", "invitations/", {OWNER, ADMIN}),
    "audit_log.view": ("get", "audit/events/", {OWNER, ADMIN, AUDITOR}),
    "audit_log.manage": ("get", "audit/sinks/", {OWNER, ADMIN}),
    "settings.view": ("get", "security/ip-allowlist/", {OWNER, ADMIN, AUDITOR}),
    "api_token.view": ("get", "api-tokens/", {OWNER, ADMIN, MANAGER, STAFF, AUDITOR}),
}


@pytest.fixture
def clients(org_a) -> dict[str, Client]:
    acme = make_client(org_a, "Acme Events")
    now = timezone.now()
    members = {}
    for role in ROLES:
        user = make_user(f"{role}@alpha.example")
        if role in (AUDITOR, BOARD):
            with tenant_context(org_a):
                guest_access_grant(
                    user=user, role=role, valid_from=now, valid_until=now + timedelta(days=30)
                )
        elif role == CLIENT:
            make_membership(org_a, user, role=role, client=acme)
        else:
            make_membership(org_a, user, role=role)
        http = Client(HTTP_HOST=settings.PORTAL_HOST)
        http.force_login(user)
        members[role] = http
    return members


@pytest.mark.parametrize("permission", sorted(TABLE))
def test_Z2_Z3_each_default_role_is_admitted_exactly_where_the_table_says(clients, permission):
    method, path, admitted = TABLE[permission]
    outcome = {}
    for role, http in clients.items():
        url = f"/api/v1/o/alpha/{path}"
        if method == "get":
            response = http.get(url)
        else:
            response = getattr(http, method)(url, json.dumps({}), content_type="application/json")
        assert response.status_code < 500, (role, permission, response.content[:300])
        outcome[role] = response.status_code != 403
    assert {role for role, passed in outcome.items() if passed} == admitted, outcome
