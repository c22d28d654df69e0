import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.context import current_organization_id
from tenants.managers import TenantManager

# Lower-case letters and digits without look-alikes (0/o, 1/l/i): short ids end up in API
# tokens (A17) and support conversations.
SHORT_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
SHORT_ID_LENGTH = 8


def new_short_id() -> str:
    return "".join(secrets.choice(SHORT_ID_ALPHABET) for _ in range(SHORT_ID_LENGTH))


class Organization(models.Model):
    """The tenant. Not itself tenant-scoped: its rows hold no tenant data beyond the name."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        OFFBOARDED = "offboarded", "Offboarded"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    short_id = models.CharField(max_length=16, unique=True, default=new_short_id, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "tenants_organization"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantModel(models.Model):
    """Base of every tenant-owned model (T1).

    ``tenants.rls`` finds every concrete subclass after each migrate and gives its table RLS,
    ``UNIQUE (organization_id, id)`` and composite foreign keys to other tenant tables.
    """

    # No single-column index: tenants.rls adds UNIQUE (organization_id, id), whose index
    # serves every organisation lookup.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )

    objects = TenantManager()

    # Column (if any) whose owner may read the row outside an organisation context, through
    # ``own_memberships_context``. Only Membership uses it.
    rls_own_rows_column: str | None = None

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        context_org_id = current_organization_id()
        if self.organization_id is None:
            self.organization_id = context_org_id
        elif self.organization_id != context_org_id:
            raise ValueError("A tenant row can only be saved in its own organisation's context.")
        super().save(*args, **kwargs)

    def full_clean(self, exclude=None, validate_unique=True, validate_constraints=True):
        """Validates with the organisation filled in from the context (as ``save`` does), so
        constraints that span it (names unique in an organisation or under a parent) are
        checked like any other: a clear validation error, not an IntegrityError at insert."""
        if self.organization_id is None:
            self.organization_id = current_organization_id()
        super().full_clean(
            exclude=exclude,
            validate_unique=validate_unique,
            validate_constraints=validate_constraints,
        )


class MembershipQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=now),
            status=Membership.Status.ACTIVE,
            valid_from__lte=now,
        )


class MembershipManager(TenantManager.from_queryset(MembershipQuerySet)):
    pass


class Membership(TenantModel):
    class Role(models.TextChoices):
        """Keys of the default roles every organisation is seeded with (rbac.registry);
        custom roles (rbac.Role) have keys of their own."""

        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        STAFF = "staff", "Staff"
        CLIENT = "client", "Client"
        AUDITOR = "auditor", "Auditor"
        BOARD_GUEST = "board_guest", "Board guest"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    # The key of an rbac.Role of this organisation; the database holds it to one through a
    # composite foreign key (tenants migration 0007), ``role_definition`` follows it.
    role = models.CharField(max_length=40, default=Role.STAFF)
    role_definition = models.ForeignObject(
        "rbac.Role",
        on_delete=models.DO_NOTHING,
        from_fields=["organization", "role"],
        to_fields=["organization", "key"],
        related_name="memberships",
        # Never null (``role`` is NOT NULL); this field has no column of its own.
        null=True,
        blank=True,
    )
    # Z4: the department whose subtree a ``department``-scoped role sees.
    department = models.ForeignKey(
        "workforce.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    # The client account a client contact acts for (client portal).
    client = models.ForeignKey(
        "workforce.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)

    objects = MembershipManager()
    rls_own_rows_column = "user_id"

    class Meta:
        db_table = "tenants_membership"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_once_per_org"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="membership_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"


# A month: a longer absolute session timeout is almost certainly a typo, and a stolen session
# would live as long.
MAX_ABSOLUTE_TIMEOUT_HOURS = 30 * 24


def max_idle_timeout_minutes() -> int:
    """The session cookie ends a session left idle this long whatever the policy says
    (SESSION_COOKIE_AGE), so a longer idle limit would promise something that never happens."""
    return settings.SESSION_COOKIE_AGE // 60


class SecurityPolicy(TenantModel):
    """An organisation's sign-in and session rules (A4, A9). One row per organisation,
    created with it; changed only through ``tenants.services.security_policy_update``, which
    records every change (so a second-factor grace period is never extended silently)."""

    class SecondFactorRequirement(models.TextChoices):
        NONE = "none", "Not required"
        ADMINS = "admins", "Required for owners and admins"
        ALL = "all", "Required for every member"

    idle_timeout_minutes = models.PositiveIntegerField(default=30)
    absolute_timeout_hours = models.PositiveIntegerField(default=12)
    second_factor_required = models.CharField(
        max_length=16,
        choices=SecondFactorRequirement.choices,
        default=SecondFactorRequirement.NONE,
    )
    # Members who must have a second factor and have none may still sign in until this moment
    # (then only to enrol one).
    second_factor_grace_until = models.DateTimeField(null=True, blank=True)
    # A17: the longest lifetime a new API token may be given; every token has an expiry.
    api_token_max_days = models.PositiveIntegerField(default=90)
    # A12: set by an owner's break-glass; the allowlist's entries are kept but not enforced
    # until an owner or admin resumes it (through the lockout guard).
    ip_allowlist_suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "tenants_security_policy"
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_security_policy_per_org"),
            models.CheckConstraint(
                condition=Q(idle_timeout_minutes__gte=1) & Q(absolute_timeout_hours__gte=1),
                name="security_policy_positive_timeouts",
            ),
            models.CheckConstraint(
                condition=Q(api_token_max_days__gte=1) & Q(api_token_max_days__lte=366),
                name="security_policy_api_token_max_days",
            ),
        ]

    def __str__(self) -> str:
        return f"security policy of {self.organization_id}"

    def clean(self) -> None:
        errors = {}
        if self.idle_timeout_minutes > max_idle_timeout_minutes():
            errors["idle_timeout_minutes"] = (
                f"At most {max_idle_timeout_minutes()} minutes: sessions idle that long end anyway."
            )
        if self.absolute_timeout_hours > MAX_ABSOLUTE_TIMEOUT_HOURS:
            errors["absolute_timeout_hours"] = f"At most {MAX_ABSOLUTE_TIMEOUT_HOURS} hours."
        if errors:
            raise ValidationError(errors)


class NetworkField(models.Field):
    """A PostgreSQL ``cidr`` column: the database itself refuses anything that is not an IPv4
    or IPv6 network without host bits (A12), whatever wrote it. Read back as text."""

    description = "IPv4 or IPv6 network (CIDR)"

    def db_type(self, connection) -> str:
        return "cidr"

    def get_prep_value(self, value):
        return None if value is None else str(value)


class IpAllowlistEntry(TenantModel):
    """One network the organisation's members may work from (A12). An organisation without
    entries (or whose allowlist is suspended) has no restriction. Changed only through
    ``tenants.ip_allowlist``, which validates, audits and guards against locking out the
    admin making the change."""

    cidr = NetworkField()
    label = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "tenants_ip_allowlist_entry"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "cidr"], name="ip_allowlist_once"),
        ]

    def __str__(self) -> str:
        return f"{self.cidr} of {self.organization_id}"


class Invitation(TenantModel):
    """An invitation to join the organisation (A2, A3). The link's token and the emailed
    one-time code are stored only as keyed hashes; the invitee proves the address with the
    code before choosing a password. Single use: accepting or revoking ends it."""

    email = models.EmailField()
    role = models.CharField(max_length=40)  # an rbac.Role key, held by a composite key
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    token_digest = models.CharField(max_length=64, unique=True)
    code_digest = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "tenants_invitation"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.email} as {self.role}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    STATUSES = ("accepted", "revoked", "open", "expired")

    @property
    def status(self) -> str:
        """One of ``STATUSES``."""
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "open" if self.is_open else "expired"
