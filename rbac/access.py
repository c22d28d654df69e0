"""The one permission check (Z3): does this membership's role hold this permission. The role
row arrives with the membership (``tenants.selectors.active_membership``), so checking costs
no query."""

from __future__ import annotations

from rbac.registry import permission


def membership_has(membership, name: str) -> bool:
    role = membership.role_definition
    return role is not None and permission(name) in role.permissions
