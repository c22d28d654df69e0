"""What the super-admin site changes (Z8), one function per use case.

Organisations are platform rows (``tenants_organization`` has no RLS), but what happens to an
organisation is recorded in that organisation's own audit log (X2), with the platform
operator as the actor, so its owners see who suspended, reactivated or offboarded them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from accounts.services import user_deactivate
from accounts.sessions.services import organization_sign_everyone_out
from audit.context import Actor, acting_as
from audit.services import audit_event_record
from tenants.context import tenant_context
from tenants.models import Organization
from tenants.services import organization_create

Status = Organization.Status


def platform_actor(operator: User) -> Actor:
    return Actor(type="platform", id=str(operator.pk), label=operator.email, role="platform-admin")


def organization_create_by_platform(*, operator: User, name: str, slug: str) -> Organization:
    with acting_as(platform_actor(operator)):
        return organization_create(name=name, slug=slug)


# Which status each change leaves from. Offboarding is final: an offboarded organisation's
# people have been signed out and its data is on its way out, so it is not reactivated here.
_CHANGES = {
    "suspend": ({Status.ACTIVE}, Status.SUSPENDED, "organization.suspended"),
    "reactivate": ({Status.SUSPENDED}, Status.ACTIVE, "organization.reactivated"),
    "offboard": ({Status.ACTIVE, Status.SUSPENDED}, Status.OFFBOARDED, "organization.offboarded"),
}


@transaction.atomic
def _organization_status_change(
    *, operator: User, organization: Organization, change: str, reason: str
) -> Organization:
    allowed_from, to, action = _CHANGES[change]
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.status not in allowed_from:
        raise ValidationError(
            f"{organization.name} is {organization.get_status_display().lower()}: "
            f"it cannot be {action.split('.')[1]}."
        )
    before = organization.status
    organization.status = to
    organization.save(update_fields=["status"])
    with tenant_context(organization), acting_as(platform_actor(operator)):
        audit_event_record(
            action=action,
            entity=organization,
            changes={"status": [before, to], "reason": [None, reason.strip()]},
        )
        if to != Status.ACTIVE:
            # A10: every member's sessions end in this transaction; their next request,
            # anywhere, is anonymous (the tenant layer refuses the organisation in any case).
            organization_sign_everyone_out(keep_current=False)
    return organization


def organization_suspend(*, operator: User, organization: Organization, reason: str = ""):
    return _organization_status_change(
        operator=operator, organization=organization, change="suspend", reason=reason
    )


def organization_reactivate(*, operator: User, organization: Organization, reason: str = ""):
    return _organization_status_change(
        operator=operator, organization=organization, change="reactivate", reason=reason
    )


def organization_offboard(*, operator: User, organization: Organization, reason: str = ""):
    return _organization_status_change(
        operator=operator, organization=organization, change="offboard", reason=reason
    )


def platform_user_deactivate(*, operator: User, user: User) -> User:
    """A platform operator switches an account off (A10: every session ends now); recorded in
    each of the person's organisations with the operator as the actor."""
    if user.pk == operator.pk:
        raise ValidationError("You cannot deactivate your own account here.")
    if not user.is_active:
        raise ValidationError(f"{user.email} is already deactivated.")
    with acting_as(platform_actor(operator)):
        return user_deactivate(user=user)
