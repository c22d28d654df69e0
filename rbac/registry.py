"""The permission registry (Z3) and the default roles (Z2), as data.

A permission is ``<subject>.<action>`` over the named subjects below (``site.view``,
``leave.approve``, ``shift.update_own``). Every name a role or a view declares is checked
against the registry when it is declared, so a misspelt permission fails at import instead
of silently admitting or refusing someone.

The default roles below are data: ``rbac.services.default_roles_seed`` copies them into every
new organisation as ``rbac.Role`` rows, which is what requests are checked against; an
organisation adds custom roles of its own. Fields that only some roles may receive (bill
rates, pay rates, margins, internal notes) are subjects too, so the same check decides them
(Z7, ``rbac.fields``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
    # Z7: fields, not records; only ``view`` is meaningful.
    "bill_rate",
    "margin",
    "internal_note",
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
        # Read without the values of pay (rbac.fields.withheld_changes). Exporting the whole
        # log would hand them over, so it is not an admin's; adding a streaming sink (L8),
        # which audit_log.manage also gives, is refused to them the same way.
        "audit_log.view",
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
        "client.create",
        "client.update",
        "pay_rate.view",
        "bill_rate.view",
        "margin.view",
        "internal_note.view",
    )
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    OWNER: PERMISSIONS,
    ADMIN: _ADMINISTRATIVE,
    MANAGER: _OPERATIONAL,
    STAFF: _OWN_RECORDS,
    AUDITOR: _on(SUBJECTS, ("view",)) | _named("audit_log.export"),
    # A client's contact confirms the hours worked for them (rbac.approvals: only their own
    # client's timesheets). Holding an approval makes this role sensitive: only members who
    # approve timesheets themselves (owners, by default) may give it.
    CLIENT: _named(
        "site.view",
        "shift.view",
        "timesheet.view",
        "timesheet.approve",
        "document.view",
        "bill_rate.view",
    ),
    BOARD_GUEST: _named("organization.view", "document.view"),
}

# Z2: what keeps operational power apart from administrative power. Only a member who holds
# these may hand them out, by role assignment or by changing a role that carries them: an
# admin who manages people cannot make anyone (a second account of their own included) an
# approver or a reader of pay and margins.
SENSITIVE: frozenset[str] = frozenset(
    name
    for name in PERMISSIONS
    if name.endswith(".approve") or name.split(".")[0] in ("pay_rate", "margin")
)

# Z4: the modules whose rows are filtered by scope (rbac.scopes).
SCOPED_MODULES: tuple[str, ...] = (
    "shift",
    "attendance",
    "leave",
    "timesheet",
    "expense",
    "document",
    "issued_document",
)
ALL, DEPARTMENT, OWN = "all", "department", "own"
SCOPES: tuple[str, ...] = (ALL, DEPARTMENT, OWN)


@dataclass(frozen=True)
class DefaultRole:
    key: str
    name: str
    rank: int
    permissions: frozenset[str]
    scopes: Mapping[str, str] = field(default_factory=dict)
    approval_limits: Mapping[str, str] = field(default_factory=dict)
    time_boxed: bool = False
    description: str = ""


def _every_module(scope: str) -> dict[str, str]:
    return dict.fromkeys(SCOPED_MODULES, scope)


# Owner > Admin > Manager > Staff (Z2): rank orders them; nobody assigns a role ranked above
# their own, and custom roles rank below the admin.
DEFAULT_ROLES: tuple[DefaultRole, ...] = (
    DefaultRole(
        OWNER,
        "Owner",
        0,
        ROLE_PERMISSIONS[OWNER],
        _every_module(ALL),
        description="Everything, including approvals and pay.",
    ),
    DefaultRole(
        ADMIN,
        "Admin",
        10,
        ROLE_PERMISSIONS[ADMIN],
        _every_module(ALL),
        description="People, roles, settings, security and the audit log (without pay); "
        "no approvals and no pay rates.",
    ),
    DefaultRole(
        MANAGER,
        "Manager",
        20,
        ROLE_PERMISSIONS[MANAGER],
        _every_module(DEPARTMENT),
        approval_limits={"expense": "1000.00"},
        description="Runs the operation in their department and the ones below it.",
    ),
    DefaultRole(
        STAFF,
        "Staff",
        30,
        ROLE_PERMISSIONS[STAFF],
        _every_module(OWN),
        description="Their own shifts, leave, timesheets and expenses.",
    ),
    DefaultRole(
        CLIENT,
        "Client",
        40,
        ROLE_PERMISSIONS[CLIENT],
        _every_module(OWN),
        description="A client's contact: their sites, shifts and timesheets, and confirming "
        "the hours worked for them.",
    ),
    DefaultRole(
        AUDITOR,
        "Auditor",
        50,
        ROLE_PERMISSIONS[AUDITOR],
        _every_module(ALL),
        time_boxed=True,
        description="Reads everything for a limited time.",
    ),
    DefaultRole(
        BOARD_GUEST,
        "Board guest",
        60,
        ROLE_PERMISSIONS[BOARD_GUEST],
        _every_module(OWN),
        time_boxed=True,
        description="Documents shared with them, for a limited time.",
    ),
)
# Custom roles rank here: below the admin, so an admin can assign them.
CUSTOM_ROLE_RANK = 15

# The first approval steps of each approvable subject (Z6). Payroll-like timesheets take two:
# the hours are confirmed by the client they were worked for (or a manager or owner, for
# internal work), then an owner signs them off for payroll. Organisations change their
# chains; these are the seeds, so existing organisations keep theirs.
DEFAULT_APPROVAL_CHAINS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "leave": ((MANAGER, OWNER),),
    "expense": ((MANAGER, OWNER),),
    "timesheet": ((CLIENT, MANAGER, OWNER), (OWNER,)),
}


def has_permission(role: str, name: str) -> bool:
    """Whether the default role with this key holds the permission (the seeds; requests are
    checked against the organisation's own ``rbac.Role``)."""
    return permission(name) in ROLE_PERMISSIONS.get(role, frozenset())
