"""D3: leave balances (allowance, approved days taken this calendar year, pending,
remaining) and requests refused beyond the balance, with dates in the wrong order or
overlapping the member's other pending or approved leave, with nothing saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tenants.context import tenant_context
from tests.domain.conftest import get, patch, post, signed_in
from tests.factories import make_leave, make_staff_profile
from workforce.models import LeaveRequest
from workforce.people import leave_balance, leave_days_by_year
from workforce.services import approvable_status_set, leave_request_update, record_soft_delete

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


def test_D3_leave_overlapping_pending_or_approved_leave_is_refused_by_service_and_api(world):
    _leave(world, "staff", date(YEAR, 5, 4), date(YEAR, 5, 8))
    _leave(world, "staff", date(YEAR, 6, 1), date(YEAR, 6, 3), "approved")
    before = _count(world)
    staff = signed_in(world, "staff")
    refused = post(staff, "leave/", {"starts_on": f"{YEAR}-05-08", "ends_on": f"{YEAR}-05-12"})
    assert refused.status_code == 400
    assert refused.json() == {
        "starts_on": [
            f"This member already has pending leave from 04 May {YEAR} to 08 May {YEAR} that "
            "overlaps these dates."
        ]
    }
    # Inside, around and on the edge of approved leave: all refused.
    for starts_on, ends_on in [(2, 2), (1, 3), (3, 9)]:
        with pytest.raises(ValidationError) as error:
            _leave(world, "staff", date(YEAR, 6, starts_on), date(YEAR, 6, ends_on))
        assert "already has approved leave from 01 Jun" in error.value.message_dict["starts_on"][0]
    assert _count(world) == before


def test_D3_leave_next_to_other_leave_and_other_members_leave_is_accepted(world):
    _leave(world, "staff", date(YEAR, 5, 4), date(YEAR, 5, 8))
    _leave(world, "staff", date(YEAR, 5, 9), date(YEAR, 5, 9))
    _leave(world, "staff", date(YEAR, 5, 1), date(YEAR, 5, 3))
    _leave(world, "south_staff", date(YEAR, 5, 4), date(YEAR, 5, 8))
    with tenant_context(world.org):
        assert LeaveRequest.objects.filter(starts_on__year=YEAR).count() == 4


def test_D3_leave_may_overlap_rejected_or_deleted_requests(world):
    _leave(world, "staff", date(YEAR, 5, 4), date(YEAR, 5, 8), "rejected")
    deleted = _leave(world, "staff", date(YEAR, 7, 1), date(YEAR, 7, 5))
    with tenant_context(world.org):
        record_soft_delete(record=deleted)
    staff = signed_in(world, "staff")
    for starts_on, ends_on in [("05-04", "05-08"), ("07-03", "07-03")]:
        accepted = post(
            staff, "leave/", {"starts_on": f"{YEAR}-{starts_on}", "ends_on": f"{YEAR}-{ends_on}"}
        )
        assert accepted.status_code == 201, accepted.content


def test_D3_changing_dates_onto_other_leave_is_refused_and_nothing_changes(world):
    _leave(world, "staff", date(YEAR, 5, 4), date(YEAR, 5, 8))
    moving = _leave(world, "staff", date(YEAR, 5, 11), date(YEAR, 5, 12))
    refused = patch(
        signed_in(world, "staff"), f"leave/{moving.pk}/", {"starts_on": f"{YEAR}-05-07"}
    )
    assert refused.status_code == 400
    assert "overlaps these dates" in refused.json()["starts_on"][0]
    with tenant_context(world.org):
        assert LeaveRequest.objects.get(pk=moving.pk).starts_on == date(YEAR, 5, 11)
        # Its own dates do not clash with itself: growing a request is fine.
        grown = leave_request_update(leave=moving, starts_on=date(YEAR, 5, 9))
    assert (grown.starts_on, grown.ends_on) == (date(YEAR, 5, 9), date(YEAR, 5, 12))
