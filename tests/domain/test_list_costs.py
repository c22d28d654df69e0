"""D8: the domain lists cost the same queries for 10 and for hundreds of visible rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.context import tenant_context
from tests.domain.conftest import get, signed_in
from tests.factories import make_designation, make_issued_document, make_shifts
from workforce.timekeeping import attendance_clock_in

pytestmark = pytest.mark.django_db
LISTS = ("attendance/", "issued-documents/", "designations/")


def _queries(world) -> dict[str, int]:
    manager = signed_in(world, "manager")
    counts = {}
    for path in LISTS:
        with CaptureQueriesContext(connection) as captured:
            response = get(manager, path, page_size=200)
            assert response.status_code == 200
        counts[path] = len(captured)
    return counts


def test_D8_domain_lists_cost_the_same_for_10_and_hundreds_of_rows(world):
    staff = world.members["staff"]
    site = world.shifts["leeds"].site
    # Far in the past, a day apart: clear of the world's shifts.
    first = timezone.now().replace(microsecond=0) - timedelta(days=400)
    made = 0

    def add(count: int) -> None:
        nonlocal made
        shifts = make_shifts(
            world.org, count, site=site, member=staff, starts_at=first + timedelta(days=made)
        )
        for shift in shifts:
            with time_machine.travel(shift.starts_at, tick=False), tenant_context(world.org):
                attendance_clock_in(shift=shift, member=staff)
        for n in range(count):
            make_issued_document(world.org, staff, title=f"Letter {made + n}")
            make_designation(world.org, f"Designation {made + n}")
        made += count

    add(10)
    small = _queries(world)
    add(190)
    large = _queries(world)
    assert large == small
    assert max(large.values()) <= 9, large
