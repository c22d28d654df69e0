"""Time: clocking in and out of shifts, late and missed detection, and timesheets built from
attendance (D2, D5).

Clock-in is open from ``CLOCK_IN_OPENS_BEFORE_START`` before a shift starts until it ends; a
clock-in more than ``LATE_AFTER`` after the start is late. Shifts that ended with nobody
clocked in are marked missed by a periodic job (``workforce.tasks``), once each. Reads are
scoped by the ``attendance`` module's visibility (Z4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from audit.services import audit_event_record, changes_between, snapshot
from rbac.scopes import visible
from tenants.models import Membership
from workforce.models import Approvable, Attendance, Shift, Timesheet
from workforce.services import TIMESHEET_FIELDS, member_record_create, timesheet_overlap_check

CLOCK_IN_OPENS_BEFORE_START = timedelta(minutes=30)
LATE_AFTER = timedelta(minutes=5)
# The missed-shift job looks this far back, so a first run (or a run after an outage) does
# not mark years of shifts from before attendance was recorded; and it handles at most this
# many shifts per run (the next run takes the rest).
MISSED_LOOKBACK = timedelta(days=7)
MISSED_BATCH = 500

ATTENDANCE_FIELDS = ["member", "department", "shift", "clock_in_at", "clock_out_at", "status"]
CORRECTION_REASON_MAX = 500
HOUR = Decimal(3600)
CENTS = Decimal("0.01")


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%d %b %Y %H:%M %Z}"


# --- reads ----------------------------------------------------------------------------------


def attendance_for(membership: Membership) -> QuerySet[Attendance]:
    rows = Attendance.objects.select_related("shift__site", "department", "member__user")
    return visible(rows, "attendance", membership).order_by("-shift__starts_at", "-id")


def access_attendance(membership: Membership, attendance_id: int) -> Attendance:
    return get_object_or_404(attendance_for(membership), pk=attendance_id)


def assigned_shift(membership: Membership, shift_id: int) -> Shift:
    """A live shift assigned to the member, or 404: nobody clocks in to someone else's shift,
    whatever else their role lets them see."""
    return get_object_or_404(Shift.objects.filter(member=membership), pk=shift_id)


# --- clocking in and out --------------------------------------------------------------------


def _arrival_status(shift: Shift, clock_in_at: datetime) -> str:
    late = clock_in_at > shift.starts_at + LATE_AFTER
    return Attendance.Status.LATE if late else Attendance.Status.ON_TIME


def _punch_time(at: datetime | None, what: str) -> datetime:
    """When a clock-in or clock-out happened: now, or ``at`` for a punch recorded earlier and
    entered later (a clocking terminal's upload, the demo's past month), never in the future."""
    now = timezone.now()
    if at is None:
        return now
    if at > now:
        raise ValidationError(f"A {what} cannot be in the future.")
    return at


@transaction.atomic
def attendance_clock_in(
    *, shift: Shift, member: Membership, at: datetime | None = None
) -> Attendance:
    """Clocks ``member`` in to their ``shift`` now (or ``at``, see ``_punch_time``): on time,
    or late after ``LATE_AFTER``."""
    clocked_at = _punch_time(at, "clock-in")
    # Serialises clock-ins to one shift, so a double submission finds the first one.
    shift = Shift.objects.select_for_update(of=("self",)).get(pk=shift.pk)
    if shift.member_id != member.pk:
        raise ValidationError("You can only clock in to a shift assigned to you.")
    existing = Attendance.objects.filter(shift=shift, member=member).first()
    if existing is not None and existing.clock_in_at is not None:
        raise ValidationError(
            f"You already clocked in to this shift at {_local(existing.clock_in_at)}."
        )
    if existing is not None:
        raise ValidationError("This shift was marked missed; ask your manager to correct it.")
    opens = shift.starts_at - CLOCK_IN_OPENS_BEFORE_START
    if clocked_at < opens:
        raise ValidationError(
            f"Clock-in opens at {_local(opens)}, {int(CLOCK_IN_OPENS_BEFORE_START.seconds / 60)}"
            " minutes before the shift starts."
        )
    if clocked_at >= shift.ends_at:
        raise ValidationError(f"This shift ended at {_local(shift.ends_at)}; clock-in is closed.")
    return member_record_create(
        Attendance,
        ATTENDANCE_FIELDS,
        member=member,
        action="attendance.clocked_in",
        shift=shift,
        clock_in_at=clocked_at,
        status=_arrival_status(shift, clocked_at),
    )


@transaction.atomic
def attendance_clock_out(
    *, shift: Shift, member: Membership, at: datetime | None = None
) -> Attendance:
    """Clocks ``member`` out of their ``shift`` now (or ``at``, see ``_punch_time``)."""
    clocked_at = _punch_time(at, "clock-out")
    attendance = (
        Attendance.objects.select_for_update(of=("self",))
        .filter(shift=shift, member=member, clock_in_at__isnull=False)
        .first()
    )
    if attendance is None:
        raise ValidationError("You have not clocked in to this shift, so you cannot clock out.")
    if attendance.clock_out_at is not None:
        raise ValidationError(
            f"You already clocked out of this shift at {_local(attendance.clock_out_at)}."
        )
    if clocked_at <= attendance.clock_in_at:
        raise ValidationError("Clock-out must come after clock-in.")
    before = snapshot(attendance, ATTENDANCE_FIELDS)
    attendance.clock_out_at = clocked_at
    attendance.updated_at = timezone.now()
    attendance.save(update_fields=["clock_out_at", "updated_at"])
    audit_event_record(
        action="attendance.clocked_out",
        entity=attendance,
        changes=changes_between(before, snapshot(attendance, ATTENDANCE_FIELDS)),
    )
    return attendance


def _correction_errors(
    shift: Shift, clock_in_at: datetime, clock_out_at: datetime | None, reason: str
) -> dict[str, str]:
    """What is wrong with a correction's input, before any row is locked."""
    errors = {}
    now = timezone.now()
    opens = shift.starts_at - CLOCK_IN_OPENS_BEFORE_START
    if clock_in_at > now:
        errors["clock_in_at"] = "Clock-in cannot be in the future."
    elif not opens <= clock_in_at < shift.ends_at:
        # The window a member could have clocked in themselves (attendance_clock_in).
        errors["clock_in_at"] = (
            f"Clock-in must be between {_local(opens)} (when clock-in opens) and the end of "
            f"the shift at {_local(shift.ends_at)}."
        )
    if clock_out_at is not None:
        if clock_out_at > now:
            errors["clock_out_at"] = "Clock-out cannot be in the future."
        elif clock_out_at <= clock_in_at:
            errors["clock_out_at"] = "Clock-out must come after clock-in."
    if not reason:
        errors["reason"] = "Say why the times are corrected; the reason is kept in the audit log."
    elif len(reason) > CORRECTION_REASON_MAX:
        errors["reason"] = f"Keep the reason to {CORRECTION_REASON_MAX} characters."
    return errors


@transaction.atomic
def attendance_correct(
    *,
    attendance: Attendance,
    corrected_by: Membership,
    clock_in_at: datetime,
    clock_out_at: datetime | None,
    reason: str,
) -> Attendance:
    """Sets a member's clock-in and clock-out (``clock_out_at`` None: still at work) as
    someone who may update attendance in their scope corrects them (a forgotten clock-out,
    a shift marked missed that was worked), and works out on time or late again from the new
    clock-in. The event keeps the times before and after and the reason.

    Refused: one's own attendance (Z6: nobody signs off their own time), times in the future,
    out of order or outside the shift's clock-in window, no reason or a long one, the same
    times again, and attendance of a day already on the member's live timesheet (its hours
    and pay were worked out from it; that timesheet is rejected first)."""
    reason = reason.strip()
    # Re-read within the corrector's scope and locked: hidden or deleted since is a 404, and
    # a clock-out or another correction meanwhile waits for this one.
    row = get_object_or_404(
        attendance_for(corrected_by).select_for_update(of=("self",)), pk=attendance.pk
    )
    if row.member_id == corrected_by.pk:
        raise ValidationError("You cannot correct your own attendance; ask your manager.")
    errors = _correction_errors(row.shift, clock_in_at, clock_out_at, reason)
    if errors:
        raise ValidationError(errors)
    if (row.clock_in_at, row.clock_out_at) == (clock_in_at, clock_out_at):
        raise ValidationError("These are the times already recorded; there is nothing to correct.")
    # The lock timesheet_build takes: a timesheet cannot be built from the old times while
    # this correction is under way.
    Membership.objects.select_for_update().filter(pk=row.member_id).first()
    day = timezone.localdate(row.shift.starts_at)
    timesheet = (
        Timesheet.objects.filter(
            member_id=row.member_id, period_start__lte=day, period_end__gte=day
        )
        .exclude(status=Approvable.Status.REJECTED)
        .first()
    )
    if timesheet is not None:
        raise ValidationError(
            f"This shift is on the member's {timesheet.status} timesheet for "
            f"{timesheet.period_start:%d %b %Y} to {timesheet.period_end:%d %b %Y}; that "
            "timesheet must be rejected before the times can change."
        )
    before = snapshot(row, ATTENDANCE_FIELDS)
    row.clock_in_at, row.clock_out_at = clock_in_at, clock_out_at
    row.status = _arrival_status(row.shift, clock_in_at)
    row.updated_at = timezone.now()
    row.full_clean()
    row.save(update_fields=["clock_in_at", "clock_out_at", "status", "updated_at"])
    changes = changes_between(before, snapshot(row, ATTENDANCE_FIELDS))
    changes["reason"] = [None, reason]
    audit_event_record(action="attendance.corrected", entity=row, changes=changes)
    return row


@transaction.atomic
def attendance_mark_missed() -> int:
    """Marks every assigned shift that ended (within ``MISSED_LOOKBACK``) with no attendance
    of its member as missed: one ``missed`` row and one ``attendance.missed`` event per shift.
    Idempotent: a marked shift has its row and is not found again; shifts another run has
    locked are skipped, so two runs at once never mark one twice. Returns how many."""
    now = timezone.now()
    already = Attendance.all_objects.filter(shift=OuterRef("pk"), member=OuterRef("member_id"))
    ended = list(
        Shift.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(member__isnull=False, ends_at__lte=now, ends_at__gt=now - MISSED_LOOKBACK)
        .filter(~Q(Exists(already)))
        .select_related("member")
        .order_by("ends_at", "id")[:MISSED_BATCH]
    )
    for shift in ended:
        member_record_create(
            Attendance,
            ATTENDANCE_FIELDS,
            member=shift.member,
            action="attendance.missed",
            shift=shift,
            status=Attendance.Status.MISSED,
        )
    return len(ended)


# --- timesheets from attendance (D5) --------------------------------------------------------


@dataclass(frozen=True)
class WorkedTime:
    hours: Decimal
    amount: Decimal
    attendance_ids: list[int]
    # The one client all the shifts were for; None when they were for several, or any
    # had none (internal work).
    client_id: int | None


def worked_time(*, member: Membership, period_start: date, period_end: date) -> WorkedTime:
    """Completed attendance (clocked in and out) of shifts that start in the period (dates
    in the organisation's time zone): hours worked, and each hour paid at its shift's pay
    rate. Rounded to cents once, at the end."""
    rows = Attendance.objects.filter(
        member=member,
        clock_in_at__isnull=False,
        clock_out_at__isnull=False,
        shift__starts_at__date__gte=period_start,
        shift__starts_at__date__lte=period_end,
    ).values_list("pk", "clock_in_at", "clock_out_at", "shift__pay_rate", "shift__client_id")
    hours = amount = Decimal(0)
    ids = []
    clients = set()
    for pk, clock_in_at, clock_out_at, pay_rate, client_id in rows:
        worked = Decimal((clock_out_at - clock_in_at).total_seconds()) / HOUR
        hours += worked
        amount += worked * pay_rate
        ids.append(pk)
        clients.add(client_id)
    return WorkedTime(
        hours=hours.quantize(CENTS, ROUND_HALF_UP),
        amount=amount.quantize(CENTS, ROUND_HALF_UP),
        attendance_ids=sorted(ids),
        client_id=clients.pop() if len(clients) == 1 else None,
    )


@transaction.atomic
def timesheet_build(*, member: Membership, period_start: date, period_end: date) -> Timesheet:
    """A pending timesheet for ``member`` made from their completed attendance in the period.
    Refused: dates in the wrong order, a period overlapping another live timesheet of theirs
    (a rejected one does not count), and a period with no completed attendance."""
    if period_end < period_start:
        raise ValidationError({"period_end": "The period cannot end before it starts."})
    # Serialises builds for one member, so two at once cannot both pass the overlap check.
    Membership.objects.select_for_update().filter(pk=member.pk).first()
    timesheet_overlap_check(member_id=member.pk, period_start=period_start, period_end=period_end)
    worked = worked_time(member=member, period_start=period_start, period_end=period_end)
    if not worked.attendance_ids:
        raise ValidationError(
            {
                "period_start": "There is no completed attendance (clocked in and out) in "
                f"{period_start:%d %b %Y} to {period_end:%d %b %Y}; nothing to put on a "
                "timesheet."
            }
        )
    timesheet = Timesheet(
        member=member,
        department_id=member.department_id,
        period_start=period_start,
        period_end=period_end,
        hours=worked.hours,
        amount=worked.amount,
        client_id=worked.client_id,
    )
    timesheet.full_clean()
    timesheet.save()
    changes = changes_between({}, snapshot(timesheet, TIMESHEET_FIELDS))
    changes["attendance"] = [None, worked.attendance_ids]
    audit_event_record(action="timesheet.built", entity=timesheet, changes=changes)
    return timesheet
