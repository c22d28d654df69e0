"""D1 and E3 on the web portal: a member changes their own contact and bank details, people
managers change anyone's contact details, designation and leave allowance; bank details are
never shown in the form and their change is recorded without the value. Designations are
added on their own page and then required by shifts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.portal.conftest import assert_csp_clean
from workforce.models import Designation, StaffProfile
from workforce.people import designation_create, staff_profile_update

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
DESIGNATIONS = f"{ORG}/designations/"


def _profile_url(world, who: str) -> str:
    return f"{ORG}/people/{world.members[who].pk}/profile/"


def _profile(world, who: str) -> StaffProfile | None:
    with tenant_context(world.org):
        return StaffProfile.objects.filter(member=world.members[who]).first()


def test_D1_a_member_changes_their_own_contact_and_bank_details(world):
    staff = world.client("staff")
    page = staff.get(f"{ORG}/people/{world.members['staff'].pk}/").content.decode()
    assert f'href="{_profile_url(world, "staff")}"' in page
    assert ">My profile</a>" in page
    form = staff.get(_profile_url(world, "staff"))
    assert form.status_code == 200
    assert_csp_clean(form)
    text = form.content.decode()
    # Their own details, not what people managers set.
    assert 'name="phone"' in text and 'name="bank_account"' in text
    assert 'name="designation"' not in text and 'name="annual_leave_days"' not in text

    body = {"phone": "+44 113 496 0000", "address": "1 Canal St", "bank_account": "12-34-56 1234"}
    response = staff.post(_profile_url(world, "staff"), body | {"annual_leave_days": "99"})
    assert response.status_code == 302
    profile = _profile(world, "staff")
    assert (profile.phone, profile.address) == ("+44 113 496 0000", "1 Canal St")
    assert profile.annual_leave_days == Decimal("28.0")  # not theirs to set
    with tenant_context(world.org):
        [created] = AuditEvent.objects.filter(action="staffprofile.created")
        assert str(profile.bank_account) == "12-34-56 1234"
    assert created.changes["bank_account"] == ["[encrypted]", "[changed]"]
    # E3: the form never shows the stored bank account; left empty it stays as it is.
    again = staff.get(_profile_url(world, "staff")).content.decode()
    assert "12-34-56" not in again
    assert staff.post(_profile_url(world, "staff"), {"phone": "0113 496 0001"}).status_code == 302
    with tenant_context(world.org):
        profile = StaffProfile.objects.get(member=world.members["staff"])
        assert (profile.phone, str(profile.bank_account)) == ("0113 496 0001", "12-34-56 1234")


def test_D1_bad_profile_input_is_refused_with_nothing_saved(world):
    staff = world.client("staff")
    for body, message in [
        ({"phone": "call me"}, "Use digits, spaces and + ( ) - . only."),
        ({"phone": "1" * 41}, "at most 40 characters"),
        ({"address": "x" * 1001}, "at most 1000 characters"),
        ({"bank_account": "9" * 65}, "at most 64 characters"),
    ]:
        response = staff.post(_profile_url(world, "staff"), body)
        assert response.status_code == 400, body
        assert message in response.content.decode(), body
    assert _profile(world, "staff") is None


def test_D1_an_owner_sets_a_members_designation_and_allowance(world):
    with tenant_context(world.org):
        door = designation_create(name="Door supervisor")
    owner = world.client("owner")
    text = owner.get(_profile_url(world, "staff")).content.decode()
    assert 'name="designation"' in text and 'name="annual_leave_days"' in text
    response = owner.post(
        _profile_url(world, "staff"),
        {"designation": door.pk, "annual_leave_days": "30.5", "phone": ""},
    )
    assert response.status_code == 302
    profile = _profile(world, "staff")
    assert (profile.designation_id, profile.annual_leave_days) == (door.pk, Decimal("30.5"))
    page = owner.get(f"{ORG}/people/{world.members['staff'].pk}/").content.decode()
    # The profile's changes are on the member's timeline.
    assert "Door supervisor" in page and "Staff profile: created" in page


def test_Z4_profiles_of_others_are_404_or_403_without_the_permission(world):
    staff = world.client("staff")
    assert staff.get(_profile_url(world, "south_staff")).status_code == 404
    assert staff.post(_profile_url(world, "south_staff"), {"phone": "1"}).status_code == 404
    # The auditor reads everyone's page (user.view) but may change no one's profile.
    auditor = world.client("auditor")
    assert auditor.get(f"{ORG}/people/{world.members['staff'].pk}/").status_code == 200
    assert auditor.post(_profile_url(world, "staff"), {"phone": "1"}).status_code == 403
    assert _profile(world, "south_staff") is None and _profile(world, "staff") is None


def test_D1_an_owner_adds_designations_and_shifts_then_require_them(world):
    owner = world.client("owner")
    page = owner.get(DESIGNATIONS)
    assert page.status_code == 200
    assert_csp_clean(page)
    assert ">Designations</a>" in page.content.decode()
    assert owner.post(DESIGNATIONS, {"name": " Door supervisor "}).status_code == 302
    with tenant_context(world.org):
        door = Designation.objects.get(name="Door supervisor")
    assert "Door supervisor" in owner.get(DESIGNATIONS).content.decode()
    for body, message in [
        ({"name": "Door supervisor"}, "already exists"),
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 101}, "at most 100 characters"),
    ]:
        response = owner.post(DESIGNATIONS, body)
        assert response.status_code == 400, body
        assert message in response.content.decode(), body
    # A shift that requires it goes only to a member who holds it, not to one whose profile
    # names another.
    with tenant_context(world.org):
        steward = designation_create(name="Steward")
        staff_profile_update(member=world.members["staff"], designation=steward)
    starts = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)
    shift = {
        "site": world.shifts["leeds"].site_id,
        "starts_at": timezone.localtime(starts).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": timezone.localtime(starts + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        "member": world.members["staff"].pk,
        "designation": door.pk,
        "bill_rate": "30.00",
        "pay_rate": "18.00",
    }
    refused = owner.post(f"{ORG}/shifts/new/", shift)
    assert refused.status_code == 400 and "Door supervisor" in refused.content.decode()
    with tenant_context(world.org):
        staff_profile_update(member=world.members["staff"], designation=door)
    assert owner.post(f"{ORG}/shifts/new/", shift).status_code == 302


def test_Z1_staff_do_not_add_designations(world):
    staff = world.client("staff")
    assert ">Designations</a>" not in staff.get(f"{ORG}/leave/").content.decode()
    assert staff.post(DESIGNATIONS, {"name": "Boss"}).status_code == 403
    with tenant_context(world.org):
        assert not Designation.objects.exists()
