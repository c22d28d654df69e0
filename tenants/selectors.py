from tenants.context import own_memberships_context
from tenants.models import Membership, MembershipQuerySet, Organization


def organizations_for_user(user) -> list[Organization]:
    """The active organisations a user is an active member of (A16).

    There is no organisation context here, so the tenant manager would (rightly) refuse; the
    rows are read through the ``own_rows`` RLS policy instead, which shows this user's own
    membership rows and nothing else.
    """
    with own_memberships_context(user.pk):
        memberships = MembershipQuerySet(Membership).filter(user=user).active()
        return list(
            Organization.objects.filter(
                status=Organization.Status.ACTIVE,
                id__in=memberships.values("organization_id"),
            )
        )
