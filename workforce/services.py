"""Every write to workforce data: one keyword-only function per use case, one transaction,
one audit event in that transaction (L1)."""

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Model, Value
from django.db.models.functions import Concat, Substr
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import salted_hmac

from audit.services import audit_event_record, changes_between, snapshot
from tenants.models import Membership
from workforce.models import (
    Client,
    Department,
    Designation,
    Document,
    Expense,
    LeaveRequest,
    Shift,
    Site,
    SoftDeleteModel,
    StaffProfile,
    Timesheet,
)
from workforce.people import leave_balance, leave_days_by_year

DEPARTMENT_FIELDS = ["name", "parent", "head"]
SITE_FIELDS = ["name", "address", "department"]


@transaction.atomic
def department_create(*, name: str, parent: Department | None = None) -> Department:
    department = Department(name=name.strip(), parent=parent)
    department.full_clean(exclude=["path"])
    department.save()
    # Z5: the path needs the new id, so it is written right after the insert.
    department.path = f"{parent.path if parent else '/'}{department.pk}/"
    Department.objects.filter(pk=department.pk).update(path=department.path)
    audit_event_record(
        action="department.created",
        entity=department,
        changes=changes_between({}, snapshot(department, DEPARTMENT_FIELDS)),
    )
    return department


@transaction.atomic
def site_create(*, name: str, address: str = "", department: Department | None = None) -> Site:
    site = Site(name=name.strip(), address=address.strip(), department=department)
    return record_create(site, SITE_FIELDS)


@transaction.atomic
def department_move(*, department: Department, parent: Department | None) -> Department:
    """Moves a department (and everything below it) under ``parent``; refuses a move that
    would make a cycle. The whole subtree's paths change in one statement (Z5)."""
    department = Department.objects.select_for_update().get(pk=department.pk)
    if parent is not None:
        parent = Department.objects.select_for_update().get(pk=parent.pk)
        if parent.path.startswith(department.path):
            raise ValidationError(
                {"parent": "A department cannot move under itself or one of its own children."}
            )
    before = snapshot(department, DEPARTMENT_FIELDS)
    old_path = department.path
    new_path = f"{parent.path if parent else '/'}{department.pk}/"
    department.parent = parent
    department.full_clean(exclude=["path"])
    department.save(update_fields=["parent"])
    Department.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
    )
    department.path = new_path
    audit_event_record(
        action="department.moved",
        entity=department,
        changes=changes_between(before, snapshot(department, DEPARTMENT_FIELDS)),
    )
    return department


@transaction.atomic
def department_set_head(*, department: Department, head) -> Department:
    """Makes a member (or nobody) the head of a department; heads approve within its
    subtree (Z6)."""
    before = snapshot(department, DEPARTMENT_FIELDS)
    department.head = head
    department.save(update_fields=["head"])
    audit_event_record(
        action="department.head_changed",
        entity=department,
        changes=changes_between(before, snapshot(department, DEPARTMENT_FIELDS)),
    )
    return department


def record_create(instance: Model, fields: list[str], *, action: str = "") -> Model:
    """Validates (field rules and database constraints, so a bad row is a ValidationError,
    never an IntegrityError) and saves a new row with its event: ``action``, by default
    ``<entity>.created``, with the ``fields`` it was created with."""
    instance.full_clean()
    instance.save()
    audit_event_record(
        action=action or f"{instance._meta.model_name}.created",
        entity=instance,
        changes=changes_between({}, snapshot(instance, fields)),
    )
    return instance


CLIENT_FIELDS = ["name", "internal_notes"]
SHIFT_FIELDS = [
    "site",
    "client",
    "department",
    "member",
    "designation",
    "starts_at",
    "ends_at",
    "bill_rate",
    "pay_rate",
    "internal_notes",
]
LEAVE_FIELDS = ["member", "department", "starts_on", "ends_on", "reason", "status"]
EXPENSE_FIELDS = ["member", "department", "amount", "description", "status"]
TIMESHEET_FIELDS = [
    "member",
    "department",
    "period_start",
    "period_end",
    "hours",
    "amount",
    "client",
    "status",
]
DOCUMENT_FIELDS = ["member", "department", "title", "expires_on", "internal_notes"]
# L1: what an expense or a timesheet is worth. Every create, update and approval decision
# about one names these in its event, changed or not, so any event read alone says what was
# submitted, changed or approved. A timesheet's amount is pay: the audit API leaves it out
# for readers who may not see pay (rbac.fields.withheld_changes).
AUDITED_AMOUNTS: dict[type[Model], tuple[str, ...]] = {
    Expense: ("amount",),
    Timesheet: ("hours", "amount"),
}


def audited_amounts(record: Model) -> dict[str, str]:
    """The record's ``AUDITED_AMOUNTS`` as text; empty for any other kind of record."""
    return {name: str(getattr(record, name)) for name in AUDITED_AMOUNTS.get(type(record), ())}


@transaction.atomic
def client_create(*, name: str, internal_notes: str = "") -> Client:
    return record_create(Client(name=name.strip(), internal_notes=internal_notes), CLIENT_FIELDS)


def _shift_clash_check(*, member, starts_at: datetime, ends_at: datetime, exclude=None) -> None:
    """A member works one shift at a time: a shift of theirs that overlaps ``[starts_at,
    ends_at)`` (touching ends are fine) is refused, naming the clashing shift's time. The
    caller holds the member's row locked, so two concurrent writes cannot both pass."""
    clashing = Shift.objects.filter(
        member=member, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).select_related("site")
    if exclude is not None:
        clashing = clashing.exclude(pk=exclude.pk)
    clash = clashing.order_by("starts_at", "id").first()
    if clash is not None:
        starts, ends = timezone.localtime(clash.starts_at), timezone.localtime(clash.ends_at)
        raise ValidationError(
            {
                "member": (
                    f"This member already has a shift at {clash.site.name} from "
                    f"{starts:%d %b %Y %H:%M} to {ends:%d %b %Y %H:%M} ({starts:%Z}) that "
                    "overlaps this one."
                )
            }
        )


def _shift_designation_check(*, member, designation: Designation | None) -> None:
    """A shift that requires a designation goes only to a member whose staff profile has
    that designation (when the profile names one)."""
    if designation is None:
        return
    held = (
        StaffProfile.objects.filter(member=member).values_list("designation_id", flat=True).first()
    )
    if held is not None and held != designation.pk:
        raise ValidationError(
            {
                "member": f"This shift needs a {designation.name}; the member's staff profile "
                "has a different designation."
            }
        )


def shift_assignment_validate(
    *, member, starts_at: datetime, ends_at: datetime, designation=None, exclude=None
) -> None:
    """The rules of putting a member on a shift (overlap, designation), for every write that
    assigns one. Locks the member's row until the transaction ends."""
    if member is None:
        return
    Membership.objects.select_for_update().filter(pk=member.pk).first()
    _shift_clash_check(member=member, starts_at=starts_at, ends_at=ends_at, exclude=exclude)
    _shift_designation_check(member=member, designation=designation)


@transaction.atomic
def shift_create(
    *,
    site: Site,
    starts_at: datetime,
    ends_at: datetime,
    bill_rate: Decimal,
    pay_rate: Decimal,
    member=None,
    client: Client | None = None,
    designation: Designation | None = None,
    internal_notes: str = "",
) -> Shift:
    """A shift belongs to its site's department, for department scopes (Z4)."""
    shift = Shift(
        site=site,
        department_id=site.department_id,
        client=client,
        member=member,
        designation=designation,
        starts_at=starts_at,
        ends_at=ends_at,
        bill_rate=bill_rate,
        pay_rate=pay_rate,
        internal_notes=internal_notes,
    )
    if ends_at > starts_at:
        shift_assignment_validate(
            member=member, starts_at=starts_at, ends_at=ends_at, designation=designation
        )
    return record_create(shift, SHIFT_FIELDS)


def member_record_create(model, fields: list[str], *, member, action: str = "", **values):
    """A record of one member, filed under their department as it is now (Z4)."""
    record = model(member=member, department_id=member.department_id, **values)
    return record_create(record, fields, action=action)


def _leave_overlap_check(*, member, starts_on: date, ends_on: date, exclude=None) -> None:
    """A member's pending and approved leave never overlaps (both ends are inclusive days,
    so leave ending on the 5th and leave starting on the 6th are fine); rejected and deleted
    requests do not count.

    The caller holds the member's row locked, as for the allowance, so two concurrent
    overlapping requests cannot both pass. An exclusion constraint on a daterange would need
    btree_gist and a partial predicate over status and deletion that every decision and
    restore would then have to satisfy; the lock already taken for the balance is simpler
    and names the clashing request in the message."""
    clashing = LeaveRequest.objects.filter(
        member=member, starts_on__lte=ends_on, ends_on__gte=starts_on
    ).exclude(status=LeaveRequest.Status.REJECTED)
    if exclude is not None:
        clashing = clashing.exclude(pk=exclude.pk)
    clash = clashing.order_by("starts_on", "id").first()
    if clash is not None:
        raise ValidationError(
            {
                "starts_on": f"This member already has {clash.status} leave from "
                f"{clash.starts_on:%d %b %Y} to {clash.ends_on:%d %b %Y} that overlaps these "
                "dates."
            }
        )


def _leave_balance_check(*, member, starts_on: date, ends_on: date) -> None:
    """Each calendar year the dates touch has room for them in what is left of the member's
    allowance, pending requests counted as taken. The caller holds the member's row locked."""
    for year, days in leave_days_by_year(starts_on, ends_on).items():
        balance = leave_balance(member=member, year=year)
        if days > balance.remaining:
            raise ValidationError(
                {
                    "ends_on": f"This request takes {days} day(s) of {year}'s leave, but only "
                    f"{balance.remaining} remain ({balance.allowance} allowed, {balance.taken} "
                    f"taken, {balance.pending} pending)."
                }
            )


@transaction.atomic
def leave_request_create(
    *, member, starts_on: date, ends_on: date, reason: str = ""
) -> LeaveRequest:
    """Refuses dates in the wrong order, dates overlapping the member's pending or approved
    leave, and a request longer than what is left of the member's allowance in each calendar
    year it touches, pending requests counted as taken. The member's row is locked, so two
    requests at once cannot both take the same days or spend the last ones."""
    if ends_on < starts_on:
        raise ValidationError({"ends_on": "Leave cannot end before it starts."})
    Membership.objects.select_for_update().filter(pk=member.pk).first()
    _leave_overlap_check(member=member, starts_on=starts_on, ends_on=ends_on)
    _leave_balance_check(member=member, starts_on=starts_on, ends_on=ends_on)
    return member_record_create(
        LeaveRequest,
        LEAVE_FIELDS,
        member=member,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason.strip(),
    )


@transaction.atomic
def expense_create(*, member, amount: Decimal, description: str) -> Expense:
    return member_record_create(
        Expense, EXPENSE_FIELDS, member=member, amount=amount, description=description.strip()
    )


@transaction.atomic
def timesheet_create(
    *,
    member,
    period_start: date,
    period_end: date,
    hours: Decimal,
    amount: Decimal,
    client: Client | None = None,
) -> Timesheet:
    """``client``: the client the hours were worked for, whose contacts confirm them. The
    period may not overlap another live timesheet of the member's."""
    if period_end < period_start:
        raise ValidationError({"period_end": "The period cannot end before it starts."})
    Membership.objects.select_for_update().filter(pk=member.pk).first()
    timesheet_overlap_check(member_id=member.pk, period_start=period_start, period_end=period_end)
    return member_record_create(
        Timesheet,
        TIMESHEET_FIELDS,
        member=member,
        period_start=period_start,
        period_end=period_end,
        hours=hours,
        amount=amount,
        client=client,
    )


@transaction.atomic
def document_create(
    *, member, title: str, expires_on: date | None = None, internal_notes: str = ""
) -> Document:
    return member_record_create(
        Document,
        DOCUMENT_FIELDS,
        member=member,
        title=title.strip(),
        expires_on=expires_on,
        internal_notes=internal_notes,
    )


@transaction.atomic
def record_soft_delete(*, record: SoftDeleteModel) -> None:
    """G6: hides the row from every default query; ``record_restore`` brings it back."""
    type(record).all_objects.filter(pk=record.pk).update(deleted_at=timezone.now())
    audit_event_record(action=f"{record._meta.model_name}.deleted", entity=record)


def timesheet_overlap_check(
    *, member_id: int, period_start: date, period_end: date, exclude=None
) -> None:
    """A member's live timesheets (a rejected one does not count) never cover the same day
    twice, however they are made (by hand, built from attendance, changed or restored). The
    caller holds the member's row locked, so two at once cannot both pass."""
    live = Timesheet.objects.filter(
        member_id=member_id, period_start__lte=period_end, period_end__gte=period_start
    ).exclude(status=Timesheet.Status.REJECTED)
    if exclude is not None:
        live = live.exclude(pk=exclude.pk)
    overlapping = live.order_by("period_start", "id").first()
    if overlapping is not None:
        raise ValidationError(
            {
                "period_start": "This period overlaps the member's timesheet for "
                f"{overlapping.period_start:%d %b %Y} to {overlapping.period_end:%d %b %Y}."
            }
        )


def _restore_rules(row: SoftDeleteModel) -> None:
    """The rules a create enforced against the member's other live rows, checked again
    for a row coming back: rows made while it was deleted never counted it, so restoring it
    unchecked could double-book a member or overlap their leave or timesheets (G6, D2, D3).
    Each check runs under the member's row lock its create takes. A rejected leave request
    or timesheet claims no days, so nothing is checked for it."""
    if isinstance(row, Shift):
        shift_assignment_validate(
            member=row.member,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            designation=row.designation,
        )
        return
    if not isinstance(row, LeaveRequest | Timesheet) or row.status == row.Status.REJECTED:
        return
    Membership.objects.select_for_update().filter(pk=row.member_id).first()
    if isinstance(row, LeaveRequest):
        _leave_overlap_check(member=row.member_id, starts_on=row.starts_on, ends_on=row.ends_on)
        _leave_balance_check(member=row.member, starts_on=row.starts_on, ends_on=row.ends_on)
    else:
        timesheet_overlap_check(
            member_id=row.member_id, period_start=row.period_start, period_end=row.period_end
        )


@transaction.atomic
def record_restore(*, record: SoftDeleteModel) -> None:
    """G6: brings a soft-deleted row back. Refused with a ValidationError naming the clash,
    nothing restored, when the row back would break a rule of its create
    (``_restore_rules``). The deleted row is locked first, so two restores of it at once
    cannot both record ``<model>.restored``; one already live is a 404."""
    row = (
        type(record)
        .all_objects.select_for_update(of=("self",))
        .filter(pk=record.pk, deleted_at__isnull=False)
        .first()
    )
    if row is None:
        raise Http404("This record is not deleted.")
    try:
        _restore_rules(row)
    except ValidationError as refusal:
        raise ValidationError(
            f"This {row._meta.verbose_name} cannot be restored. {' '.join(refusal.messages)}"
        ) from None
    type(row).all_objects.filter(pk=row.pk).update(deleted_at=None)
    audit_event_record(action=f"{row._meta.model_name}.restored", entity=row)


def approvable_status_set(*, record, status: str) -> None:
    """Moves a leave request, expense or timesheet to ``status``. Only the approval service
    (``rbac.approvals``) calls it, inside its transaction, and records the decision that
    caused it as the audit event."""
    record.status = status
    record.updated_at = timezone.now()
    record.save(update_fields=["status", "updated_at"])


# --- changes, deletion and restoration (D8, G6) ---------------------------------------------


class StaleRecord(Exception):
    """The row changed since the version the caller read (lost-update prevention; HTTP 412)."""


class RecordDecided(Exception):
    """A leave request, expense or timesheet already approved or rejected: it is no longer
    the member's to change (HTTP 409)."""


def record_version(record: Model) -> str:
    """An opaque version of a row, served as its ``ETag`` and expected back in ``If-Match``.

    Rows with ``updated_at`` are versioned by it (every update bumps it); sites and clients,
    which have none, by their stored values. It is an HMAC under the secret key, not a plain
    hash, so a member cannot test guesses of a field withheld from them (Z7) against it."""
    if hasattr(record, "updated_at"):
        state = [record.updated_at.isoformat()]
    else:
        state = [
            str(getattr(record, field.attname))
            for field in record._meta.concrete_fields
            if field.attname != "id"
        ]
    payload = "\x1f".join([record._meta.label, str(record.pk), *state])
    return salted_hmac("palisade.record_version", payload, algorithm="sha256").hexdigest()[:32]


def _locked(record: Model) -> Model:
    """The live row, locked until the transaction ends, so the version check and the write
    see the same state; a row deleted meanwhile is a 404."""
    try:
        return type(record).objects.select_for_update(of=("self",)).get(pk=record.pk)
    except ObjectDoesNotExist:
        raise Http404("This record no longer exists.") from None


def _check_version(record: Model, expected: Collection[str] | None) -> None:
    # None: the caller sent no precondition (allowed; see workforce.api.PRECONDITIONS).
    if expected is not None and "*" not in expected and record_version(record) not in expected:
        raise StaleRecord(
            "This record has changed since you read it. Read it again, then repeat your change."
        )


def _update(
    record: Model,
    fields: list[str],
    changes: dict,
    expected_versions: Collection[str] | None,
    validate=None,
) -> Model:
    """Applies ``changes`` to the locked row after the version check, validates it as a
    create would (field rules and database constraints: a ValidationError, never an
    IntegrityError; then ``validate(row, before)``, the use case's own rules), bumps
    ``updated_at`` and records ``<entity>.updated`` with what changed."""
    row = _locked(record)
    _check_version(row, expected_versions)
    before = snapshot(row, fields)
    for name, value in changes.items():
        setattr(row, name, value)
    if hasattr(row, "updated_at"):
        row.updated_at = timezone.now()
    row.full_clean()
    if validate is not None:
        validate(row, before)
    row.save()
    after = snapshot(row, fields)
    changes = changes_between(before, after)
    for name in AUDITED_AMOUNTS.get(type(row), ()):
        changes.setdefault(name, [before[name], after[name]])
    audit_event_record(action=f"{row._meta.model_name}.updated", entity=row, changes=changes)
    return row


def _stripped(changes: dict, *names: str) -> dict:
    return {
        name: value.strip() if name in names and isinstance(value, str) else value
        for name, value in changes.items()
    }


@transaction.atomic
def site_update(*, site: Site, expected_versions: Collection[str] | None = None, **changes) -> Site:
    """``changes``: any of name, address, department."""
    return _update(site, SITE_FIELDS, _stripped(changes, "name", "address"), expected_versions)


@transaction.atomic
def client_update(
    *, client: Client, expected_versions: Collection[str] | None = None, **changes
) -> Client:
    """``changes``: any of name, internal_notes."""
    return _update(client, CLIENT_FIELDS, _stripped(changes, "name"), expected_versions)


@transaction.atomic
def shift_update(
    *, shift: Shift, expected_versions: Collection[str] | None = None, **changes
) -> Shift:
    """``changes``: any of site, client, member, designation, starts_at, ends_at, bill_rate,
    pay_rate, internal_notes. A shift moved to another site moves to that site's department
    (Z4). The assignment rules of a create (no overlapping shifts for the member, the
    required designation) hold for the changed shift."""
    if "site" in changes:
        changes["department_id"] = changes["site"].department_id

    def assignment_rules(row: Shift, before: dict) -> None:
        shift_assignment_validate(
            member=row.member,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            designation=row.designation,
            exclude=row,
        )

    return _update(shift, SHIFT_FIELDS, changes, expected_versions, assignment_rules)


def _own_pending_update(
    record,
    fields: list[str],
    changes: dict,
    expected_versions: Collection[str] | None,
    validate=None,
):
    """Leave, expenses and timesheets are changed by their member while pending only: once
    decided, what was approved stays what it was approved as (Z6)."""
    row = _locked(record)
    if row.status != row.Status.PENDING:
        raise RecordDecided(
            f"This {row._meta.verbose_name} is already {row.status}; it can no longer be changed."
        )
    return _update(row, fields, changes, expected_versions, validate)


def _leave_within_balance(row: LeaveRequest, before: dict) -> None:
    """The create's rules for changed dates: no overlap with the member's other leave, and
    the allowance, where the request's own days were already counted as pending, so they
    are given back before the new ones are weighed."""
    if (row.starts_on, row.ends_on) == (before["starts_on"], before["ends_on"]):
        return
    Membership.objects.select_for_update().filter(pk=row.member_id).first()
    _leave_overlap_check(
        member=row.member_id, starts_on=row.starts_on, ends_on=row.ends_on, exclude=row
    )
    own = leave_days_by_year(before["starts_on"], before["ends_on"])
    for year, days in leave_days_by_year(row.starts_on, row.ends_on).items():
        balance = leave_balance(member=row.member, year=year)
        available = balance.remaining + own.get(year, 0)
        if days > available:
            raise ValidationError(
                {
                    "ends_on": f"This request takes {days} day(s) of {year}'s leave, but only "
                    f"{available} remain for it ({balance.allowance} allowed)."
                }
            )


@transaction.atomic
def leave_request_update(
    *, leave: LeaveRequest, expected_versions: Collection[str] | None = None, **changes
) -> LeaveRequest:
    """``changes``: any of starts_on, ends_on, reason."""
    return _own_pending_update(
        leave, LEAVE_FIELDS, _stripped(changes, "reason"), expected_versions, _leave_within_balance
    )


@transaction.atomic
def expense_update(
    *, expense: Expense, expected_versions: Collection[str] | None = None, **changes
) -> Expense:
    """``changes``: any of amount, description."""
    return _own_pending_update(
        expense, EXPENSE_FIELDS, _stripped(changes, "description"), expected_versions
    )


@transaction.atomic
def timesheet_update(
    *, timesheet: Timesheet, expected_versions: Collection[str] | None = None, **changes
) -> Timesheet:
    """``changes``: any of period_start, period_end, hours, amount."""
    return _own_pending_update(
        timesheet, TIMESHEET_FIELDS, changes, expected_versions, _timesheet_period_free
    )


def _timesheet_period_free(row: Timesheet, before: dict) -> None:
    """The create's rule for a changed period: no overlap with the member's other live
    timesheets."""
    if (row.period_start, row.period_end) == (before["period_start"], before["period_end"]):
        return
    if row.period_end < row.period_start:
        raise ValidationError({"period_end": "The period cannot end before it starts."})
    Membership.objects.select_for_update().filter(pk=row.member_id).first()
    timesheet_overlap_check(
        member_id=row.member_id,
        period_start=row.period_start,
        period_end=row.period_end,
        exclude=row,
    )


@transaction.atomic
def document_update(
    *, document: Document, expected_versions: Collection[str] | None = None, **changes
) -> Document:
    """``changes``: any of title, expires_on, internal_notes. A new expiry date is reminded
    of again (the reminder marker is cleared)."""
    if "expires_on" in changes and changes["expires_on"] != document.expires_on:
        changes["expiry_reminded_at"] = None
    return _update(document, DOCUMENT_FIELDS, _stripped(changes, "title"), expected_versions)


@transaction.atomic
def record_delete(
    *, record: SoftDeleteModel, expected_versions: Collection[str] | None = None
) -> None:
    """DELETE through the API: the version check, then ``record_soft_delete`` (G6)."""
    row = _locked(record)
    _check_version(row, expected_versions)
    record_soft_delete(record=row)
