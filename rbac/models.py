from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantModel


class Scope(models.TextChoices):
    """How much of a module a role sees (Z4)."""

    ALL = "all", "Everything in the organisation"
    DEPARTMENT = "department", "Own department and the departments below it"
    OWN = "own", "Own records only"


class Role(TenantModel):
    """A role of one organisation (Z2): the seven default roles, seeded when the organisation
    is created from ``rbac.registry.DEFAULT_ROLES``, and any number of custom roles.

    ``Membership.role`` holds the ``key``; a composite foreign key
    ``(organization_id, role) -> (organization_id, key)`` keeps every membership and
    invitation on a role of its own organisation, and keeps a role in use from being deleted.
    """

    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    # Names from rbac.registry.PERMISSIONS, validated by rbac.services on every write.
    permissions = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    # Module (a registry subject) -> Scope; a module the role can view but does not list here
    # is seen with the narrowest scope, ``own`` (fail closed).
    scopes = models.JSONField(default=dict, blank=True)
    # Subject -> the largest amount (a decimal string) the role may approve; no entry means no
    # limit (Z6).
    approval_limits = models.JSONField(default=dict, blank=True)
    # Seeded default roles keep their key and cannot be deleted; the owner role's permissions
    # cannot be edited (there is always someone who can do everything).
    is_default = models.BooleanField(default=False)
    # Auditor and board guest: memberships with this role must end (A15).
    time_boxed = models.BooleanField(default=False)
    # Position in Owner > Admin > Manager > Staff (lower is higher); custom roles rank below
    # the admin. Nobody assigns a role ranked above their own.
    rank = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "rbac_role"
        ordering = ["rank", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="role_key_unique_in_org"),
            models.UniqueConstraint(
                fields=["organization", "name"], name="role_name_unique_in_org"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def scope_for(self, module: str) -> str:
        return self.scopes.get(module, Scope.OWN)


class ApprovalChain(TenantModel):
    """The steps an approvable subject goes through (Z6): each step names the role keys that
    may decide it, in order. Payroll-like records (timesheets) have more than one step."""

    subject = models.CharField(max_length=32)
    steps = models.JSONField(default=list)  # [["manager", "owner"], ["owner"]]
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "rbac_approval_chain"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "subject"], name="approval_chain_once_per_subject"
            )
        ]


class ApprovalStep(TenantModel):
    """One approved step of one record (Z6). Append-only: a decision is never rewritten."""

    append_only = True

    entity_type = models.CharField(max_length=32)
    entity_id = models.BigIntegerField()
    step = models.PositiveSmallIntegerField()
    approver = models.ForeignKey(
        "tenants.Membership", on_delete=models.PROTECT, related_name="approval_steps"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "rbac_approval_step"
        ordering = ["entity_type", "entity_id", "step"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "entity_type", "entity_id", "step"],
                name="approval_step_once",
            ),
            models.CheckConstraint(condition=Q(step__gte=0), name="approval_step_non_negative"),
        ]
