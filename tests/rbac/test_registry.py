"""Z2, Z3: the permission registry and what each default role holds."""

from __future__ import annotations

import pytest

from rbac.permissions import requires, requires_any
from rbac.registry import (
    ACTIONS,
    DEFAULT_APPROVAL_CHAINS,
    PERMISSIONS,
    ROLE_PERMISSIONS,
    SENSITIVE,
    SUBJECTS,
    UnknownPermission,
    has_permission,
)

OWNER, ADMIN, MANAGER, STAFF, AUDITOR = "owner", "admin", "manager", "staff", "auditor"

# permission: the default roles that hold it (the others must not).
EXPECTED = {
    "site.view": {OWNER, ADMIN, MANAGER, STAFF, AUDITOR},
    "site.create": {OWNER, ADMIN},
    "user.manage": {OWNER, ADMIN},
    "user.view": {OWNER, ADMIN, MANAGER, AUDITOR},
    "role.update": {OWNER, ADMIN},
    "settings.manage": {OWNER, ADMIN},
    "settings.view": {OWNER, ADMIN, AUDITOR},
    "session.manage": {OWNER, ADMIN},
    "organization.manage": {OWNER},
    "audit_log.view": {OWNER, ADMIN, AUDITOR},
    "audit_log.export": {OWNER, AUDITOR},
    "audit_log.manage": {OWNER, ADMIN},
    # Z2: approvals and pay are operational, not administrative.
    "timesheet.approve": {OWNER, MANAGER},
    "expense.approve": {OWNER, MANAGER},
    "leave.approve": {OWNER, MANAGER},
    "pay_rate.view": {OWNER, MANAGER, AUDITOR},
    "pay_rate.update": {OWNER},
    "shift.update": {OWNER, MANAGER},
    "shift.update_own": {OWNER, MANAGER, STAFF},
    "leave.create": {OWNER, MANAGER, STAFF},
    "api_token.create": {OWNER, ADMIN, MANAGER, STAFF},
}


@pytest.mark.parametrize("permission", sorted(EXPECTED))
@pytest.mark.parametrize("role", [OWNER, ADMIN, MANAGER, STAFF, AUDITOR])
def test_Z2_default_roles_hold_exactly_their_sample_permissions(role, permission):
    assert has_permission(role, permission) is (role in EXPECTED[permission])


def test_Z2_admin_has_no_operational_approvals_or_pay_rates():
    assert not {p for p in ROLE_PERMISSIONS[ADMIN] if p.endswith(".approve")}
    assert not {p for p in ROLE_PERMISSIONS[ADMIN] if p.startswith("pay_rate.")}


def test_Z2_owner_holds_everything_and_the_auditor_only_reads():
    assert ROLE_PERMISSIONS[OWNER] == PERMISSIONS
    assert {p.split(".")[1] for p in ROLE_PERMISSIONS[AUDITOR]} == {"view", "export"}
    assert {p for p in ROLE_PERMISSIONS[AUDITOR] if p.endswith(".export")} == {"audit_log.export"}


def test_Z2_hierarchy_each_role_holds_no_more_than_the_one_above():
    assert ROLE_PERMISSIONS[MANAGER] | ROLE_PERMISSIONS[ADMIN] <= ROLE_PERMISSIONS[OWNER]
    assert ROLE_PERMISSIONS[STAFF] <= ROLE_PERMISSIONS[MANAGER]


def test_Z2_client_and_board_guest_are_minimal_and_the_client_approves_only_timesheets():
    # Z6: a client's contact confirms the hours worked for them (their own client's only,
    # rbac.approvals); nothing else they hold changes anything.
    assert ROLE_PERMISSIONS["client"] == {
        "site.view",
        "shift.view",
        "timesheet.view",
        "timesheet.approve",
        "document.view",
        "bill_rate.view",
    }
    assert ROLE_PERMISSIONS["board_guest"] == {"organization.view", "document.view"}


def test_Z2_the_client_role_is_sensitive_so_only_approvers_give_it():
    assert ROLE_PERMISSIONS["client"] & SENSITIVE == {"timesheet.approve"}
    assert not ROLE_PERMISSIONS[ADMIN] & SENSITIVE


def test_Z6_default_chains_the_client_confirms_timesheet_hours_then_an_owner_signs_off():
    assert DEFAULT_APPROVAL_CHAINS == {
        "leave": (("manager", "owner"),),
        "expense": (("manager", "owner"),),
        "timesheet": (("client", "manager", "owner"), ("owner",)),
    }


def test_Z3_permission_names_are_subject_dot_action():
    assert "shift.update_own" in PERMISSIONS and "leave.approve" in PERMISSIONS
    assert len(PERMISSIONS) == len(SUBJECTS) * len(ACTIONS)


def test_Z3_unknown_permission_names_are_refused_when_declared():
    with pytest.raises(UnknownPermission):
        requires("site.veiw")
    with pytest.raises(UnknownPermission):
        requires({"GET": "site.view", "POST": "sites.create"})
    with pytest.raises(UnknownPermission):
        requires_any("shift.delete", "leave.delte")
    with pytest.raises(ValueError, match="at least one"):
        requires_any()
    with pytest.raises(UnknownPermission):
        has_permission(OWNER, "payroll.view")


def test_Z2_unknown_role_holds_nothing():
    assert not has_permission("superuser", "site.view")
