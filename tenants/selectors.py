from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, QuerySet, Subquery

from tenants.context import own_memberships_context
from tenants.models import (
    IpAllowlistEntry,
    Membership,
    MembershipQuerySet,
    Organization,
    SecurityPolicy,
)


def memberships_for_user(user) -> list[tuple[Organization, str]]:
    """The active organisations a user is an active member of, with their role there (A16).

    There is no organisation context here, so the tenant manager would (rightly) refuse; the
    rows are read through the ``own_rows`` RLS policy instead, which shows this user's own
    membership rows and nothing else.
    """
    with own_memberships_context(user.pk):
        memberships = (
            MembershipQuerySet(Membership)
            .filter(user=user, organization__status=Organization.Status.ACTIVE)
            .active()
            .select_related("organization")
            .order_by("organization__name")
        )
        return [(membership.organization, membership.role) for membership in memberships]


def organizations_for_user(user) -> list[Organization]:
    return [organization for organization, _ in memberships_for_user(user)]


def member_user_ids() -> QuerySet[Membership]:
    """Ids of every user with a membership in the current organisation, whatever its state,
    as a subquery (A10: "sign everyone out")."""
    return Membership.objects.values("user_id")


def active_membership(user) -> Membership | None:
    """The user's active membership in the current organisation (T5), carrying the
    organisation's session limits as ``idle_timeout_minutes`` and ``absolute_timeout_hours``
    (A9), its second-factor rule as ``second_factor_required`` and
    ``second_factor_grace_until`` (A4) and its IP allowlist as ``ip_allowlist`` (the
    networks, as text) and ``ip_allowlist_suspended_at`` (A12), so the per-request checks
    cost no query of their own."""
    policy = SecurityPolicy.objects.filter(organization_id=OuterRef("organization_id"))
    allowlist = IpAllowlistEntry.objects.filter(organization_id=OuterRef("organization_id"))
    return (
        Membership.objects.active()
        .filter(user=user)
        # Z3, Z4: the role and the department, for permission and scope checks.
        .select_related("role_definition", "department")
        .annotate(
            idle_timeout_minutes=Subquery(policy.values("idle_timeout_minutes")),
            absolute_timeout_hours=Subquery(policy.values("absolute_timeout_hours")),
            second_factor_required=Subquery(policy.values("second_factor_required")),
            second_factor_grace_until=Subquery(policy.values("second_factor_grace_until")),
            ip_allowlist=ArraySubquery(allowlist.values("cidr")),
            ip_allowlist_suspended_at=Subquery(policy.values("ip_allowlist_suspended_at")),
        )
        .first()
    )
