"""D2: assigning a member to a shift: no two overlapping shifts for one member, and a shift's
required designation must match the member's (when their profile names one). Refusals are
clear validation errors (a 400 through the API) and nothing is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from tenants.context import tenant_context
from tests.domain.conftest import post, shift_at, signed_in
from tests.factories import make_designation, make_staff_profile
from workforce.models import Shift

pytestmark = pytest.mark.django_db


def _shift_count(world) -> int:
    with tenant_context(world.org):
        return Shift.objects.count()


def test_D2_an_overlapping_shift_for_the_same_member_is_refused_naming_its_time(world, soon):
    shift_at(world, soon, hours=8)
    before = _shift_count(world)
    with pytest.raises(ValidationError) as refused:
        shift_at(world, soon + timedelta(hours=7), hours=8)
    message = refused.value.message_dict["member"][0]
    assert "Leeds Depot" in message
    assert f"{soon:%d %b %Y %H:%M}" in message
    assert f"{soon + timedelta(hours=8):%d %b %Y %H:%M}" in message
    assert _shift_count(world) == before


def test_D2_a_shift_inside_or_around_another_is_refused_too(world, soon):
    shift_at(world, soon, hours=4)
    for starts, hours in ((soon + timedelta(hours=1), 1), (soon - timedelta(hours=1), 6)):
        with pytest.raises(ValidationError):
            shift_at(world, starts, hours=hours)


def test_D2_back_to_back_shifts_and_other_members_are_fine(world, soon):
    shift_at(world, soon, hours=4)
    shift_at(world, soon + timedelta(hours=4), hours=4)  # starts as the first ends
    shift_at(world, soon, hours=4, member="south_staff")
    shift_at(world, soon, hours=4, member=None)  # unassigned shifts never clash


def test_D2_a_deleted_shift_does_not_block_its_slot(world, soon):
    from workforce.services import record_soft_delete

    first = shift_at(world, soon)
    with tenant_context(world.org):
        record_soft_delete(record=first)
    shift_at(world, soon)


def test_D2_the_api_answers_an_overlap_with_400_and_writes_nothing(world, soon):
    existing = shift_at(world, soon)
    manager = signed_in(world, "manager")
    before = _shift_count(world)
    response = post(
        manager,
        "shifts/",
        {
            "site": existing.site_id,
            "member": world.members["staff"].pk,
            "starts_at": (soon + timedelta(hours=2)).isoformat(),
            "ends_at": (soon + timedelta(hours=10)).isoformat(),
            "bill_rate": "30.00",
            "pay_rate": "20.00",
        },
    )
    assert response.status_code == 400, response.content
    assert "overlaps" in response.json()["member"][0]
    assert _shift_count(world) == before


def test_D2_a_shift_needing_another_designation_is_refused(world, soon):
    guard = make_designation(world.org, "Security officer")
    carer = make_designation(world.org, "Care assistant")
    make_staff_profile(world.org, world.members["staff"], designation=carer)
    with pytest.raises(ValidationError) as refused:
        shift_at(world, soon, designation=guard)
    assert "Security officer" in refused.value.message_dict["member"][0]
    shift_at(world, soon, designation=carer)


def test_D2_designation_is_only_checked_when_both_are_set(world, soon):
    guard = make_designation(world.org, "Security officer")
    shift_at(world, soon, designation=guard)  # the staff member has no profile
    make_staff_profile(world.org, world.members["south_staff"], phone="0113 496 0000")
    shift_at(world, soon, designation=guard, member="south_staff")  # profile, no designation
    make_staff_profile(world.org, world.members["manager"], designation=guard)
    shift_at(world, soon, member="manager")  # shift requires none
