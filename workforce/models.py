from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from guardian.managers import UserObjectPermissionManager
from guardian.models import UserObjectPermissionBase

from keys.fields import EncryptedFieldsModel, EncryptedTextField
from tenants.managers import TenantManager
from tenants.models import TenantModel

ZERO = Decimal("0")
MONEY = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(ZERO)]}


class LiveManager(TenantManager):
    """Default manager of soft-deleted entities (G6): deleted rows are hidden from every query
    unless a selector asks for them through ``all_objects``."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(TenantModel):
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LiveManager()
    all_objects = TenantManager()

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        """Unique constraints hold over deleted rows too, so a restore can never break one,
        but Django checks them through the default manager, which hides deleted rows: a clash
        with a deleted row would reach the database as an IntegrityError. It is a
        ValidationError here, naming the way out."""
        super().validate_constraints(exclude)
        for constraint in self._meta.constraints:
            if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
                continue
            fields = [self._meta.get_field(name) for name in constraint.fields]
            values = {field.attname: getattr(self, field.attname) for field in fields}
            deleted = type(self).all_objects.filter(deleted_at__isnull=False, **values)
            if deleted.exclude(pk=self.pk).exists():
                named = [field for field in fields if field.name != "organization"]
                raise ValidationError(
                    {
                        named[-1].name: f"A deleted {self._meta.verbose_name} has the same "
                        f"{' and '.join(field.verbose_name for field in named)}: restore it "
                        "from Deleted items, or choose another."
                    }
                )


class Department(TenantModel):
    """A node in the organisation's department tree (Z5). The parent must belong to the same
    organisation; the composite foreign key added by ``tenants.rls`` enforces it (T4).

    ``path`` is the materialised path of ids from the root (``/3/17/42/``), maintained by
    ``workforce.services``: "this department and everything below it" is one indexed prefix
    match, with no recursion in Python or SQL."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=1000, default="", editable=False)
    head = models.ForeignKey(
        "tenants.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_departments",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_department"
        ordering = ["name"]
        indexes = [
            models.Index(
                fields=["organization", "path"],
                name="department_path_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent", "name"],
                name="department_name_unique_in_parent",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return self.name


class Site(SoftDeleteModel):
    """A place where shifts are worked."""

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="sites"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_site"
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "name"], name="site_org_name_idx")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="site_name_unique_in_org")
        ]

    def __str__(self) -> str:
        return self.name


class Designation(SoftDeleteModel):
    """A job title a shift can require (security officer, care assistant)."""

    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_designation"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="designation_name_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class StaffProfile(EncryptedFieldsModel):
    """A member's staff record: contact details in clear, bank and national-insurance details
    encrypted under the organisation's data key (E3)."""

    member = models.OneToOneField(
        "tenants.Membership", on_delete=models.PROTECT, related_name="staff_profile"
    )
    designation = models.ForeignKey(
        Designation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(max_length=1000, blank=True)
    bank_account = EncryptedTextField(blank=True)
    national_insurance = EncryptedTextField(blank=True)
    # Days of paid leave a year; leave beyond the balance is refused.
    annual_leave_days = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=Decimal("28.0"),
        validators=[MinValueValidator(ZERO)],
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta(EncryptedFieldsModel.Meta):
        db_table = "workforce_staff_profile"


class Client(SoftDeleteModel):
    """A customer of the organisation; its contacts are memberships with a client role whose
    ``client`` points here, and they use the client portal."""

    name = models.CharField(max_length=200)
    # Z7: never sent to a client.
    internal_notes = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_client"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScopedRecord(SoftDeleteModel):
    """A record that belongs to one member and, through them, to a department: what visibility
    scopes (Z4) filter on. ``department`` is the member's department when the record was made,
    so moving someone does not move their history."""

    member = models.ForeignKey("tenants.Membership", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @classmethod
    def owned_by(cls, membership) -> Q:
        """The member's "own" rows, for ``own`` and ``department`` scopes (Z4)."""
        return Q(member_id=membership.pk)


class Shift(SoftDeleteModel):
    """Work at a site for a client. ``margin`` is derived (bill rate minus pay rate) by the
    selectors, never stored."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="shifts")
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="shifts"
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    member = models.ForeignKey(
        "tenants.Membership",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shifts",
        help_text="The assigned staff member.",
    )
    designation = models.ForeignKey(
        Designation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    bill_rate = models.DecimalField(**MONEY)
    pay_rate = models.DecimalField(**MONEY)
    internal_notes = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "workforce_shift"
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["organization", "starts_at", "id"], name="shift_org_start_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after")
        ]

    @classmethod
    def owned_by(cls, membership) -> Q:
        """A staff member's own shifts are those assigned to them; a client contact's are
        their client's."""
        own = Q(member_id=membership.pk)
        if membership.client_id is not None:
            own |= Q(client_id=membership.client_id)
        return own


class Attendance(ScopedRecord):
    """A member's clock-in and clock-out against a shift. ``status`` is set at clock-in
    (on time or late) or by the periodic check that finds shifts nobody clocked in to
    (missed)."""

    class Status(models.TextChoices):
        ON_TIME = "on_time", "On time"
        LATE = "late", "Late"
        MISSED = "missed", "Missed"

    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="attendance")
    clock_in_at = models.DateTimeField(null=True, blank=True)
    clock_out_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)

    class Meta:
        db_table = "workforce_attendance"
        ordering = ["-clock_in_at", "-id"]
        constraints = [
            # One attendance per shift and member: clocking in twice is refused.
            models.UniqueConstraint(
                fields=["organization", "shift", "member"], name="attendance_once_per_shift"
            ),
            models.CheckConstraint(
                condition=Q(clock_out_at__isnull=True) | Q(clock_out_at__gt=F("clock_in_at")),
                name="attendance_out_after_in",
            ),
        ]


class Approvable(ScopedRecord):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    class Meta:
        abstract = True


class LeaveRequest(Approvable):
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "workforce_leave_request"
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="leave_ends_on_or_after"
            )
        ]


class Expense(Approvable):
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=500)

    class Meta:
        db_table = "workforce_expense"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="expense_amount_non_negative")
        ]


class Timesheet(Approvable):
    """Payroll-like: approved through a multi-step chain (Z6)."""

    # Z7: a timesheet's amount is pay, guarded wherever it leaves the system (its serializers,
    # pages, and the changes in its audit events) by the ``pay_rate`` rule (rbac.fields).
    guarded_fields = {"amount": "pay_rate"}
    period_start = models.DateField()
    period_end = models.DateField()
    hours = models.DecimalField(
        max_digits=7, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    amount = models.DecimalField(**MONEY)
    # The client whose shifts the hours were worked on, when they all were for one; its
    # contacts see the timesheet and confirm the hours (Z6's first step).
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "workforce_timesheet"
        ordering = ["-period_start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="timesheet_period_in_order"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(hours__gte=0), name="timesheet_non_negative"
            ),
        ]

    @classmethod
    def owned_by(cls, membership) -> Q:
        """A member's own timesheets; a client contact's are also their client's (as for
        ``Shift``)."""
        own = Q(member_id=membership.pk)
        if membership.client_id is not None:
            own |= Q(client_id=membership.client_id)
        return own


class IssuedDocument(ScopedRecord):
    """A document the organisation issues to a member: a contract, a letter."""

    class Kind(models.TextChoices):
        CONTRACT = "contract", "Contract"
        LETTER = "letter", "Letter"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "workforce_issued_document"
        ordering = ["-issued_at", "-id"]


class PublicSubmission(TenantModel):
    """A recruitment application or a demo request sent through an organisation's public
    forms (D7)."""

    class Kind(models.TextChoices):
        RECRUITMENT = "recruitment", "Recruitment application"
        DEMO_REQUEST = "demo_request", "Demo request"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=40, blank=True)
    message = models.TextField(max_length=5000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "workforce_public_submission"
        ordering = ["-created_at", "-id"]


class Document(ScopedRecord):
    """A staff document. Shared with a single user (for instance one client contact) through a
    django-guardian object grant (Z9), on top of what roles and scopes allow."""

    title = models.CharField(max_length=200)
    expires_on = models.DateField(null=True, blank=True)
    internal_notes = models.TextField(blank=True, max_length=5000)
    # When the expiry reminder went out, so the daily job sends it once.
    expiry_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "workforce_document"
        ordering = ["title", "id"]
        permissions = [("share_document", "Share a document with one user")]

    @classmethod
    def owned_by(cls, membership) -> Q:
        """Own documents, and any shared with the member's user by an object grant (Z9)."""
        granted = DocumentGrant.objects.filter(
            content_object=OuterRef("pk"),
            user_id=membership.user_id,
            permission__codename="view_document",
        )
        return Q(member_id=membership.pk) | Q(Exists(granted))


class TenantGrantManager(TenantManager, UserObjectPermissionManager):
    """django-guardian's manager (``assign_perm``, ``remove_perm``), scoped like every tenant
    manager."""


class DocumentGrant(UserObjectPermissionBase, TenantModel):
    """Z9: guardian's direct-foreign-key object permission for documents, as a tenant table
    (RLS, composite same-organisation keys) instead of guardian's generic, untenanted one."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(
        "tenants.Membership", on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantGrantManager()

    class Meta(UserObjectPermissionBase.Meta):
        db_table = "workforce_document_grant"
