"""D5: timesheets built from attendance: hours are the completed attendance in the period,
the amount each hour at its shift's pay rate; an empty period, an overlapping timesheet and
dates in the wrong order are refused with nothing saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.domain.conftest import patch, post, shift_at, signed_in
from tests.factories import make_timesheet
from workforce.models import Timesheet
from workforce.services import approvable_status_set

pytestmark = pytest.mark.django_db


def _work(world, starts_at, *, member="staff", late_by=0, hours=8.0, pay_rate="20.00"):
    """A shift of ``member`` worked from ``late_by`` minutes after its start for ``hours``."""
    shift = shift_at(world, starts_at, member=member, hours=8, pay_rate=pay_rate)
    clock_in = starts_at + timedelta(minutes=late_by)
    with time_machine.travel(clock_in, tick=False):
        assert post(signed_in(world, member), f"shifts/{shift.pk}/clock-in/").status_code == 201
    with time_machine.travel(clock_in + timedelta(hours=hours), tick=False):
        assert post(signed_in(world, member), f"shifts/{shift.pk}/clock-out/").status_code == 200
    return shift


def _count(world) -> int:
    with tenant_context(world.org):
        return Timesheet.objects.count()


def _period(start, days=6):
    return {
        "period_start": start.isoformat(),
        "period_end": (start + timedelta(days=days)).isoformat(),
    }


def test_D5_a_timesheet_is_built_from_completed_attendance(world, soon):
    _work(world, soon, hours=8, pay_rate="20.00")  # 8 h x 20.00
    _work(world, soon + timedelta(days=2), late_by=30, hours=7.5, pay_rate="18.40")  # 138.00
    unfinished = shift_at(world, soon + timedelta(days=3))
    with time_machine.travel(soon + timedelta(days=3), tick=False):
        post(signed_in(world, "staff"), f"shifts/{unfinished.pk}/clock-in/")  # never out
    _work(world, soon, member="south_staff", hours=8)  # someone else's
    _work(world, soon + timedelta(days=9), hours=8)  # outside the period
    with time_machine.travel(soon + timedelta(days=8), tick=False):
        response = post(signed_in(world, "staff"), "timesheets/build/", _period(soon.date()))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["hours"] == "15.50"
    assert body["amount"] == "298.00"
    assert body["status"] == "pending"
    assert body["member"]["id"] == world.members["staff"].pk
    with tenant_context(world.org):
        event = AuditEvent.objects.get(action="timesheet.built")
        assert len(event.changes["attendance"][1]) == 2


def test_D5_an_empty_period_is_refused(world, soon):
    staff = signed_in(world, "staff")
    response = post(staff, "timesheets/build/", _period(soon.date() + timedelta(days=30)))
    assert response.status_code == 400
    assert "no completed attendance" in response.json()["period_start"][0]
    assert _count(world) == 0


def test_D5_a_period_overlapping_an_existing_timesheet_is_refused(world, soon):
    _work(world, soon)
    make_timesheet(world.org, world.members["staff"], period_start=soon.date() - timedelta(days=3))
    before = _count(world)
    with time_machine.travel(soon + timedelta(days=1), tick=False):
        response = post(signed_in(world, "staff"), "timesheets/build/", _period(soon.date()))
    assert response.status_code == 400
    assert "overlaps" in response.json()["period_start"][0]
    assert _count(world) == before


def test_D5_a_timesheet_made_or_moved_by_hand_may_not_overlap_another_either(world):
    start = timezone.localdate() - timedelta(days=14)
    make_timesheet(world.org, world.members["staff"], period_start=start)
    staff = signed_in(world, "staff")
    before = _count(world)
    overlapping = {
        "period_start": str(start + timedelta(days=3)),
        "period_end": str(start + timedelta(days=9)),
        "hours": "10.00",
        "amount": "200.00",
    }
    refused = post(staff, "timesheets/", overlapping)
    assert refused.status_code == 400, refused.content
    assert "overlaps" in refused.json()["period_start"][0]
    assert _count(world) == before
    # The next week is free; moving it back onto the first one is refused the same way.
    free = {
        **overlapping,
        "period_start": str(start + timedelta(days=7)),
        "period_end": str(start + timedelta(days=13)),
    }
    made = post(staff, "timesheets/", free)
    assert made.status_code == 201, made.content
    moved = patch(
        staff, f"timesheets/{made.json()['id']}/", {"period_start": str(start + timedelta(days=6))}
    )
    assert moved.status_code == 400, moved.content
    assert "overlaps" in moved.json()["period_start"][0]
    with tenant_context(world.org):
        assert Timesheet.objects.get(pk=made.json()["id"]).period_start == start + timedelta(days=7)


def test_D5_a_rejected_timesheet_does_not_block_a_rebuild(world, soon):
    _work(world, soon)
    with time_machine.travel(soon + timedelta(days=1), tick=False):
        staff = signed_in(world, "staff")
        first = post(staff, "timesheets/build/", _period(soon.date()))
        assert first.status_code == 201
        assert post(staff, "timesheets/build/", _period(soon.date())).status_code == 400
        with tenant_context(world.org):
            approvable_status_set(
                record=Timesheet.objects.get(pk=first.json()["id"]), status="rejected"
            )
        assert post(staff, "timesheets/build/", _period(soon.date())).status_code == 201


def test_D5_dates_in_the_wrong_order_are_refused(world, soon):
    _work(world, soon)
    body = {
        "period_start": soon.date().isoformat(),
        "period_end": (soon.date() - timedelta(days=1)).isoformat(),
    }
    response = post(signed_in(world, "staff"), "timesheets/build/", body)
    assert response.status_code == 400
    assert response.json()["period_end"] == ["The period cannot end before it starts."]
    assert (
        post(signed_in(world, "staff"), "timesheets/build/", {"period_start": "soon"}).status_code
        == 400
    )
    assert _count(world) == 0


def test_Z4_managers_build_for_members_in_scope_staff_only_for_themselves(world, soon):
    _work(world, soon)
    _work(world, soon, member="south_staff")
    with time_machine.travel(soon + timedelta(days=1), tick=False):
        manager = signed_in(world, "manager")
        south = {**_period(soon.date()), "member": world.members["south_staff"].pk}
        assert post(manager, "timesheets/build/", south).status_code == 400
        own = {**_period(soon.date()), "member": world.members["staff"].pk}
        built = post(manager, "timesheets/build/", own)
        assert (
            built.status_code == 201 and built.json()["member"]["id"] == world.members["staff"].pk
        )
        staff = signed_in(world, "south_staff")
        assert post(staff, "timesheets/build/", own).status_code == 400
        assert post(signed_in(world, "client"), "timesheets/build/", own).status_code == 403
    assert _count(world) == 1
