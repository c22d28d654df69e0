"""D2: clocking in and out of one's own shift, late and missed detection, the attendance
list and detail (scoped, Z4), and their attacks: someone else's shift, another
organisation's shift, twice, out of order. A manager's correction of a member's times: in
scope only, never their own (Z6), with a reason kept in the audit event (L1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.domain.conftest import attended, get, post, shift_at, signed_in
from tests.factories import (
    make_membership,
    make_organization,
    make_shift,
    make_site,
    make_timesheet,
    make_user,
)
from workforce import timekeeping
from workforce.models import Attendance
from workforce.services import approvable_status_set
from workforce.tasks import mark_missed_attendance

pytestmark = pytest.mark.django_db


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _attendance(world):
    with tenant_context(world.org):
        return list(Attendance.objects.order_by("id"))


def test_D2_constants_say_when_clock_in_opens_and_when_it_is_late():
    assert timedelta(minutes=30) == timekeeping.CLOCK_IN_OPENS_BEFORE_START
    assert timedelta(minutes=5) == timekeeping.LATE_AFTER


def test_D2_clock_in_within_five_minutes_is_on_time_then_clock_out(world, soon):
    shift = shift_at(world, soon)
    with _at(soon + timedelta(minutes=5)):
        response = post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-in/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "on_time"
    assert body["shift"]["id"] == shift.pk and body["member"]["id"] == world.members["staff"].pk
    assert body["clock_out_at"] is None
    with _at(soon + timedelta(hours=8, minutes=2)):
        out = post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-out/")
    assert out.status_code == 200, out.content
    assert out.json()["clock_out_at"] is not None and out.json()["id"] == body["id"]
    with tenant_context(world.org):
        actions = list(
            AuditEvent.objects.filter(entity_type="workforce.attendance")
            .order_by("seq")
            .values_list("action", flat=True)
        )
    assert actions == ["attendance.clocked_in", "attendance.clocked_out"]


def test_D2_clock_in_opens_thirty_minutes_before_start(world, soon):
    shift = shift_at(world, soon)
    with _at(soon - timedelta(minutes=31)):
        early = post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-in/")
    assert early.status_code == 400
    assert "opens at" in early.json()["non_field_errors"][0]
    assert _attendance(world) == []
    with _at(soon - timedelta(minutes=30)):
        assert post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-in/").status_code == 201
    assert _attendance(world)[0].status == Attendance.Status.ON_TIME


def test_D2_more_than_five_minutes_after_start_is_late(world, soon):
    shift = shift_at(world, soon)
    with _at(soon + timedelta(minutes=5, seconds=1)):
        response = post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-in/")
    assert response.status_code == 201
    assert response.json()["status"] == "late"


def test_D2_clock_in_closes_when_the_shift_ends(world, soon):
    shift = shift_at(world, soon, hours=4)
    with _at(soon + timedelta(hours=4)):
        response = post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-in/")
    assert response.status_code == 400
    assert "ended" in response.json()["non_field_errors"][0]
    assert _attendance(world) == []


def test_D2_clocking_in_twice_is_refused_saying_when(world, soon):
    shift = shift_at(world, soon)
    with _at(soon):
        staff = signed_in(world, "staff")
        assert post(staff, f"shifts/{shift.pk}/clock-in/").status_code == 201
        again = post(staff, f"shifts/{shift.pk}/clock-in/")
    assert again.status_code == 400
    assert "already clocked in" in again.json()["non_field_errors"][0]
    assert len(_attendance(world)) == 1


def test_D2_clock_out_before_clock_in_and_twice_are_refused(world, soon):
    shift = shift_at(world, soon)
    with _at(soon):
        staff = signed_in(world, "staff")
        first = post(staff, f"shifts/{shift.pk}/clock-out/")
        assert first.status_code == 400
        assert "not clocked in" in first.json()["non_field_errors"][0]
        assert _attendance(world) == []
        post(staff, f"shifts/{shift.pk}/clock-in/")
    with _at(soon + timedelta(hours=1)):
        staff = signed_in(world, "staff")
        assert post(staff, f"shifts/{shift.pk}/clock-out/").status_code == 200
        again = post(staff, f"shifts/{shift.pk}/clock-out/")
    assert again.status_code == 400
    assert "already clocked out" in again.json()["non_field_errors"][0]


def test_D2_a_punch_entered_later_keeps_its_own_time_and_rules(world, soon):
    """A clocking terminal's punches uploaded after the shift (and the demo's past month):
    recorded at their own times, late worked out from them, the same windows applied."""
    shift = shift_at(world, soon)
    member = world.members["staff"]
    with _at(soon + timedelta(hours=9)), tenant_context(world.org):
        with pytest.raises(ValidationError, match="opens at"):
            timekeeping.attendance_clock_in(
                shift=shift, member=member, at=soon - timedelta(minutes=31)
            )
        with pytest.raises(ValidationError, match="cannot be in the future"):
            timekeeping.attendance_clock_in(
                shift=shift, member=member, at=soon + timedelta(hours=10)
            )
        clocked_in = timekeeping.attendance_clock_in(
            shift=shift, member=member, at=soon + timedelta(minutes=7)
        )
        with pytest.raises(ValidationError, match="must come after clock-in"):
            timekeeping.attendance_clock_out(shift=shift, member=member, at=soon)
        clocked_out = timekeeping.attendance_clock_out(
            shift=shift, member=member, at=soon + timedelta(hours=8, minutes=3)
        )
        event = AuditEvent.objects.get(action="attendance.clocked_out")
    assert (clocked_in.clock_in_at, clocked_in.status) == (
        soon + timedelta(minutes=7),
        Attendance.Status.LATE,
    )
    assert clocked_out.clock_out_at == soon + timedelta(hours=8, minutes=3)
    assert clocked_out.updated_at == soon + timedelta(hours=9)  # when it was entered
    assert event.changes["clock_out_at"][0] is None and event.changes["clock_out_at"][1]


def test_D2_nobody_clocks_in_to_someone_elses_shift(world, soon):
    """Another staff member's shift, and even a shift a manager can see, are 404s."""
    shift = shift_at(world, soon)
    with _at(soon):
        for role in ("south_staff", "manager", "owner"):
            response = post(signed_in(world, role), f"shifts/{shift.pk}/clock-in/")
            assert response.status_code == 404, role
        assert (
            post(signed_in(world, "south_staff"), f"shifts/{shift.pk}/clock-out/").status_code
            == 404
        )
    assert _attendance(world) == []


def test_D2_a_role_without_attendance_create_gets_403(world, soon):
    with _at(soon):
        response = post(signed_in(world, "client"), f"shifts/{world.shifts['leeds'].pk}/clock-in/")
    assert response.status_code == 403


def test_D2_another_organisations_shift_is_404(world, soon):
    bravo = make_organization("Bravo Care", "bravo")
    bravo_user = make_user("bob@bravo.example")
    bravo_member = make_membership(bravo, bravo_user)
    bravo_shift = make_shift(
        bravo, site=make_site(bravo, "Bravo Site"), member=bravo_member, starts_at=soon
    )
    with _at(soon):
        staff = signed_in(world, "staff")
        assert post(staff, f"shifts/{bravo_shift.pk}/clock-in/").status_code == 404
        # A member of another organisation is not let in to this one's API at all.
        from django.test import Client

        outsider = Client(HTTP_HOST=settings.PORTAL_HOST)
        outsider.force_login(bravo_user)
        shift = world.shifts["leeds"]
        assert post(outsider, f"shifts/{shift.pk}/clock-in/").status_code == 404
    with tenant_context(bravo):
        assert not Attendance.objects.exists()


def test_D2_missed_shifts_are_marked_once_by_the_periodic_task(world, soon):
    missed = shift_at(world, soon, hours=4)
    worked = shift_at(world, soon, hours=4, member="south_staff")
    shift_at(world, soon, hours=4, member=None)  # nobody to miss it
    with _at(soon):
        post(signed_in(world, "south_staff"), f"shifts/{worked.pk}/clock-in/")
    with _at(soon + timedelta(hours=3)):
        assert mark_missed_attendance(world.org.pk) == 0  # not over yet
    with _at(soon + timedelta(hours=4, minutes=1)):
        assert mark_missed_attendance(world.org.pk) == 1
        assert mark_missed_attendance(world.org.pk) == 0
    rows = {row.shift_id: row for row in _attendance(world)}
    assert rows[missed.pk].status == Attendance.Status.MISSED
    assert rows[missed.pk].clock_in_at is None
    assert rows[missed.pk].member_id == world.members["staff"].pk
    assert rows[worked.pk].status == Attendance.Status.ON_TIME
    with tenant_context(world.org):
        events = AuditEvent.objects.filter(action="attendance.missed")
        assert [e.entity_id for e in events] == [str(rows[missed.pk].pk)]
        assert events[0].actor_type == "system"


def test_D2_a_missed_shift_cannot_be_clocked_in_to_afterwards(world, soon):
    shift = shift_at(world, soon, hours=1)
    with _at(soon + timedelta(hours=2)):
        mark_missed_attendance(world.org.pk)
        response = post(signed_in(world, "staff"), f"shifts/{shift.pk}/clock-in/")
    assert response.status_code == 400


def test_D2_the_beat_schedule_runs_the_missed_check_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["workforce-mark-missed-attendance"]
    assert entry["task"] == "workforce.mark_missed_attendance_all_organizations"
    assert entry["schedule"] == 300


def test_Z4_attendance_list_and_detail_are_scoped(world, soon):
    staff_shift = shift_at(world, soon)
    south_shift = shift_at(world, soon, member="south_staff")
    with _at(soon):
        post(signed_in(world, "staff"), f"shifts/{staff_shift.pk}/clock-in/")
        post(signed_in(world, "south_staff"), f"shifts/{south_shift.pk}/clock-in/")
        ids = {row.member_id: row.pk for row in _attendance(world)}
        staff_row, south_row = ids[world.members["staff"].pk], ids[world.members["south_staff"].pk]

        def listed(role):
            response = get(signed_in(world, role), "attendance/")
            assert response.status_code == 200
            return {row["id"] for row in response.json()["results"]}

        assert listed("staff") == {staff_row}
        assert listed("manager") == {staff_row}  # north and leeds
        assert listed("owner") == {staff_row, south_row}
        staff = signed_in(world, "staff")
        assert get(staff, f"attendance/{staff_row}/").json()["status"] == "on_time"
        assert get(staff, f"attendance/{south_row}/").status_code == 404
        assert get(signed_in(world, "manager"), f"attendance/{south_row}/").status_code == 404
        assert get(signed_in(world, "client"), "attendance/").status_code == 403


# --- corrections ----------------------------------------------------------------------------


def _correct(world, attendance, by="manager", *, clock_in_at, clock_out_at=None, reason="Fix"):
    """Corrects ``attendance`` as ``by``, ten hours after its shift started."""
    with _at(attendance.shift.starts_at + timedelta(hours=10)), tenant_context(world.org):
        return timekeeping.attendance_correct(
            attendance=attendance,
            corrected_by=world.members[by],
            clock_in_at=clock_in_at,
            clock_out_at=clock_out_at,
            reason=reason,
        )


def _state(world, attendance) -> tuple:
    with tenant_context(world.org):
        row = Attendance.objects.get(pk=attendance.pk)
        events = AuditEvent.objects.filter(
            entity_type="workforce.attendance", entity_id=str(row.pk)
        ).count()
    return row.clock_in_at, row.clock_out_at, row.status, events


def test_D2_a_manager_corrects_attendance_in_scope_and_late_is_worked_out_again(world, soon):
    attendance = attended(world, soon, late_by=30)
    assert attendance.status == Attendance.Status.LATE
    corrected = _correct(
        world,
        attendance,
        clock_in_at=soon + timedelta(minutes=2),
        clock_out_at=soon + timedelta(hours=8),
        reason="  Badge reader at the gate was down; the supervisor saw her arrive.  ",
    )
    assert corrected.status == Attendance.Status.ON_TIME
    with tenant_context(world.org):
        event = AuditEvent.objects.filter(action="attendance.corrected").get()
    assert event.entity_id == str(attendance.pk)
    assert event.changes == {
        "clock_in_at": [
            str(attendance.clock_in_at),
            str(soon + timedelta(minutes=2)),
        ],
        "clock_out_at": [None, str(soon + timedelta(hours=8))],
        "status": ["late", "on_time"],
        "reason": [None, "Badge reader at the gate was down; the supervisor saw her arrive."],
    }


def test_D2_a_shift_marked_missed_that_was_worked_is_corrected_to_late(world, soon):
    shift = shift_at(world, soon, hours=4)
    with _at(soon + timedelta(hours=5)):
        mark_missed_attendance(world.org.pk)
    with tenant_context(world.org):
        missed = Attendance.objects.select_related("shift").get(shift=shift)
    corrected = _correct(
        world,
        missed,
        by="owner",
        clock_in_at=soon + timedelta(minutes=20),
        clock_out_at=soon + timedelta(hours=4),
    )
    assert corrected.status == Attendance.Status.LATE
    assert corrected.clock_in_at == soon + timedelta(minutes=20)


def test_Z4_attendance_outside_the_correctors_scope_is_404(world, soon):
    south = attended(world, soon, member="south_staff")
    before = _state(world, south)
    with pytest.raises(Http404):
        _correct(world, south, clock_in_at=soon)
    assert _state(world, south) == before


def test_Z6_nobody_corrects_their_own_attendance(world, soon):
    for role in ("manager", "owner"):
        own = attended(world, soon, member=role)
        before = _state(world, own)
        with pytest.raises(ValidationError) as refused:
            _correct(world, own, by=role, clock_in_at=soon)
        assert refused.value.messages == [
            "You cannot correct your own attendance; ask your manager."
        ]
        assert _state(world, own) == before
        soon += timedelta(days=1)


@pytest.mark.parametrize(
    ("clock_in", "clock_out", "reason", "field", "message"),
    [
        (11, None, "Fix", "clock_in_at", "Clock-in cannot be in the future."),
        (1, 11, "Fix", "clock_out_at", "Clock-out cannot be in the future."),
        (1, 1, "Fix", "clock_out_at", "Clock-out must come after clock-in."),
        (-1, 2, "Fix", "clock_in_at", "Clock-in must be between"),
        (8, 9, "Fix", "clock_in_at", "Clock-in must be between"),
        (0, 8, "   ", "reason", "Say why the times are corrected"),
        (0, 8, "x" * 501, "reason", "Keep the reason to 500 characters."),
    ],
)
def test_D2_bad_corrections_are_refused_with_nothing_changed(
    world, soon, clock_in, clock_out, reason, field, message
):
    """Times in hours from the shift's start; the correction is made ten hours in."""
    attendance = attended(world, soon, late_by=30)
    before = _state(world, attendance)
    with pytest.raises(ValidationError) as refused:
        _correct(
            world,
            attendance,
            clock_in_at=soon + timedelta(hours=clock_in),
            clock_out_at=None if clock_out is None else soon + timedelta(hours=clock_out),
            reason=reason,
        )
    assert refused.value.message_dict[field][0].startswith(message)
    assert _state(world, attendance) == before


def test_D2_the_same_times_again_and_a_day_on_a_live_timesheet_are_refused(world, soon):
    attendance = attended(world, soon, late_by=30)
    with pytest.raises(ValidationError) as same:
        _correct(world, attendance, clock_in_at=attendance.clock_in_at)
    assert "nothing to correct" in same.value.messages[0]
    sheet = make_timesheet(world.org, world.members["staff"], soon.date())
    before = _state(world, attendance)
    with pytest.raises(ValidationError) as on_timesheet:
        _correct(world, attendance, clock_in_at=soon)
    assert "on the member's pending timesheet" in on_timesheet.value.messages[0]
    assert _state(world, attendance) == before
    # Once that timesheet is rejected, the times may change.
    with tenant_context(world.org):
        approvable_status_set(record=sheet, status="rejected")
    assert _correct(world, attendance, clock_in_at=soon).status == Attendance.Status.ON_TIME
