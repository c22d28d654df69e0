"""Reads for role management (Z2, Z6): the organisation's roles, approval chains and the
members whose roles are changed, within the current organisation (the tenant manager and
RLS), so another organisation's keys and ids are 404s."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from rbac.models import ApprovalChain, Role
from tenants.models import Membership


def roles_list() -> QuerySet[Role]:
    """Every role, highest first, each with ``member_count`` (memberships of any status that
    hold it: what keeps it from being deleted) counted in the same query."""
    return Role.objects.annotate(member_count=Count("memberships")).order_by("rank", "name")


def access_role(key: str) -> Role:
    """The role with this key, or 404: a key of another organisation is simply not here."""
    return get_object_or_404(roles_list(), key=key)


def access_approval_chain(subject: str) -> ApprovalChain:
    return get_object_or_404(ApprovalChain.objects, subject=subject)


def access_member(membership_id: int) -> Membership:
    """A member of this organisation whose role, department or client an admin changes, with
    what the change rules and the answer read; 404 for anyone else's id."""
    return get_object_or_404(
        Membership.objects.select_related("user", "role_definition", "department", "client"),
        pk=membership_id,
    )
