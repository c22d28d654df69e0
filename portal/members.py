"""Member management pages: a manager's correction of a member's attendance. It calls the
service, so its rules hold here (nobody corrects their own time, Z6) and its refusals are
shown next to the form, answered with a 400 that rolls the request back."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from portal.records import show_service_errors
from rbac.permissions import requires
from tenants.models import Membership
from workforce.timekeeping import CORRECTION_REASON_MAX, access_attendance, attendance_correct


def _name(membership: Membership) -> str:
    return membership.user.full_name or membership.user.email


# --- attendance corrections (D2) ------------------------------------------------------------


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self):
        super().__init__(format="%Y-%m-%dT%H:%M")


class AttendanceCorrectionForm(forms.Form):
    clock_in_at = forms.DateTimeField(label="Clocked in at", widget=DateTimeInput())
    clock_out_at = forms.DateTimeField(
        label="Clocked out at (empty if still at work)", required=False, widget=DateTimeInput()
    )
    reason = forms.CharField(
        label="Why the times are corrected",
        max_length=CORRECTION_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@requires("attendance.update")
@require_http_methods(["GET", "POST"])
@login_required
def attendance_correct_page(request, org_slug: str, attendance_id: int):
    # Z4: attendance outside the member's visibility scope, or of another organisation, is a
    # 404 that confirms nothing.
    attendance = access_attendance(request.membership, attendance_id)
    form = AttendanceCorrectionForm(
        request.POST if request.method == "POST" else None,
        initial={"clock_in_at": attendance.clock_in_at, "clock_out_at": attendance.clock_out_at},
    )
    if request.method == "POST" and form.is_valid():
        try:
            attendance_correct(
                attendance=attendance, corrected_by=request.membership, **form.cleaned_data
            )
        except ValidationError as error:
            show_service_errors(form, error)
        else:
            messages.success(request, f"The attendance of {_name(attendance.member)} is corrected.")
            return redirect("shift-detail", org_slug=org_slug, record_id=attendance.shift_id)
    return render(
        request,
        "portal/attendance_correct.html",
        {"organization": request.organization, "attendance": attendance, "form": form},
        status=400 if form.errors else 200,
    )


page_patterns: list = [
    path(
        "attendance/<id:attendance_id>/correct/",
        attendance_correct_page,
        name="attendance-correct",
    ),
]
