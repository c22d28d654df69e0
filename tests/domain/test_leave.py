"""D3: leave balances (allowance, approved days taken this calendar year, pending,
remaining) and requests refused beyond the balance or with dates in the wrong order, with
nothing saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tenants.context import tenant_context
from tests.domain.conftest import get, post, signed_in
from tests.factories import make_leave, make_staff_profile
from workforce.models import LeaveRequest
from workforce.people import leave_balance, leave_days_by_year
from workforce.services import approvable_status_set

pytestmark = pytest.mark.django_db
YEAR = 2031


def _leave(world, member, starts_on, ends_on, status=None):
    leave = make_leave(world.org, world.members[member], starts_on, ends_on)
    if status:
        with tenant_context(world.org):
            approvable_status_set(record=leave, status=status)
    return leave


def _count(world) -> int:
    with tenant_context(world.org):
        return LeaveRequest.objects.count()


def test_D3_days_are_counted_inclusively_per_calendar_year():
    assert leave_days_by_year(date(YEAR, 3, 2), date(YEAR, 3, 2)) == {YEAR: 1}
    assert leave_days_by_year(date(YEAR, 3, 2), date(YEAR, 3, 6)) == {YEAR: 5}
    assert leave_days_by_year(date(YEAR, 12, 30), date(YEAR + 1, 1, 2)) == {YEAR: 2, YEAR + 1: 2}


def test_D3_balance_counts_approved_as_taken_and_pending_separately(world):
    _leave(world, "staff", date(YEAR, 2, 1), date(YEAR, 2, 5), "approved")  # 5 taken
    _leave(world, "staff", date(YEAR, 3, 1), date(YEAR, 3, 2))  # 2 pending
    _leave(world, "staff", date(YEAR, 4, 1), date(YEAR, 4, 10), "rejected")  # not counted
    _leave(world, "staff", date(YEAR - 1, 12, 31), date(YEAR, 1, 1), "approved")  # 1 this year
    _leave(world, "south_staff", date(YEAR, 5, 1), date(YEAR, 5, 9), "approved")  # someone else
    response = get(signed_in(world, "staff"), "leave/balance/", year=YEAR)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "member": world.members["staff"].pk,
        "year": YEAR,
        "allowance": "28.0",
        "taken": 6,
        "pending": 2,
        "remaining": "20.0",
    }


def test_D3_the_allowance_comes_from_the_staff_profile(world):
    make_staff_profile(world.org, world.members["staff"], annual_leave_days=Decimal("12.5"))
    body = get(signed_in(world, "staff"), "leave/balance/", year=YEAR).json()
    assert body["allowance"] == "12.5" and body["remaining"] == "12.5"


def test_D3_this_year_is_the_default(world):
    from django.utils import timezone

    body = get(signed_in(world, "staff"), "leave/balance/").json()
    assert body["year"] == timezone.localdate().year


def test_Z4_managers_read_balances_of_members_in_their_scope_only(world):
    staff_id, south_id = world.members["staff"].pk, world.members["south_staff"].pk
    manager = signed_in(world, "manager")
    assert get(manager, "leave/balance/", member=staff_id).json()["member"] == staff_id
    refused = get(manager, "leave/balance/", member=south_id)
    assert refused.status_code == 400
    assert "No member with id" in refused.json()["member"][0]
    # Staff see only their own.
    assert get(signed_in(world, "staff"), "leave/balance/", member=south_id).status_code == 400
    assert get(signed_in(world, "owner"), "leave/balance/", member=south_id).status_code == 200


def test_D3_balance_query_is_validated(world):
    staff = signed_in(world, "staff")
    assert get(staff, "leave/balance/", year="-1").status_code == 400
    assert get(staff, "leave/balance/", year="next").status_code == 400
    assert get(staff, "leave/balance/", member="<script>").status_code == 400


def test_D3_a_request_longer_than_the_remaining_balance_is_refused(world):
    _leave(world, "staff", date(YEAR, 1, 5), date(YEAR, 1, 24), "approved")  # 20 taken
    _leave(world, "staff", date(YEAR, 2, 2), date(YEAR, 2, 6))  # 5 pending: 3 left
    before = _count(world)
    staff = signed_in(world, "staff")
    refused = post(staff, "leave/", {"starts_on": f"{YEAR}-03-02", "ends_on": f"{YEAR}-03-05"})
    assert refused.status_code == 400
    message = refused.json()["ends_on"][0]
    assert "4 day(s)" in message and "only 3.0 remain" in message
    assert _count(world) == before
    accepted = post(staff, "leave/", {"starts_on": f"{YEAR}-03-02", "ends_on": f"{YEAR}-03-04"})
    assert accepted.status_code == 201, accepted.content
    with tenant_context(world.org):
        assert leave_balance(member=world.members["staff"], year=YEAR).remaining == 0


def test_D3_a_request_across_new_year_is_checked_against_each_year(world):
    make_staff_profile(world.org, world.members["staff"], annual_leave_days=Decimal("3"))
    with pytest.raises(ValidationError):
        make_leave(world.org, world.members["staff"], date(YEAR, 12, 28), date(YEAR + 1, 1, 1))
    make_leave(world.org, world.members["staff"], date(YEAR, 12, 29), date(YEAR + 1, 1, 2))


def test_D3_dates_in_the_wrong_order_are_refused_by_api_and_service(world):
    before = _count(world)
    response = post(
        signed_in(world, "staff"),
        "leave/",
        {"starts_on": f"{YEAR}-03-05", "ends_on": f"{YEAR}-03-01"},
    )
    assert response.status_code == 400
    assert response.json()["ends_on"] == ["Leave cannot end before it starts."]
    with pytest.raises(ValidationError) as refused:
        make_leave(world.org, world.members["staff"], date(YEAR, 3, 5), date(YEAR, 3, 1))
    assert refused.value.message_dict["ends_on"] == ["Leave cannot end before it starts."]
    assert _count(world) == before


def test_D3_oversized_and_html_reasons(world):
    staff = signed_in(world, "staff")
    long = post(
        staff,
        "leave/",
        {"starts_on": f"{YEAR}-06-01", "ends_on": f"{YEAR}-06-01", "reason": "x" * 501},
    )
    assert long.status_code == 400 and "reason" in long.json()
    script = '<script>alert("x")</script>'
    created = post(
        staff,
        "leave/",
        {"starts_on": f"{YEAR}-06-01", "ends_on": f"{YEAR}-06-01", "reason": script},
    )
    assert created.status_code == 201
    assert created.json()["reason"] == script
