"""People: designations, staff profiles and leave balances (D1, D3).

Reads take the requesting membership where visibility matters; writes are keyword-only, one
transaction and one audit event each (L1). This module does not import
``workforce.services`` (which imports the leave balance from here).

Staff profiles hold bank and national-insurance details in encrypted fields (E3). They are
sensitive: only the member themselves and members holding ``pay_rate.view`` receive them, and
only they may set them (the rule of ``rbac.fields``: what you may not receive you may not set
either). Their values never enter the audit log; an event says only that they changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from audit.services import audit_event_record, changes_between, snapshot
from rbac.access import membership_has
from tenants.models import Membership
from workforce.models import Approvable, Designation, LeaveRequest, StaffProfile

DEFAULT_ANNUAL_LEAVE_DAYS = StaffProfile._meta.get_field("annual_leave_days").default
SENSITIVE_PROFILE_FIELDS = ("bank_account", "national_insurance")
CONTACT_FIELDS = ("phone", "address")
# Set only by people managers (``user.manage``): a member does not choose their own job title
# or leave allowance.
MANAGED_FIELDS = ("designation", "annual_leave_days")
PROFILE_FIELDS = ["member", *CONTACT_FIELDS, *MANAGED_FIELDS]
# What a phone number may hold, for the API's input and the portal's form alike.
PHONE_PATTERN = r"^[0-9+()\-. ]*$"
PHONE_INVALID = "Use digits, spaces and + ( ) - . only."


# --- designations ---------------------------------------------------------------------------


def designations_list() -> QuerySet[Designation]:
    return Designation.objects.order_by("name", "id")


def access_designation(designation_id: int) -> Designation:
    return get_object_or_404(designations_list(), pk=designation_id)


@transaction.atomic
def designation_create(*, name: str) -> Designation:
    designation = Designation(name=name.strip())
    designation.full_clean()
    designation.save()
    audit_event_record(
        action="designation.created",
        entity=designation,
        changes=changes_between({}, snapshot(designation, ["name"])),
    )
    return designation


# --- staff profiles -------------------------------------------------------------------------


def may_receive_sensitive(viewer: Membership, member: Membership) -> bool:
    """Bank and national-insurance details go to the member themselves and to payroll
    (``pay_rate.view``) only (E3, Z7)."""
    return viewer.pk == member.pk or membership_has(viewer, "pay_rate.view")


def profile_fields_settable_by(editor: Membership, member: Membership) -> frozenset[str]:
    """What ``editor`` may change on ``member``'s profile: their own contact and bank details;
    with ``user.manage`` anyone's contact details, designation and allowance. Sensitive fields
    only for those who may receive them."""
    settable: set[str] = set()
    manages = membership_has(editor, "user.manage")
    if editor.pk == member.pk or manages:
        settable |= set(CONTACT_FIELDS)
    if manages:
        settable |= set(MANAGED_FIELDS)
    if (editor.pk == member.pk or manages) and may_receive_sensitive(editor, member):
        settable |= set(SENSITIVE_PROFILE_FIELDS)
    return frozenset(settable)


def members_whose_profiles(viewer: Membership) -> QuerySet[Membership]:
    """Whose staff profile ``viewer`` may open: their own; everyone's with ``user.view`` or
    ``user.manage``. Suspended and expired members included, for people managers."""
    members = Membership.objects.select_related("user")
    if membership_has(viewer, "user.view") or membership_has(viewer, "user.manage"):
        return members
    return members.filter(pk=viewer.pk)


def access_profile_member(viewer: Membership, membership_id: int) -> Membership:
    return get_object_or_404(members_whose_profiles(viewer), pk=membership_id)


def staff_profile_of(member: Membership) -> StaffProfile:
    """The member's profile, or an unsaved one with the defaults: reading never writes."""
    profile = StaffProfile.objects.select_related("designation").filter(member=member).first()
    return profile or StaffProfile(member=member)


@transaction.atomic
def staff_profile_update(*, member: Membership, **changes) -> StaffProfile:
    """Creates the profile on its first change. ``changes``: any of phone, address,
    designation, annual_leave_days, bank_account, national_insurance (the caller decides who
    may set which, ``profile_fields_settable_by``)."""
    profile = StaffProfile.objects.select_for_update().filter(member=member).first()
    created = profile is None
    if created:
        profile = StaffProfile(member=member)
    before = {} if created else snapshot(profile, PROFILE_FIELDS)
    sensitive_changed = []
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        # Reading the old value decrypts it; compared here, never recorded.
        if name in SENSITIVE_PROFILE_FIELDS and (
            created or str(getattr(profile, name) or "") != value
        ):
            sensitive_changed.append(name)
        setattr(profile, name, value)
    profile.updated_at = timezone.now()
    profile.full_clean()
    profile.save()
    recorded = changes_between(before, snapshot(profile, PROFILE_FIELDS))
    # E3: that a sensitive value changed is recorded, never the value.
    recorded.update({name: ["[encrypted]", "[changed]"] for name in sensitive_changed})
    audit_event_record(
        action="staffprofile.created" if created else "staffprofile.updated",
        entity=profile,
        changes=recorded,
    )
    return profile


@transaction.atomic
def staff_profile_sensitive_read_record(*, viewer: Membership, member: Membership) -> None:
    """L1: someone else's bank and national-insurance details were read."""
    audit_event_record(
        action="staffprofile.sensitive_viewed",
        entity_type="workforce.staffprofile",
        entity_id=member.pk,
        changes={"member": [None, member.pk], "viewer": [None, viewer.pk]},
    )


# --- leave balance (D3) ---------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveBalance:
    """One member's leave in one calendar year, in days. ``remaining`` counts pending
    requests as spent, so it is what a new request may still take."""

    member_id: int
    year: int
    allowance: Decimal
    taken: int
    pending: int

    @property
    def remaining(self) -> Decimal:
        return self.allowance - self.taken - self.pending


def leave_days_by_year(starts_on: date, ends_on: date) -> dict[int, int]:
    """Calendar days from ``starts_on`` to ``ends_on`` inclusive, per year they fall in."""
    days: Counter[int] = Counter()
    day = starts_on
    while day <= ends_on:
        year_end = date(day.year, 12, 31)
        last = min(ends_on, year_end)
        days[day.year] += (last - day).days + 1
        day = last + timedelta(days=1)
    return dict(days)


def leave_allowance_of(member: Membership) -> Decimal:
    allowance = (
        StaffProfile.objects.filter(member=member)
        .values_list("annual_leave_days", flat=True)
        .first()
    )
    return Decimal(DEFAULT_ANNUAL_LEAVE_DAYS if allowance is None else allowance)


def leave_balance(*, member: Membership, year: int | None = None) -> LeaveBalance:
    """Approved (taken) and pending leave of ``year`` (this year by default) against the
    member's allowance; rejected and deleted requests do not count."""
    year = year or timezone.localdate().year
    first, last = date(year, 1, 1), date(year, 12, 31)
    requests = LeaveRequest.objects.filter(
        Q(status=Approvable.Status.APPROVED) | Q(status=Approvable.Status.PENDING),
        member=member,
        starts_on__lte=last,
        ends_on__gte=first,
    ).values_list("starts_on", "ends_on", "status")
    spent: Counter[str] = Counter()
    for starts_on, ends_on, status in requests:
        spent[status] += leave_days_by_year(max(starts_on, first), min(ends_on, last))[year]
    return LeaveBalance(
        member_id=member.pk,
        year=year,
        allowance=leave_allowance_of(member),
        taken=spent[Approvable.Status.APPROVED],
        pending=spent[Approvable.Status.PENDING],
    )
