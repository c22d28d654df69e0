"""D1: designations and staff profiles. Members read and edit their own contact details;
``user.manage`` holders edit anyone's; bank and national-insurance details reach only the
member and ``pay_rate.view`` holders (E3, Z7), are stored encrypted, never enter the audit
log, and another member's are recorded when read (L1)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.domain.conftest import get, patch, post, signed_in
from tests.factories import (
    make_designation,
    make_membership,
    make_organization,
    make_staff_profile,
    make_user,
)
from workforce.models import Designation, StaffProfile

pytestmark = pytest.mark.django_db
BANK = "GB33BUKB20201555555555"
NI = "QQ123456C"


@pytest.fixture
def admin(world):
    world.users["admin"] = make_user("admin@alpha.example")
    world.members["admin"] = make_membership(world.org, world.users["admin"], role="admin")
    return world.members["admin"]


def _profile_path(world, role: str) -> str:
    return f"staff/{world.members[role].pk}/profile/"


# --- designations -------------------------------------------------------------------------


def test_D1_designations_are_listed_and_created_by_those_allowed(world, admin):
    created = post(signed_in(world, "admin"), "designations/", {"name": "  Security officer "})
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Security officer"
    names = [d["name"] for d in get(signed_in(world, "staff"), "designations/").json()["results"]]
    assert names == ["Security officer"]
    assert post(signed_in(world, "staff"), "designations/", {"name": "Boss"}).status_code == 403
    assert post(signed_in(world, "manager"), "designations/", {"name": "Boss"}).status_code == 403
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="designation.created").count() == 1


def test_D1_designation_bad_input(world, admin):
    admin_client = signed_in(world, "admin")
    make_designation(world.org, "Guard")
    assert post(admin_client, "designations/", {"name": "Guard"}).status_code == 400
    assert post(admin_client, "designations/", {"name": "x" * 101}).status_code == 400
    assert post(admin_client, "designations/", {"name": ""}).status_code == 400
    html = post(admin_client, "designations/", {"name": "<img src=x onerror=alert(1)>"})
    assert html.status_code == 201 and html.json()["name"] == "<img src=x onerror=alert(1)>"
    with tenant_context(world.org):
        assert Designation.objects.count() == 2


# --- staff profiles -----------------------------------------------------------------------


def test_D1_a_member_reads_and_edits_their_own_profile_with_sensitive_fields(world):
    staff = signed_in(world, "staff")
    empty = get(staff, _profile_path(world, "staff"))
    assert empty.status_code == 200, empty.content
    assert empty.json()["annual_leave_days"] == "28.0" and empty.json()["bank_account"] == ""
    changed = patch(
        staff,
        _profile_path(world, "staff"),
        {
            "phone": "+44 113 496 0000",
            "address": "1 Leeds Road",
            "bank_account": BANK,
            "national_insurance": NI,
        },
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["phone"] == "+44 113 496 0000" and body["bank_account"] == BANK
    assert body["national_insurance"] == NI
    assert get(staff, _profile_path(world, "staff")).json() == body


def test_E3_bank_and_ni_are_encrypted_in_the_column_and_absent_from_the_audit_log(world):
    make_staff_profile(world.org, world.members["staff"], bank_account=BANK, national_insurance=NI)
    with tenant_context(world.org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT bank_account, national_insurance FROM workforce_staff_profile "
            "WHERE member_id = %s",
            [world.members["staff"].pk],
        )
        bank_raw, ni_raw = (bytes(value) for value in cursor.fetchone())
        assert BANK.encode() not in bank_raw and NI.encode() not in ni_raw
        assert b"BUKB" not in bank_raw and b"123456" not in ni_raw
        assert StaffProfile.objects.get().bank_account == BANK
        event = AuditEvent.objects.get(action="staffprofile.created")
        assert BANK not in str(event.changes) and NI not in str(event.changes)
        assert event.changes["bank_account"] == ["[encrypted]", "[changed]"]


def test_Z7_sensitive_fields_reach_only_the_member_and_pay_rate_holders(world, admin):
    make_staff_profile(world.org, world.members["staff"], bank_account=BANK, phone="0113")
    path = _profile_path(world, "staff")
    # The admin manages people but holds no pay_rate.view.
    body = get(signed_in(world, "admin"), path).json()
    assert body["phone"] == "0113"
    assert "bank_account" not in body and "national_insurance" not in body
    # Managers and auditors hold it (auditors read everything, for a limited time).
    for role in ("manager", "auditor"):
        assert get(signed_in(world, role), path).json()["bank_account"] == BANK, role
    with tenant_context(world.org):
        reads = AuditEvent.objects.filter(action="staffprofile.sensitive_viewed").order_by("seq")
        assert [e.changes["viewer"][1] for e in reads] == [
            world.members["manager"].pk,
            world.members["auditor"].pk,
        ]
    # The member's own reads are not recorded as someone else's.
    get(signed_in(world, "staff"), path)
    with tenant_context(world.org):
        assert AuditEvent.objects.filter(action="staffprofile.sensitive_viewed").count() == 2


def test_Z4_staff_cannot_open_someone_elses_profile(world):
    staff = signed_in(world, "staff")
    assert get(staff, _profile_path(world, "south_staff")).status_code == 404
    assert patch(staff, _profile_path(world, "south_staff"), {"phone": "1"}).status_code == 404
    assert get(staff, "staff/999999/profile/").status_code == 404


def test_D1_members_cannot_set_their_own_designation_or_allowance(world):
    guard = make_designation(world.org, "Guard")
    staff = signed_in(world, "staff")
    for change in ({"annual_leave_days": "60"}, {"designation": guard.pk}):
        response = patch(staff, _profile_path(world, "staff"), change)
        assert response.status_code == 400
        assert response.json() == {next(iter(change)): ["You may not change this field."]}
    with tenant_context(world.org):
        assert not StaffProfile.objects.exists()


def test_D1_user_managers_edit_anyones_profile_but_not_unseen_sensitive_fields(world, admin):
    guard = make_designation(world.org, "Guard")
    admin_client, path = signed_in(world, "admin"), _profile_path(world, "staff")
    response = patch(
        admin_client, path, {"designation": guard.pk, "annual_leave_days": "30.5", "phone": "07700"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["designation"] == {"id": guard.pk, "name": "Guard"}
    assert response.json()["annual_leave_days"] == "30.5"
    refused = patch(admin_client, path, {"bank_account": "attacker"})
    assert refused.status_code == 400 and "bank_account" in refused.json()
    # A manager (user.view, pay_rate.view, no user.manage) reads but does not edit.
    assert patch(signed_in(world, "manager"), path, {"phone": "1"}).status_code == 403
    owner = patch(signed_in(world, "owner"), path, {"national_insurance": NI})
    assert owner.status_code == 200 and owner.json()["national_insurance"] == NI


def test_D1_profile_bad_input_is_refused_and_nothing_saved(world, admin):
    staff, admin_client = signed_in(world, "staff"), signed_in(world, "admin")
    path = _profile_path(world, "staff")
    cases = [
        (staff, {"phone": "1" * 41}, "phone"),
        (staff, {"phone": "<script>"}, "phone"),
        (staff, {"address": "a" * 1001}, "address"),
        (staff, {"bank_account": "9" * 65}, "bank_account"),
        (admin_client, {"annual_leave_days": "-1"}, "annual_leave_days"),
        (admin_client, {"annual_leave_days": "1000"}, "annual_leave_days"),
        (admin_client, {"designation": 999999}, "designation"),
        (staff, {}, "non_field_errors"),
    ]
    for client, body, field in cases:
        response = patch(client, path, body)
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    with tenant_context(world.org):
        assert not StaffProfile.objects.exists()
    script = '<script>alert("x")</script>'
    stored = patch(staff, path, {"address": script})
    assert stored.status_code == 200 and stored.json()["address"] == script


def test_D1_another_organisations_member_profile_is_404(world):
    bravo = make_organization("Bravo Care", "bravo")
    bravo_user = make_user("bob@bravo.example")
    bravo_member = make_membership(bravo, bravo_user, role="owner")
    owner = signed_in(world, "owner")
    assert get(owner, f"staff/{bravo_member.pk}/profile/").status_code == 404
    assert patch(owner, f"staff/{bravo_member.pk}/profile/", {"phone": "1"}).status_code == 404
    outsider = Client(HTTP_HOST=settings.PORTAL_HOST)
    outsider.force_login(bravo_user)
    assert outsider.get(f"/api/v1/o/alpha/{_profile_path(world, 'staff')}").status_code == 404
