from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import UserSession
from accounts.services import user_create
from accounts.sessions.services import user_sessions_revoke
from audit.services import audit_event_record, changes_between, snapshot
from keys.services import keyring_create
from rbac.registry import OWNER
from rbac.services import default_roles_seed, role_assignable_by, role_by_key
from tenants.context import tenant_context
from tenants.models import Membership, Organization, SecurityPolicy
from workforce.models import Client, Department

MEMBERSHIP_FIELDS = ["user", "role", "status", "valid_from", "valid_until", "department", "client"]
# valid_until must be after valid_from (a database check); revoking access that has not
# started yet ends it one tick after its start.
_ONE_MICROSECOND = timedelta(microseconds=1)


@transaction.atomic
def organization_create(*, name: str, slug: str) -> Organization:
    organization = Organization(name=name.strip(), slug=slug)
    organization.full_clean()
    organization.save()
    with tenant_context(organization):
        # E2: every organisation gets its own keys when it is created.
        keyring_create()
        SecurityPolicy.objects.create()
        # Z2: the default roles and approval chains, as the organisation's own rows.
        default_roles_seed()
        audit_event_record(
            action="organization.created",
            entity=organization,
            changes=changes_between({}, snapshot(organization, ["name", "slug", "short_id"])),
        )
    return organization


def _membership_save(membership: Membership, action: str, before: dict) -> Membership:
    role = role_by_key(membership.role)
    if role.time_boxed and membership.valid_until is None:
        raise ValidationError(
            {"role": f"The {role.name} role is time-boxed: grant it as guest access with an end."}
        )
    membership.full_clean(exclude=["role_definition"])
    membership.save()
    audit_event_record(
        action=action,
        entity=membership,
        changes=changes_between(before, snapshot(membership, MEMBERSHIP_FIELDS)),
    )
    return membership


@transaction.atomic
def membership_create(*, user, role: str = Membership.Role.STAFF) -> Membership:
    """Adds ``user`` to the organisation of the current context (role trail, L4)."""
    return _membership_save(Membership(user=user, role=role), "membership.created", {})


def _manageable_by(membership: Membership, actor: Membership | None) -> None:
    """Nobody changes a member whose role ranks above their own: only owners change owners
    (Z2). ``None`` is a platform job or a test, not a member."""
    if actor is None:
        return
    if actor.role_definition.rank > membership.role_definition.rank:
        raise ValidationError(
            f"You cannot change a member whose role ({membership.role_definition.name}) "
            "ranks above yours."
        )


def _keep_an_owner(membership: Membership) -> None:
    """The organisation always keeps an active owner: someone who can do everything, and the
    only one who can break the glass (A12). The owners' rows are locked in one order, so two
    owners demoting each other at once cannot both succeed (the second sees the first's
    change and is refused) nor deadlock."""
    owners = Membership.objects.active().filter(role=OWNER).order_by("pk").select_for_update()
    if not any(owner.pk != membership.pk for owner in owners):
        raise ValidationError({"role": "The organisation's last owner cannot be demoted."})


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, actor: Membership | None = None
) -> Membership:
    """Gives a member another role (role trail, L4). With an ``actor`` (the member making the
    change): nobody changes their own role, nobody changes a member ranked above them, and
    nobody gives a role ranked above their own (Z2). The last active owner stays an owner."""
    new_role = role_by_key(role)
    if actor is not None:
        if actor.pk == membership.pk:
            raise ValidationError({"role": "You cannot change your own role."})
        _manageable_by(membership, actor)
        role_assignable_by(new_role, actor)
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    if before["role"] == OWNER and new_role.key != OWNER:
        _keep_an_owner(membership)
    # Through the relation, so the role the instance carries is the new one too.
    membership.role_definition = new_role
    _membership_save(membership, "membership.role_changed", before)
    if membership.role != before["role"]:
        # A10: every session of the member signs in again, on its very next request.
        user_sessions_revoke(user=membership.user, reason=UserSession.EndReason.ROLE_CHANGED)
    return membership


@transaction.atomic
def membership_assign(
    *,
    membership: Membership,
    department: Department | None,
    client: Client | None,
    actor: Membership | None = None,
) -> Membership:
    """Puts a member in a department (the subtree a ``department``-scoped role sees, Z4) and
    sets the client account they act for (client portal). Nothing to revoke: the membership,
    department included, is read afresh on every request. Role trail (L4)."""
    _manageable_by(membership, actor)
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    membership.department, membership.client = department, client
    return _membership_save(membership, "membership.assignment_changed", before)


def _check_guest_window(valid_from: datetime, valid_until: datetime) -> None:
    if valid_until <= valid_from:
        raise ValidationError("Guest access must end after it starts.")


@transaction.atomic
def guest_access_grant(
    *, user, role: str, valid_from: datetime, valid_until: datetime
) -> Membership:
    """Time-boxed access (A15) for an auditor or board guest; the guest-access trail (L4)."""
    _check_guest_window(valid_from, valid_until)
    membership = Membership(user=user, role=role, valid_from=valid_from, valid_until=valid_until)
    return _membership_save(membership, "guest_access.granted", {})


@transaction.atomic
def guest_access_change_window(
    *, membership: Membership, valid_from: datetime, valid_until: datetime
) -> Membership:
    _check_guest_window(valid_from, valid_until)
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    membership.valid_from, membership.valid_until = valid_from, valid_until
    _membership_save(membership, "guest_access.window_changed", before)
    if (valid_from, valid_until) != (before["valid_from"], before["valid_until"]):
        user_sessions_revoke(
            user=membership.user, reason=UserSession.EndReason.MEMBERSHIP_CHANGED
        )  # A10
    return membership


@transaction.atomic
def guest_access_revoke(*, membership: Membership) -> Membership:
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    membership.valid_until = max(timezone.now(), membership.valid_from + _ONE_MICROSECOND)
    _membership_save(membership, "guest_access.revoked", before)
    user_sessions_revoke(user=membership.user, reason=UserSession.EndReason.MEMBERSHIP_CHANGED)
    return membership


SECURITY_POLICY_FIELDS = [
    "idle_timeout_minutes",
    "absolute_timeout_hours",
    "second_factor_required",
    "second_factor_grace_until",
    "api_token_max_days",
]


@transaction.atomic
def security_policy_update(*, reason: str = "", **changes) -> SecurityPolicy:
    """Changes the current organisation's security policy (A4, A9). Every change is an audit
    event; extending a running second-factor grace period needs a stated reason."""
    unknown = set(changes) - set(SECURITY_POLICY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown policy settings: {', '.join(sorted(unknown))}.")
    policy = SecurityPolicy.objects.select_for_update().get()
    before = snapshot(policy, SECURITY_POLICY_FIELDS)
    for name, value in changes.items():
        setattr(policy, name, value)
    old_grace, new_grace = before["second_factor_grace_until"], policy.second_factor_grace_until
    was_required = before["second_factor_required"] != SecurityPolicy.SecondFactorRequirement.NONE
    # No grace (None) is the strictest state: granting one later, or pushing it back, extends.
    extends_grace = (
        was_required and new_grace is not None and (old_grace is None or new_grace > old_grace)
    )
    if extends_grace and len(reason.strip()) < 10:
        raise ValidationError(
            {"second_factor_grace_until": "Extending the grace period needs a stated reason."}
        )
    policy.full_clean()
    policy.save()
    changed = changes_between(before, snapshot(policy, SECURITY_POLICY_FIELDS))
    if reason.strip():
        changed["reason"] = [None, reason.strip()]
    audit_event_record(action="security_policy.updated", entity=policy, changes=changed)
    return policy


@transaction.atomic
def member_create_with_password(
    *, email: str, temporary_password: str, role: str, actor: Membership | None = None
) -> Membership:
    """An admin creates an account with a password they chose (A2): its owner must replace
    it at first sign-in. With an ``actor``, the role must be one they may give (Z2)."""
    role_assignable_by(role_by_key(role), actor)
    user = user_create(email=email, password=temporary_password)
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    return membership_create(user=user, role=role)
