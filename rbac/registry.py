"""The permission registry (Z3) and the default roles (Z2), as data.

A permission is ``<subject>.<action>`` over the named subjects below (``site.view``,
``leave.approve``, ``shift.update_own``). Every name a role or a view declares is checked
against the registry when it is declared, so a misspelt permission fails at import instead
of silently admitting or refusing someone.

Custom roles per organisation, visibility scopes and approval rules are later work
(docs/architecture.md, "Authorization").
"""

from __future__ import annotations

from collections.abc import Iterable

SUBJECTS: tuple[str, ...] = (
    "user",
    "organization",
    "site",
    "department",
    "designation",
    "role",
    "shift",
    "attendance",
    "leave",
    "document",
    "issued_document",
    "timesheet",
    "expense",
    "client",
    "pay_rate",
    "audit_log",
    "api_token",
    "export",
    "settings",
    "session",
)

ACTIONS: tuple[str, ...] = (
    "view",
    "create",
    "update",
    "update_own",
    "delete",
    "approve",
    "export",
    "manage",
)

PERMISSIONS: frozenset[str] = frozenset(f"{s}.{a}" for s in SUBJECTS for a in ACTIONS)


class UnknownPermission(ValueError):
    pass


def permission(name: str) -> str:
    """``name`` if the registry knows it; raises otherwise (declarations are validated)."""
    if name not in PERMISSIONS:
        raise UnknownPermission(f"Unknown permission {name!r}; see rbac.registry.PERMISSIONS.")
    return name


def _on(subjects: Iterable[str], actions: Iterable[str]) -> frozenset[str]:
    return frozenset(permission(f"{s}.{a}") for s in subjects for a in actions)


def _named(*names: str) -> frozenset[str]:
    return frozenset(permission(n) for n in names)


OWNER, ADMIN, MANAGER, STAFF = "owner", "admin", "manager", "staff"
CLIENT, AUDITOR, BOARD_GUEST = "client", "auditor", "board_guest"

# Z2: administrative and operational capabilities are separate. Admins run the organisation
# (people, roles, settings, sites, security, the audit log) but approve no operational work
# and see no pay rates; managers run the operation but administer nothing.
_ADMIN_ACTIONS = tuple(a for a in ACTIONS if a != "approve")  # approving is operational
_ADMINISTRATIVE = (
    _on(("user", "role", "settings", "site", "department", "designation"), _ADMIN_ACTIONS)
    | _on(("api_token", "session"), _ADMIN_ACTIONS)
    | _named(
        "organization.view",
        "organization.update",
        "audit_log.view",
        "audit_log.export",
        # Audit streaming sinks (L8).
        "audit_log.manage",
    )
)

_OWN_RECORDS = _named(
    "site.view",
    "department.view",
    "designation.view",
    "shift.view",
    "shift.update_own",
    "attendance.view",
    "attendance.create",
    "attendance.update_own",
    "leave.view",
    "leave.create",
    "leave.update_own",
    "timesheet.view",
    "timesheet.create",
    "timesheet.update_own",
    "expense.view",
    "expense.create",
    "expense.update_own",
    "document.view",
    "issued_document.view",
    # Members mint and revoke their own API tokens; tokens.selectors narrows to their own.
    "api_token.view",
    "api_token.create",
    "api_token.delete",
)

_OPERATIONAL = (
    _OWN_RECORDS
    | _on(("shift", "attendance", "leave", "timesheet", "expense"), ACTIONS)
    | _named(
        "user.view",
        "document.create",
        "document.update",
        "issued_document.create",
        "client.view",
        "pay_rate.view",
    )
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    OWNER: PERMISSIONS,
    ADMIN: _ADMINISTRATIVE,
    MANAGER: _OPERATIONAL,
    STAFF: _OWN_RECORDS,
    AUDITOR: _on(SUBJECTS, ("view",)) | _named("audit_log.export"),
    CLIENT: _named("site.view", "shift.view", "timesheet.view"),
    BOARD_GUEST: _named("organization.view", "document.view"),
}

# Owner > Admin > Manager > Staff (Z2); who may assign which role is not enforced yet.
HIERARCHY: tuple[str, ...] = (OWNER, ADMIN, MANAGER, STAFF)


def has_permission(role: str, name: str) -> bool:
    """Whether a membership with this default role holds the permission."""
    return permission(name) in ROLE_PERMISSIONS.get(role, frozenset())
