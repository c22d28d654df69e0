"""My shifts (D2): the member's own shifts around today, with clocking in and out through
``workforce.timekeeping`` (which decides when clock-in is open and refuses a second one).
Plain form POSTs that redirect back; with htmx the shift's row is swapped in place."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from rbac.fields import withheld_for_request
from rbac.permissions import requires
from workforce import selectors
from workforce.timekeeping import (
    CLOCK_IN_OPENS_BEFORE_START,
    assigned_shift,
    attendance_clock_in,
    attendance_clock_out,
    attendance_for,
)

# The page shows yesterday's shifts (to clock out of a night shift) to two weeks ahead.
SHOWN_BEFORE = timedelta(days=1)
SHOWN_AFTER = timedelta(days=14)
MY_SHIFTS_SHOWN = 100


def _rows(request, shifts) -> list[dict]:
    """Each shift with its attendance and the one action open now (two queries in all)."""
    membership = request.membership
    shifts = list(shifts)
    attended = {
        row.shift_id: row
        for row in attendance_for(membership).filter(
            member=membership, shift_id__in=[shift.pk for shift in shifts]
        )
    }
    now = timezone.now()
    rows = []
    for shift in shifts:
        attendance = attended.get(shift.pk)
        action = None
        if attendance is None:
            if shift.starts_at - CLOCK_IN_OPENS_BEFORE_START <= now < shift.ends_at:
                action = "clock-in"
        elif attendance.clock_in_at and not attendance.clock_out_at:
            action = "clock-out"
        rows.append({"shift": shift, "attendance": attendance, "action": action})
    return rows


def _my_shifts(request):
    now = timezone.now()
    return (
        selectors.shifts_for(request.membership, withheld_for_request(request))
        .filter(member=request.membership)
        .filter(ends_at__gt=now - SHOWN_BEFORE, starts_at__lt=now + SHOWN_AFTER)
    )


@requires("attendance.create")
@login_required
def my_shifts(request, org_slug: str):
    return render(
        request,
        "portal/my_shifts.html",
        {
            "organization": request.organization,
            "rows": _rows(request, _my_shifts(request)[:MY_SHIFTS_SHOWN]),
        },
    )


def _clock(request, shift_id: int, service, done: str):
    shift = assigned_shift(request.membership, shift_id)  # 404 unless it is theirs
    try:
        service(shift=shift, member=request.membership)
    except ValidationError as error:
        outcome, ok = " ".join(error.messages), False
    else:
        outcome, ok = done, True
    if request.headers.get("HX-Request"):
        shifts = _my_shifts(request).filter(pk=shift.pk)
        row = (_rows(request, shifts) or [None])[0]
        return render(
            request,
            "portal/my_shift_row.html",
            {"organization": request.organization, "row": row, "outcome": outcome, "ok": ok},
        )
    (messages.success if ok else messages.error)(request, outcome)
    return redirect("my-shifts", org_slug=request.organization.slug)


@requires("attendance.create")
@require_POST
@login_required
def clock_in(request, org_slug: str, shift_id: int):
    return _clock(request, shift_id, attendance_clock_in, "You are clocked in.")


@requires("attendance.update_own")
@require_POST
@login_required
def clock_out(request, org_slug: str, shift_id: int):
    return _clock(request, shift_id, attendance_clock_out, "You are clocked out.")
