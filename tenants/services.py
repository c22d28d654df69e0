from django.db import transaction

from keys.services import keyring_create
from tenants.context import tenant_context
from tenants.models import Membership, Organization


@transaction.atomic
def organization_create(*, name: str, slug: str) -> Organization:
    organization = Organization(name=name.strip(), slug=slug)
    organization.full_clean()
    organization.save()
    # E2: every organisation gets its own keys when it is created.
    with tenant_context(organization):
        keyring_create()
    return organization


@transaction.atomic
def membership_create(*, user, role: str = Membership.Role.STAFF) -> Membership:
    """Adds ``user`` to the organisation of the current context."""
    membership = Membership(user=user, role=role)
    membership.full_clean(exclude=["organization"])
    membership.save()
    return membership
