"""What the super-admin site reads (Z8).

Organisations and users are platform rows. Member counts are tenant data: each is read inside
that organisation's own context (RLS applies as for any request), never across tenants; the
only way across is ``support_summary`` through ``tenants.cross_tenant``, which is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from tenants.context import tenant_context
from tenants.cross_tenant import CrossTenantSession
from tenants.models import Membership, Organization
from workforce.models import Shift, Site


def organizations() -> QuerySet[Organization]:
    return Organization.objects.order_by("name", "pk")


def access_organization(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise Http404("No such organisation")
    return organization


def active_member_counts(page: list[Organization]) -> dict[int, int]:
    """Active members per organisation of one page, each counted in its own context."""
    counts = {}
    for organization in page:
        with tenant_context(organization):
            counts[organization.pk] = Membership.objects.filter(
                status=Membership.Status.ACTIVE
            ).count()
    return counts


def platform_users(search: str = "") -> QuerySet[User]:
    users = User.objects.order_by("email", "pk")
    if search.strip():
        users = users.filter(email__icontains=search.strip())
    return users


def access_user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404("No such user")
    return user


@dataclass(frozen=True)
class SupportSummary:
    members: int
    active_members: int
    sites: int
    shifts: int


def support_summary(session: CrossTenantSession) -> SupportSummary:
    """Counts only: support sees the shape of an organisation, not its people's data."""
    memberships = session.queryset(Membership)
    return SupportSummary(
        members=memberships.count(),
        active_members=memberships.filter(status=Membership.Status.ACTIVE).count(),
        sites=session.queryset(Site).filter(deleted_at__isnull=True).count(),
        shifts=session.queryset(Shift).filter(deleted_at__isnull=True).count(),
    )
