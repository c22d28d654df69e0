"""Z2: the role management API. Admins and owners list, create, change and delete roles,
set approval chains and change members' roles, departments and clients; escalation is
refused, mistakes are 400s that change nothing, other organisations' keys and ids are 404s,
and every change is in the role-change trail (L4). A change to what a role allows signs its
holders out (A10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import UserSession
from audit.models import AuditEvent
from audit.selectors import role_change_trail
from rbac.models import ApprovalChain, Role
from rbac.services import role_create
from tenants.context import tenant_context
from tenants.models import Membership
from tests.factories import make_client, make_department, make_membership, make_user
from tokens.services.api_tokens import api_token_create

pytestmark = pytest.mark.django_db

ROLES = "/api/v1/o/alpha/roles/"
MEMBERS = "/api/v1/o/alpha/members/"
CHAINS = "/api/v1/o/alpha/approval-chains/"
SITES = "/api/v1/o/alpha/sites/"

CLERK = {
    "name": "Payroll clerk",
    "description": "Keeps people's records for payroll.",
    # What an admin may grant: the admin role holds no timesheet or expense permission (Z2).
    "permissions": ["user.view", "user.update", "department.view"],
    "scopes": {"timesheet": "all", "expense": "department"},
    "approval_limits": {"expense": "250"},
}


def signed_in(user) -> Client:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


def patch(client: Client, path: str, body: dict):
    return client.patch(path, body, content_type="application/json")


def put(client: Client, path: str, body: dict):
    return client.put(path, body, content_type="application/json")


def roles_of(org) -> dict[str, Role]:
    with tenant_context(org):
        return {role.key: role for role in Role.objects.all()}


def membership_of(org, user) -> Membership:
    with tenant_context(org):
        return Membership.objects.select_related("role_definition").get(user=user)


def trail(org) -> list[AuditEvent]:
    with tenant_context(org):
        return list(role_change_trail())


def assert_signed_out(client: Client) -> None:
    """The next request of a revoked session is a 401 saying why (A10)."""
    response = client.get(SITES)
    assert response.status_code == 401
    assert response.json()["code"] == "session_ended"


@pytest.fixture
def admin(people):
    return signed_in(people["admin"])


@pytest.fixture
def owner(people):
    return signed_in(people["owner"])


# Roles: read and create


def test_Z2_list_has_every_role_with_permissions_scopes_limits_and_member_counts(
    admin, org_a, member_of_a
):
    response = admin.get(ROLES)
    assert response.status_code == 200
    roles = {role["key"]: role for role in response.json()["results"]}
    assert list(roles) == ["owner", "admin", "manager", "staff", "client", "auditor", "board_guest"]
    # ann (member_of_a) is staff too.
    assert {key: role["member_count"] for key, role in roles.items()} == {
        "owner": 1,
        "admin": 1,
        "manager": 1,
        "staff": 2,
        "client": 0,
        "auditor": 0,
        "board_guest": 0,
    }
    manager = roles["manager"]
    assert "leave.approve" in manager["permissions"]
    assert manager["scopes"]["leave"] == "department"
    assert manager["approval_limits"] == {"expense": "1000.00"}
    assert manager["is_default"] and not manager["time_boxed"]


def test_Z2_D8_roles_list_is_cursor_paginated_in_rank_order(admin, org_a):
    with tenant_context(org_a):
        for n in range(4):
            role_create(name=f"Custom {n}", permissions=["site.view"])
    page = admin.get(ROLES, {"page_size": 5}).json()
    assert set(page) == {"next", "previous", "results"} and len(page["results"]) == 5
    keys = [role["key"] for role in page["results"]]
    while page["next"]:
        page = admin.get(page["next"]).json()
        keys += [role["key"] for role in page["results"]]
    # Custom roles rank between the admin and the manager, by name among themselves.
    customs = [f"custom-{n}" for n in range(4)]
    defaults = ["manager", "staff", "client", "auditor", "board_guest"]
    assert keys == ["owner", "admin", *customs, *defaults]


def test_Z2_roles_list_costs_the_same_queries_for_5_and_40_custom_roles(admin, org_a):
    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = admin.get(ROLES)
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    def add(names: range) -> None:
        with tenant_context(org_a):
            for n in names:
                role_create(name=f"Custom {n}", permissions=["site.view"])

    add(range(5))
    few, listed = queries()
    assert listed == 7 + 5
    add(range(5, 40))
    many, listed = queries()
    assert listed == 7 + 40
    assert many == few


def test_Z2_admin_creates_a_custom_role_and_it_is_in_the_trail(admin, org_a):
    response = admin.post(ROLES, CLERK, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"] == "payroll-clerk"
    assert body["permissions"] == ["department.view", "user.update", "user.view"]
    assert body["scopes"] == {"timesheet": "all", "expense": "department"}
    assert body["approval_limits"] == {"expense": "250.00"}
    assert (body["is_default"], body["member_count"], body["rank"]) == (False, 0, 15)
    clerk = roles_of(org_a)["payroll-clerk"]
    assert clerk.name == "Payroll clerk"
    [created] = [e for e in trail(org_a) if e.action == "role.created"]
    assert created.entity_id == str(clerk.pk)
    assert created.changes["permissions"] == [None, body["permissions"]]
    assert admin.get(f"{ROLES}payroll-clerk/").json() == body


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"permissions": ["site.view", "site.teleport"]}, "permissions", "site.teleport"),
        ({"permissions": ["nonsense"]}, "permissions", "Unknown permissions: nonsense"),
        ({"scopes": {"payroll": "all"}}, "scopes", "payroll: all"),
        ({"scopes": {"leave": "everyone"}}, "scopes", "leave: everyone"),
        ({"approval_limits": {"expense": "-5"}}, "approval_limits", "0 or more"),
        ({"approval_limits": {"expense": "lots"}}, "approval_limits", "0 or more"),
        ({"approval_limits": {"site": "10"}}, "approval_limits", "not approved by anyone"),
        ({"name": "  "}, "name", ""),
        ({"name": "Admin"}, "name", "already exists"),
        ({"name": "New"}, "name", "is reserved"),
        ({"permissions": "site.view"}, "permissions", ""),
        ({"scopes": ["leave"]}, "scopes", ""),
    ],
)
def test_Z2_invalid_role_is_400_with_a_message_and_creates_nothing(
    admin, org_a, change, field, message
):
    before = set(roles_of(org_a))
    response = admin.post(ROLES, {**CLERK, **change}, content_type="application/json")
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    assert set(roles_of(org_a)) == before
    assert not [e for e in trail(org_a) if e.action == "role.created"]


@pytest.mark.parametrize("permission", ["pay_rate.view", "leave.approve"])
def test_Z2_admin_cannot_create_a_role_with_a_permission_the_admin_role_lacks(
    admin, org_a, permission
):
    body = {**CLERK, "permissions": ["site.view", permission]}
    response = admin.post(ROLES, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["permissions"] == [
        f"You cannot grant permissions you do not hold: {permission}."
    ]
    assert "payroll-clerk" not in roles_of(org_a)


@pytest.mark.parametrize("permission", ["pay_rate.view", "leave.approve"])
def test_Z2_admin_cannot_extend_a_role_with_a_permission_the_admin_role_lacks(
    admin, org_a, permission
):
    assert admin.post(ROLES, CLERK, content_type="application/json").status_code == 201
    for key in ("payroll-clerk", "staff"):
        before = roles_of(org_a)[key].permissions
        response = patch(admin, f"{ROLES}{key}/", {"permissions": [*before, permission]})
        assert response.status_code == 400
        assert permission in response.json()["permissions"][0]
        assert roles_of(org_a)[key].permissions == before


def test_Z2_an_owner_may_grant_what_only_owners_hold(owner, org_a):
    body = {**CLERK, "permissions": ["pay_rate.view", "timesheet.approve"]}
    assert owner.post(ROLES, body, content_type="application/json").status_code == 201
    assert roles_of(org_a)["payroll-clerk"].permissions == ["pay_rate.view", "timesheet.approve"]


def test_Z2_an_admin_may_remove_what_the_admin_role_lacks(admin, org_a):
    """Only additions must be grantable: an admin can narrow the manager role."""
    manager = roles_of(org_a)["manager"].permissions
    narrower = [p for p in manager if p != "leave.approve"]
    response = patch(admin, f"{ROLES}manager/", {"permissions": narrower})
    assert response.status_code == 200, response.content
    assert "leave.approve" not in roles_of(org_a)["manager"].permissions


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_Z2_members_without_role_permissions_get_403_on_the_roles_api(
    people, org_a, member_of_a, role
):
    client = signed_in(people[role])
    assert client.get(ROLES).status_code == 403
    assert client.get(f"{ROLES}staff/").status_code == 403
    assert client.post(ROLES, CLERK, content_type="application/json").status_code == 403
    assert patch(client, f"{ROLES}staff/", {"name": "Crew"}).status_code == 403
    assert client.delete(f"{ROLES}client/").status_code == 403
    assert client.get(f"{CHAINS}expense/").status_code == 403
    assert put(client, f"{CHAINS}expense/", {"steps": [["owner"]]}).status_code == 403
    target = membership_of(org_a, member_of_a).pk
    assert patch(client, f"{MEMBERS}{target}/", {"role": "manager"}).status_code == 403
    assert roles_of(org_a)["staff"].name == "Staff"
    assert membership_of(org_a, member_of_a).role == "staff"


# Roles: change and delete


def test_Z2_owner_role_keeps_every_permission(owner, org_a):
    response = patch(owner, f"{ROLES}owner/", {"permissions": ["site.view"]})
    assert response.status_code == 400
    assert response.json()["permissions"] == ["The owner role always holds every permission."]
    response = patch(owner, f"{ROLES}owner/", {"description": "The founders."})
    assert response.status_code == 200
    assert roles_of(org_a)["owner"].description == "The founders."


def test_Z2_an_admin_cannot_change_the_owner_role(admin, org_a):
    response = patch(admin, f"{ROLES}owner/", {"name": "Big boss"})
    assert response.status_code == 400
    assert response.json()["role"] == ["You cannot change a role ranked above your own."]
    assert roles_of(org_a)["owner"].name == "Owner"


def test_Z2_a_role_cannot_take_another_roles_name(admin, org_a):
    response = patch(admin, f"{ROLES}staff/", {"name": "Manager"})
    assert response.status_code == 400
    assert response.json()["name"] == ["A role named 'Manager' already exists."]
    assert roles_of(org_a)["staff"].name == "Staff"


def test_Z2_update_is_in_the_trail_with_only_what_changed(admin, org_a):
    response = patch(admin, f"{ROLES}staff/", {"name": "Crew", "scopes": {"leave": "department"}})
    assert response.status_code == 200
    assert response.json()["name"] == "Crew"
    [updated] = [e for e in trail(org_a) if e.action == "role.updated"]
    assert set(updated.changes) == {"name", "scopes"}
    assert updated.changes["name"] == ["Staff", "Crew"]
    assert updated.changes["scopes"][1] == {"leave": "department"}


@pytest.mark.parametrize("key", ["owner", "admin", "staff", "client", "board_guest"])
def test_Z2_default_roles_cannot_be_deleted(admin, org_a, key):
    response = admin.delete(f"{ROLES}{key}/")
    assert response.status_code == 400
    assert response.json()["role"] == ["Default roles cannot be deleted."]
    assert key in roles_of(org_a)


def test_Z2_a_role_in_use_cannot_be_deleted(admin, org_a, member_of_a):
    assert admin.post(ROLES, CLERK, content_type="application/json").status_code == 201
    assert (
        patch(
            admin, f"{MEMBERS}{membership_of(org_a, member_of_a).pk}/", {"role": "payroll-clerk"}
        ).status_code
        == 200
    )
    response = admin.delete(f"{ROLES}payroll-clerk/")
    assert response.status_code == 400
    assert response.json()["role"] == ["Members or invitations still hold this role."]
    assert "payroll-clerk" in roles_of(org_a)


def test_Z2_an_unused_custom_role_is_deleted_and_the_deletion_is_in_the_trail(admin, org_a):
    assert admin.post(ROLES, CLERK, content_type="application/json").status_code == 201
    role_id = roles_of(org_a)["payroll-clerk"].pk
    assert admin.delete(f"{ROLES}payroll-clerk/").status_code == 204
    assert "payroll-clerk" not in roles_of(org_a)
    assert admin.get(f"{ROLES}payroll-clerk/").status_code == 404
    [deleted] = [e for e in trail(org_a) if e.action == "role.deleted"]
    assert (deleted.entity_type, deleted.entity_id) == ("rbac.role", str(role_id))
    assert deleted.changes["name"] == ["Payroll clerk", None]
    served = admin.get("/api/v1/o/alpha/audit/trails/roles/").json()["results"]
    assert [e["action"] for e in served if e["action"].startswith("role.")] == [
        "role.created",
        "role.deleted",
    ]


def test_A10_changing_what_a_role_allows_signs_its_holders_out_and_no_one_else(
    admin, people, org_a
):
    staff, manager = signed_in(people["staff"]), signed_in(people["manager"])
    assert staff.get(SITES).status_code == 200
    # Wording only: nobody is signed out.
    assert patch(admin, f"{ROLES}staff/", {"description": "Crew."}).status_code == 200
    assert staff.get(SITES).status_code == 200
    permissions = [p for p in roles_of(org_a)["staff"].permissions if p != "expense.create"]
    assert patch(admin, f"{ROLES}staff/", {"permissions": permissions}).status_code == 200
    assert_signed_out(staff)
    assert manager.get(SITES).status_code == 200
    assert admin.get(ROLES).status_code == 200
    people["staff"].refresh_from_db()  # its session generation moved on
    assert signed_in(people["staff"]).get(SITES).status_code == 200  # signing in again works
    ended = UserSession.objects.filter(user=people["staff"], ended_at__isnull=False)
    assert {record.end_reason for record in ended} == {UserSession.EndReason.ROLE_CHANGED}
    assert not UserSession.objects.filter(user=people["manager"], ended_at__isnull=False)


# Another organisation's roles and members


@pytest.fixture
def bravo_role_and_member(org_b):
    outsider = make_user("bob@bravo.example")
    with tenant_context(org_b):
        role_create(name="Bravo only", permissions=["site.view"])
    return make_membership(org_b, outsider)


def test_Z2_another_organisations_role_key_and_member_id_are_404(
    admin, org_a, org_b, bravo_role_and_member
):
    assert admin.get(f"{ROLES}bravo-only/").status_code == 404
    assert patch(admin, f"{ROLES}bravo-only/", {"name": "Mine"}).status_code == 404
    assert admin.delete(f"{ROLES}bravo-only/").status_code == 404
    assert admin.get(f"{ROLES}no-such-role/").status_code == 404
    member = f"{MEMBERS}{bravo_role_and_member.pk}/"
    assert patch(admin, member, {"role": "manager"}).status_code == 404
    assert (
        patch(admin, f"{MEMBERS}99999999999999999999999/", {"role": "manager"}).status_code == 404
    )
    # Nor can a role of another organisation be given here.
    ann = make_user("ann@alpha.example")
    target = make_membership(org_a, ann)
    response = patch(admin, f"{MEMBERS}{target.pk}/", {"role": "bravo-only"})
    assert response.status_code == 400
    assert response.json()["role"] == ["There is no role 'bravo-only' in this organisation."]
    with tenant_context(org_b):
        assert Membership.objects.get(pk=bravo_role_and_member.pk).role == "staff"
        assert Role.objects.get(key="bravo-only").name == "Bravo only"


# Approval chains


def test_Z6_approval_chain_is_read_and_replaced_and_the_change_is_in_the_trail(admin, org_a):
    assert admin.get(f"{CHAINS}timesheet/").json()["steps"] == [
        ["client", "manager", "owner"],
        ["owner"],
    ]
    response = put(admin, f"{CHAINS}expense/", {"steps": [["manager"], ["owner", "admin"]]})
    assert response.status_code == 200, response.content
    assert response.json()["steps"] == [["manager"], ["admin", "owner"]]
    [updated] = [e for e in trail(org_a) if e.action == "approval_chain.updated"]
    assert updated.changes["steps"] == [[["manager", "owner"]], [["manager"], ["admin", "owner"]]]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([["manager", "overlord"]], "Unknown roles: overlord."),
        ([], "between one and five steps"),
        ([["owner"], []], "between one and five steps"),
        ([["owner"]] * 6, "between one and five steps"),
    ],
)
def test_Z6_invalid_approval_chain_is_400_and_changes_nothing(admin, org_a, steps, message):
    response = put(admin, f"{CHAINS}expense/", {"steps": steps})
    assert response.status_code == 400
    assert message in response.json()["steps"][0]
    with tenant_context(org_a):
        assert ApprovalChain.objects.get(subject="expense").steps == [["manager", "owner"]]


def test_Z6_a_subject_without_approvals_has_no_chain(admin):
    assert admin.get(f"{CHAINS}site/").status_code == 404
    assert put(admin, f"{CHAINS}site/", {"steps": [["owner"]]}).status_code == 404


# Members: role, department, client


def test_Z2_A10_role_change_of_a_member_signs_them_out_and_is_in_the_trail(people, org_a):
    staff = signed_in(people["staff"])
    membership = membership_of(org_a, people["staff"])
    owner = signed_in(people["owner"])
    response = patch(owner, f"{MEMBERS}{membership.pk}/", {"role": "manager"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": membership.pk,
        "email": "staff@alpha.example",
        "role": "manager",
        "department": None,
        "client": None,
        "status": "active",
    }
    assert membership_of(org_a, people["staff"]).role == "manager"
    assert_signed_out(staff)
    changed = [e for e in trail(org_a) if e.action == "membership.role_changed"]
    assert [(e.entity_id, e.changes, e.actor_role) for e in changed] == [
        (str(membership.pk), {"role": ["staff", "manager"]}, "owner")
    ]


def test_Z2_an_admin_cannot_make_anyone_an_approver(admin, people, org_a):
    """Administrative power does not hand out operational power: the manager role approves
    leave and reads pay rates, which the admin role does not."""
    staff = membership_of(org_a, people["staff"])
    response = patch(admin, f"{MEMBERS}{staff.pk}/", {"role": "manager"})
    assert response.status_code == 400
    assert response.json()["role"][0].startswith("The Manager role carries ")
    assert "which your Admin role does not have" in response.json()["role"][0]
    assert "leave.approve" in response.json()["role"][0]
    assert membership_of(org_a, people["staff"]).role == "staff"


def test_Z2_an_admin_cannot_widen_an_approver_role_but_may_narrow_it(admin, org_a):
    wider = patch(admin, f"{ROLES}manager/", {"approval_limits": {"expense": "5000"}})
    assert wider.status_code == 400 and "widen" in wider.json()["scopes"][0]
    everything = patch(admin, f"{ROLES}manager/", {"scopes": {"leave": "all"}})
    assert everything.status_code == 400
    narrower = patch(admin, f"{ROLES}manager/", {"approval_limits": {"expense": "10"}})
    assert narrower.status_code == 200, narrower.content


def test_Z2_an_admin_cannot_make_anyone_an_owner(admin, people, org_a):
    staff = membership_of(org_a, people["staff"])
    response = patch(admin, f"{MEMBERS}{staff.pk}/", {"role": "owner"})
    assert response.status_code == 400
    assert response.json()["role"] == ["You cannot give the Owner role."]
    assert membership_of(org_a, people["staff"]).role == "staff"


def test_Z2_only_an_owner_changes_an_owners_role_or_department(admin, people, org_a):
    owner = membership_of(org_a, people["owner"])
    department = make_department(org_a, "Head office")
    for body in ({"role": "staff"}, {"department": department.pk}):
        response = patch(admin, f"{MEMBERS}{owner.pk}/", body)
        assert response.status_code == 400
        assert "ranks above yours" in str(response.json())
    after = membership_of(org_a, people["owner"])
    assert (after.role, after.department_id) == ("owner", None)


def test_Z2_nobody_changes_their_own_role(owner, admin, people, org_a):
    for role, client in (("owner", owner), ("admin", admin)):
        mine = membership_of(org_a, people[role])
        response = patch(client, f"{MEMBERS}{mine.pk}/", {"role": "staff"})
        assert response.status_code == 400
        assert response.json()["role"] == ["You cannot change your own role."]
        assert membership_of(org_a, people[role]).role == role


def test_Z2_an_owner_demotes_another_owner(owner, people, org_a):
    second = make_user("second-owner@alpha.example")
    make_membership(org_a, second, role="owner")
    target = membership_of(org_a, second)
    assert patch(owner, f"{MEMBERS}{target.pk}/", {"role": "admin"}).status_code == 200
    assert membership_of(org_a, second).role == "admin"


def test_Z4_department_and_client_changes_are_audited_and_in_the_trail(admin, people, org_a):
    north = make_department(org_a, "North")
    acme = make_client(org_a, "Acme")
    staff = membership_of(org_a, people["staff"])
    url = f"{MEMBERS}{staff.pk}/"
    response = patch(admin, url, {"department": north.pk})
    assert response.status_code == 200, response.content
    assert (response.json()["department"], response.json()["client"]) == (north.pk, None)
    response = patch(admin, url, {"client": acme.pk})
    assert (response.json()["department"], response.json()["client"]) == (north.pk, acme.pk)
    assert patch(admin, url, {"department": None}).json()["department"] is None
    changes = [e.changes for e in trail(org_a) if e.action == "membership.assignment_changed"]
    assert changes == [
        {"department": [None, north.pk]},
        {"client": [None, acme.pk]},
        {"department": [north.pk, None]},
    ]
    # A department move is not a role change: the member stays signed in.
    assert signed_in(people["staff"]).get(SITES).status_code == 200


def test_Z4_unknown_or_foreign_department_or_client_is_400_and_changes_nothing(
    admin, people, org_a, org_b
):
    foreign_department = make_department(org_b, "Bravo HQ")
    foreign_client = make_client(org_b, "Bravo's client")
    staff = membership_of(org_a, people["staff"])
    url = f"{MEMBERS}{staff.pk}/"
    for body, field, message in (
        ({"department": 987654}, "department", "There is no department 987654 here."),
        (
            {"department": foreign_department.pk},
            "department",
            f"There is no department {foreign_department.pk} here.",
        ),
        ({"client": foreign_client.pk}, "client", f"There is no client {foreign_client.pk} here."),
        ({"department": "north"}, "department", "Incorrect type"),
        # The role change in the same request is rolled back with the refusal.
        ({"role": "manager", "department": 987654}, "department", "There is no department"),
        ({}, "non_field_errors", "Give a role, a department or a client."),
    ):
        response = patch(admin, url, body)
        assert response.status_code == 400, body
        assert message in response.json()[field][0], body
    after = membership_of(org_a, people["staff"])
    assert (after.role, after.department_id, after.client_id) == ("staff", None, None)
    assert not [e for e in trail(org_a) if e.action != "membership.created"]


# API tokens


def test_A17_Z2_tokens_need_the_roles_scopes(people, org_a):
    with tenant_context(org_a):
        token = api_token_create(
            owner=people["admin"],
            name="Role sync",
            scopes=["roles:read"],
            expires_at=timezone.now() + timedelta(days=30),
            second_factor_verified=False,
        ).token
    client = Client(HTTP_HOST=settings.PORTAL_HOST, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(ROLES).json()["results"]
    response = client.post(ROLES, CLERK, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "payroll-clerk" not in roles_of(org_a)
