"""D2: clocking in and out of one's own shift, late and missed detection, the attendance
list and detail (scoped, Z4), and their attacks: someone else's shift, another
organisation's shift, twice, out of order."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.domain.conftest import get, post, shift_at, signed_in
from tests.factories import make_membership, make_organization, make_shift, make_site, make_user
from workforce import timekeeping
from workforce.models import Attendance
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
