"""Every write to roles and approval chains (Z2, Z6): one keyword-only function per use case,
one transaction, one audit event. A change to what a role may do ends the sessions of
everyone holding it (A10), as a change of someone's role does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import UserSession
from accounts.sessions.services import members_sessions_revoke
from audit.services import audit_event_record, changes_between, snapshot
from rbac import registry
from rbac.models import ApprovalChain, Role
from tenants.models import Invitation

ROLE_FIELDS = ["key", "name", "description", "permissions", "scopes", "approval_limits", "rank"]
OWNER_KEY = registry.OWNER
# A key the settings pages' URLs use for themselves (``settings/roles/new/``): a role with it
# could never be opened there.
RESERVED_KEYS = frozenset({"new"})


def default_roles_seed() -> list[Role]:
    """The seven default roles and the default approval chains of a new organisation (in its
    context); called by ``tenants.services.organization_create``."""
    roles = [
        Role.objects.create(
            key=seed.key,
            name=seed.name,
            description=seed.description,
            permissions=sorted(seed.permissions),
            scopes=dict(seed.scopes),
            approval_limits=dict(seed.approval_limits),
            rank=seed.rank,
            time_boxed=seed.time_boxed,
            is_default=True,
        )
        for seed in registry.DEFAULT_ROLES
    ]
    for subject, steps in registry.DEFAULT_APPROVAL_CHAINS.items():
        ApprovalChain.objects.create(subject=subject, steps=[list(step) for step in steps])
    return roles


def _clean_permissions(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = sorted(n for n in names if n not in registry.PERMISSIONS)
    if unknown:
        raise ValidationError({"permissions": f"Unknown permissions: {', '.join(unknown)}."})
    return sorted(set(names))


def _clean_scopes(scopes: Mapping[str, str]) -> dict[str, str]:
    errors = [
        f"{module}: {scope}"
        for module, scope in scopes.items()
        if module not in registry.SCOPED_MODULES or scope not in registry.SCOPES
    ]
    if errors:
        raise ValidationError(
            {
                "scopes": f"Unknown module or scope ({'; '.join(errors)}). Modules: "
                f"{', '.join(registry.SCOPED_MODULES)}; scopes: {', '.join(registry.SCOPES)}."
            }
        )
    return dict(scopes)


def _clean_limits(limits: Mapping[str, str]) -> dict[str, str]:
    cleaned = {}
    for subject, amount in limits.items():
        if subject not in registry.DEFAULT_APPROVAL_CHAINS:
            raise ValidationError({"approval_limits": f"{subject!r} is not approved by anyone."})
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            value = Decimal(-1)
        if not value.is_finite() or value < 0 or value > Decimal("1e10"):
            raise ValidationError(
                {"approval_limits": f"The limit for {subject} must be an amount of 0 or more."}
            )
        cleaned[subject] = str(value.quantize(Decimal("0.01")))
    return cleaned


def _grantable_by(actor_role: Role | None, permissions: Iterable[str]) -> None:
    """Nobody hands out what they do not hold themselves (no escalation through roles)."""
    if actor_role is None:
        return  # a platform job or the seed, not a member
    beyond = sorted(set(permissions) - set(actor_role.permissions))
    if beyond:
        raise ValidationError(
            {"permissions": f"You cannot grant permissions you do not hold: {', '.join(beyond)}."}
        )


def _name_is_free(name: str, role: Role | None = None) -> None:
    # The unique constraint would refuse it too, but as an integrity error, not a message.
    others = Role.objects.filter(name=name)
    if role is not None:
        others = others.exclude(pk=role.pk)
    if others.exists():
        raise ValidationError({"name": f"A role named {name!r} already exists."})


_SCOPE_BREADTH = {registry.OWN: 0, registry.DEPARTMENT: 1, registry.ALL: 2}


def _widens(before: dict, role: Role) -> bool:
    """Whether the change lets the role see more rows or approve larger amounts (a missing
    scope is ``own``; a missing limit is no limit)."""
    wider_scope = any(
        _SCOPE_BREADTH[role.scope_for(module)]
        > _SCOPE_BREADTH[before["scopes"].get(module, registry.OWN)]
        for module in registry.SCOPED_MODULES
    )
    old, new = before["approval_limits"], role.approval_limits
    higher_limit = any(
        subject in old and (subject not in new or Decimal(new[subject]) > Decimal(old[subject]))
        for subject in registry.DEFAULT_APPROVAL_CHAINS
    )
    return wider_scope or higher_limit


def _save(role: Role, action: str, before: dict) -> Role:
    role.updated_at = timezone.now()
    role.full_clean()
    role.save()
    audit_event_record(
        action=action, entity=role, changes=changes_between(before, snapshot(role, ROLE_FIELDS))
    )
    return role


@transaction.atomic
def role_create(
    *,
    name: str,
    permissions: Iterable[str],
    scopes: Mapping[str, str] | None = None,
    approval_limits: Mapping[str, str] | None = None,
    description: str = "",
    actor_role: Role | None = None,
) -> Role:
    """A custom role (Z2). Its key is derived from the name and never changes."""
    name = name.strip()
    key = slugify(name)[:40].strip("-")
    if not key:
        raise ValidationError({"name": "Give the role a name with at least one letter or digit."})
    if key in RESERVED_KEYS:
        raise ValidationError({"name": f"The name {name!r} is reserved; choose another."})
    _name_is_free(name)
    if Role.objects.filter(key=key).exists():
        raise ValidationError({"name": f"A role with the key {key!r} already exists."})
    cleaned = _clean_permissions(permissions)
    _grantable_by(actor_role, cleaned)
    role = Role(
        key=key,
        name=name,
        description=description.strip(),
        permissions=cleaned,
        scopes=_clean_scopes(scopes or {}),
        approval_limits=_clean_limits(approval_limits or {}),
        rank=registry.CUSTOM_ROLE_RANK,
    )
    return _save(role, "role.created", {})


@transaction.atomic
def role_update(
    *,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    permissions: Iterable[str] | None = None,
    scopes: Mapping[str, str] | None = None,
    approval_limits: Mapping[str, str] | None = None,
    actor_role: Role | None = None,
) -> Role:
    """Changes a role; if what it allows changed, every holder signs in again (A10)."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    before = snapshot(role, ROLE_FIELDS)
    if role.key == OWNER_KEY and (permissions is not None or scopes is not None):
        raise ValidationError({"permissions": "The owner role always holds every permission."})
    if actor_role is not None and actor_role.rank > role.rank:
        raise ValidationError({"role": "You cannot change a role ranked above your own."})
    if name is not None:
        role.name = name.strip()
        _name_is_free(role.name, role)
    if description is not None:
        role.description = description.strip()
    if permissions is not None:
        role.permissions = _clean_permissions(permissions)
        # Only what is added must be grantable; an admin may remove what they do not hold.
        _grantable_by(actor_role, set(role.permissions) - set(before["permissions"]))
    if scopes is not None:
        role.scopes = _clean_scopes(scopes)
    if approval_limits is not None:
        role.approval_limits = _clean_limits(approval_limits)
    if actor_role is not None and _widens(before, role):
        # Widening who an approver sees or how much they approve is handing out approvals.
        beyond = _sensitive_beyond(actor_role, role.permissions)
        if beyond:
            raise ValidationError(
                {
                    "scopes": f"Only someone who holds {', '.join(beyond)} can widen this "
                    "role's scopes or approval limits."
                }
            )
    _save(role, "role.updated", before)
    powers = ("permissions", "scopes", "approval_limits")
    if any(before[f] != getattr(role, f) for f in powers):
        members_sessions_revoke(
            user_ids=role.memberships.values("user_id"), reason=UserSession.EndReason.ROLE_CHANGED
        )
    return role


@transaction.atomic
def role_delete(*, role: Role) -> None:
    """Deletes a custom role nobody holds; default roles and roles in use stay."""
    if role.is_default:
        raise ValidationError({"role": "Default roles cannot be deleted."})
    # The composite keys from memberships and invitations refuse it in the database too;
    # asking first gives the admin a message instead of an integrity error.
    if role.memberships.exists() or Invitation.objects.filter(role=role.key).exists():
        raise ValidationError({"role": "Members or invitations still hold this role."})
    before = snapshot(role, ROLE_FIELDS)
    role_id = role.pk
    role.delete()
    audit_event_record(
        action="role.deleted",
        entity_type="rbac.role",
        entity_id=role_id,
        # What the role was, so the trail shows what went away.
        changes={name: [value, None] for name, value in before.items()},
    )


def _sensitive_beyond(actor_role: Role, permissions: Iterable[str]) -> list[str]:
    """The approvals and pay/margin permissions among ``permissions`` the actor lacks."""
    return sorted((set(permissions) & registry.SENSITIVE) - set(actor_role.permissions))


def role_assignable_by(role: Role, actor_membership) -> None:
    """Nobody gives a role ranked above their own (an admin cannot make an owner), nor one
    carrying approvals or pay they do not hold themselves (Z2: an admin cannot make an
    approver); ``None`` is a platform job or the seed, not a member."""
    if actor_membership is None:
        return
    actor_role = actor_membership.role_definition
    if actor_role is None or actor_role.rank > role.rank:
        raise ValidationError({"role": f"You cannot give the {role.name} role."})
    beyond = _sensitive_beyond(actor_role, role.permissions)
    if beyond:
        # The client role approves timesheets, so this refuses admins giving it too (Z2).
        raise ValidationError(
            {
                "role": f"The {role.name} role carries {', '.join(beyond)}, which your "
                f"{actor_role.name} role does not have; only someone whose role has "
                f"{'it' if len(beyond) == 1 else 'them'} can give it. Ask an owner."
            }
        )


def role_by_key(key: str) -> Role:
    """The role with this key in the current organisation; a clear error otherwise."""
    role = Role.objects.filter(key=key).first()
    if role is None:
        raise ValidationError({"role": f"There is no role {key!r} in this organisation."})
    return role


@transaction.atomic
def approval_chain_set(*, subject: str, steps: list[list[str]]) -> ApprovalChain:
    """Replaces the approval steps of a subject (Z6); every step names existing roles."""
    if subject not in registry.DEFAULT_APPROVAL_CHAINS:
        raise ValidationError({"subject": f"{subject!r} is not an approvable subject."})
    if not steps or any(not step for step in steps) or len(steps) > 5:
        raise ValidationError({"steps": "Give between one and five steps, each naming roles."})
    wanted = {key for step in steps for key in step}
    known = set(Role.objects.filter(key__in=wanted).values_list("key", flat=True))
    if wanted - known:
        raise ValidationError({"steps": f"Unknown roles: {', '.join(sorted(wanted - known))}."})
    chain = ApprovalChain.objects.select_for_update().get(subject=subject)
    before = {"steps": chain.steps}
    chain.steps = [sorted(set(step)) for step in steps]
    chain.updated_at = timezone.now()
    chain.save()
    audit_event_record(
        action="approval_chain.updated",
        entity=chain,
        changes=changes_between(before, {"steps": chain.steps}),
    )
    return chain
