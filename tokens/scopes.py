"""Per-resource scopes of API tokens (A17), and how endpoints declare theirs.

An organisation API view declares, per HTTP method, the scope a token needs to call it, with
``required_scopes = token_scopes(read=..., write=...)``. ``tokens.middleware`` refuses (403)
an API-token request to a view that declares none for the method, or whose scope the token
lacks: nothing is open to tokens by default (Z1). The view's own role permissions still run
for the token's owner, so a token never does more than its owner may do now.

Browser sessions and token-mode access tokens (A8) are their user signed in, and are not
scoped.
"""

from __future__ import annotations

from collections.abc import Mapping

# Every scope a token can hold; tokens are created only with scopes from this list, and a
# test checks that every scope a view declares is in it.
SCOPES: dict[str, str] = {
    "sites:read": "Read sites",
    "sites:write": "Change, delete and restore sites",
    "shifts:read": "Read and export shifts",
    "shifts:write": "Create, change, delete and restore shifts",
    "leave:read": "Read leave requests",
    "leave:write": "Ask for leave, change one's own pending requests; delete and restore",
    "expenses:read": "Read expenses",
    "expenses:write": "Claim expenses, change one's own pending claims; delete and restore",
    "timesheets:read": "Read timesheets",
    "timesheets:write": "Submit timesheets, change one's own pending ones; delete and restore",
    "documents:read": "Read documents",
    "documents:write": "File, change, delete and restore documents",
    "clients:read": "Read clients",
    "clients:write": "Create, change, delete and restore clients",
    "departments:read": "Read the department tree",
    "departments:write": "Create, move and set the heads of departments",
    "audit_log:read": "Read the audit log, its trails, checkpoints and proofs, and verify it",
    "audit_log:export": "Export the audit log",
    "audit_sinks:read": "Read audit streaming sinks and their delivery status",
    "audit_sinks:write": "Create and deactivate audit streaming sinks",
    "invitations:read": "Read invitations",
    "invitations:write": "Invite people and revoke invitations",
    "members:write": "Create member accounts and change members' role, department or client",
    "roles:read": "Read roles and approval chains",
    "roles:write": "Create, change and delete roles; change approval chains",
    "ip_allowlist:read": "Read the IP allowlist",
    "ip_allowlist:write": "Change the IP allowlist and resume it (never break-glass)",
    "approvals:read": "Read where leave, expenses and timesheets stand in their approvals",
    "approvals:write": "Approve and reject leave, expenses and timesheets",
    "documents:share": "Share documents with single members and withdraw the grants",
    "attendance:read": "Read attendance",
    "attendance:write": "Clock in and out of one's own shifts",
    "designations:read": "Read designations",
    "designations:write": "Create designations",
    "staff_profiles:read": "Read staff profiles",
    "staff_profiles:write": "Change staff profiles",
    "issued_documents:read": "Read issued contracts and letters",
    "issued_documents:write": "Issue contracts and letters",
}

READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def token_scopes(*, read: str | None = None, write: str | None = None) -> Mapping[str, str]:
    """What a view declares: the scope reads (GET, HEAD) need and the one writes need."""
    declared: dict[str, str] = {}
    for scope, methods in ((read, READ_METHODS), (write, WRITE_METHODS)):
        if scope is not None:
            if scope not in SCOPES:
                raise ValueError(f"Unknown API token scope {scope!r}; add it to SCOPES.")
            declared.update(dict.fromkeys(methods, scope))
    return declared


def required_scope(view_class: type | None, method: str) -> str | None:
    """The scope a token needs for ``method`` on this view, or None when tokens may not."""
    declared: Mapping[str, str] = getattr(view_class, "required_scopes", None) or {}
    return declared.get(method)
