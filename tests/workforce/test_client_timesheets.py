"""Z6, Z7, D6: a client's contact confirms the hours worked for their client (step 1 of the
timesheet chain) and an owner signs them off (step 2); the contact sees only their client's
timesheets and never the pay on them, in the API or on the client portal.

Uses the ``world`` of ``tests/workforce/conftest.py``: the contact acts for Acme; ``staff``
works Acme's shifts, ``south_staff`` Other Ltd's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from rbac.approvals import approval_decide
from rbac.models import Role
from rbac.services import role_assignable_by
from tenants.context import tenant_context
from tests.factories import make_membership, make_shift, make_site, make_timesheet, make_user
from tests.workforce.conftest import MARGIN, NOTE, PAY_RATE
from workforce.models import Attendance, Timesheet
from workforce.timekeeping import timesheet_build

pytestmark = pytest.mark.django_db

API = "/api/v1/o/alpha"
ORG = "/o/alpha"
PAY = "4321.87"  # a timesheet's amount: pay, distinctive enough to find in raw bytes
HIDDEN = (PAY, PAY_RATE, MARGIN, NOTE)


@pytest.fixture
def sheets(world) -> dict[str, Timesheet]:
    """Acme's timesheet (of ``staff``), Other Ltd's (of ``south_staff``) and one of internal
    work (``staff``, no client), each in its own week."""
    week = timezone.localdate() - timedelta(days=21)
    return {
        "acme": make_timesheet(
            world.org, world.members["staff"], week, amount=PAY, client=world.shifts["leeds"].client
        ),
        "other": make_timesheet(
            world.org,
            world.members["south_staff"],
            week,
            amount=PAY,
            client=world.shifts["south"].client,
        ),
        "internal": make_timesheet(
            world.org, world.members["staff"], week + timedelta(days=7), amount=PAY
        ),
    }


def _status(world, sheet) -> str:
    with tenant_context(world.org):
        return Timesheet.all_objects.get(pk=sheet.pk).status


def _approval_reasons(world, sheet) -> list[str]:
    with tenant_context(world.org):
        events = AuditEvent.objects.filter(
            entity_type="workforce.timesheet", entity_id=str(sheet.pk)
        ).order_by("seq")
        return [
            f"{event.action}:{event.changes['reason'][1]}"
            for event in events
            if event.action.startswith("approval.")
        ]


def test_Z4_a_client_contact_lists_only_their_clients_timesheets(world, sheets):
    client = world.client("client")
    rows = client.get(f"{API}/timesheets/").json()["results"]
    assert [row["id"] for row in rows] == [sheets["acme"].pk]
    assert client.get(f"{API}/timesheets/{sheets['other'].pk}/").status_code == 404
    assert client.get(f"{API}/timesheets/{sheets['internal'].pk}/").status_code == 404


def test_Z7_a_client_never_receives_a_timesheets_pay_in_the_api(world, sheets):
    client = world.client("client")
    for url in (
        f"{API}/timesheets/",
        f"{API}/timesheets/{sheets['acme'].pk}/",
        f"{API}/approvals/timesheet/{sheets['acme'].pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in HIDDEN:
            assert secret.encode() not in response.content, (url, secret)
    row = client.get(f"{API}/timesheets/{sheets['acme'].pk}/").json()
    assert "amount" not in row and row["hours"] == "37.50"
    assert "amount" not in client.get(f"{API}/approvals/timesheet/{sheets['acme'].pk}/").json()
    # Nor ranks the list by it.
    refused = client.get(f"{API}/timesheets/?ordering=amount")
    assert refused.status_code == 400 and "amount" not in refused.json()["ordering"][0]


def test_Z7_staff_see_their_own_timesheets_pay_and_managers_everyones(world, sheets):
    own = world.client("staff").get(f"{API}/timesheets/").json()["results"]
    assert {row["amount"] for row in own} == {PAY}
    state = world.client("staff").get(f"{API}/approvals/timesheet/{sheets['acme'].pk}/").json()
    assert state["amount"] == PAY
    managed = world.client("manager").get(f"{API}/timesheets/?ordering=-amount").json()
    assert {row["amount"] for row in managed["results"]} == {PAY}
    # An expense's amount is not pay: it stays where it was.
    expense = world.client("staff").post(
        f"{API}/expenses/", {"amount": "12.00", "description": "Taxi"}, "application/json"
    )
    assert expense.status_code == 201 and expense.json()["amount"] == "12.00"


def test_Z7_a_member_without_pay_rates_sees_no_one_elses_timesheet_pay(world, sheets):
    with tenant_context(world.org):
        # A department-wide reader of timesheets who may not see pay rates.
        Role.objects.create(
            key="rota_clerk",
            name="Rota clerk",
            rank=15,
            permissions=["timesheet.view"],
            scopes={"timesheet": "all"},
        )
    clerk = make_user("clerk@alpha.example")
    make_membership(world.org, clerk, role="rota_clerk")
    http = world.client("staff")
    http.force_login(clerk)
    response = http.get(f"{API}/timesheets/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    assert PAY.encode() not in response.content


def test_Z6_a_client_confirms_the_hours_and_an_owner_signs_them_off(world, sheets):
    sheet = sheets["acme"]
    client = world.client("client")
    first = client.post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "pending" and first.json()["next_step"] == 1
    assert "amount" not in first.json()
    # The contact took step 1; step 2 is the owner's, not theirs nor a manager's.
    again = client.post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
    assert again.status_code == 403 and again.json()["reason"] == "not_this_step"
    last = world.client("owner").post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
    assert last.status_code == 200 and last.json()["status"] == "approved"
    assert _status(world, sheet) == "approved"
    assert _approval_reasons(world, sheet) == [
        "approval.allowed:allowed",
        "approval.denied:not_this_step",
        "approval.allowed:allowed",
    ]


def test_Z6_another_clients_timesheet_is_404_to_the_default_client_role(world, sheets):
    """The default client role sees its client's timesheets only (Z4), so another client's
    or an internal one is a 404 that confirms nothing, not a 403."""
    client = world.client("client")
    for sheet in (sheets["other"], sheets["internal"]):
        response = client.post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
        assert response.status_code == 404
        assert _status(world, sheet) == "pending"
        assert _approval_reasons(world, sheet) == []


def test_Z6_a_client_who_sees_other_timesheets_still_decides_only_their_clients(world, sheets):
    """Widen the client role's timesheet scope to ``all``: it sees every timesheet now, and the
    approval rule, not visibility, refuses the others (403 ``outside_client``, audited)."""
    with tenant_context(world.org):
        role = Role.objects.get(key="client")
        role.scopes = {**role.scopes, "timesheet": "all"}
        role.save()
    client = world.client("client")
    for sheet in (sheets["other"], sheets["internal"]):
        response = client.post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
        assert response.status_code == 403
        assert response.json() == {
            "detail": "You can only decide timesheets of work done for your client.",
            "reason": "outside_client",
        }
        rejected = client.post(f"{API}/approvals/timesheet/{sheet.pk}/reject/")
        assert rejected.json()["reason"] == "outside_client"
        assert _status(world, sheet) == "pending"
        assert _approval_reasons(world, sheet) == [
            "approval.denied:outside_client",
            "approval.denied:outside_client",
        ]
    acme = client.post(f"{API}/approvals/timesheet/{sheets['acme'].pk}/approve/")
    assert acme.status_code == 200


def test_Z6_a_client_contact_decides_no_other_subject(world):
    with tenant_context(world.org):
        role = Role.objects.get(key="client")
        role.permissions = [*role.permissions, "leave.approve"]
        role.save()
        contact = type(world.members["client"]).objects.get(pk=world.members["client"].pk)
        decision = approval_decide(record=world.leave["staff"], approver=contact)
    assert (decision.allowed, decision.reason) == (False, "outside_client")


def test_Z6_the_client_portal_lists_confirms_and_hides_pay(world, sheets):
    client = world.client("client", host=settings.CLIENT_HOST)
    page = client.get(f"{ORG}/").content.decode()
    assert "Timesheets to approve" in page
    assert f"/timesheets/{sheets['acme'].pk}/approve/" in page
    assert f"/timesheets/{sheets['other'].pk}/" not in page
    assert f"/timesheets/{sheets['internal'].pk}/" not in page
    assert "Amount" not in page
    for secret in HIDDEN:
        assert secret not in page
    row = client.post(
        f"{ORG}/timesheets/{sheets['acme'].pk}/approve/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Confirmed: step 1 of 2" in row and "waits for step 2 (owner)" in row
    assert "/approve/" not in row
    for secret in HIDDEN:
        assert secret not in row
    # Confirmed by them: no longer theirs to approve, still listed with its status.
    after = client.get(f"{ORG}/").content.decode()
    assert f"/timesheets/{sheets['acme'].pk}/approve/" not in after
    assert "No timesheets are waiting for you." in after
    assert world.users["staff"].email in after
    assert _status(world, sheets["acme"]) == "pending"


def test_Z7_staff_still_see_their_own_timesheet_amount_on_the_web_portal(world, sheets):
    page = world.client("staff").get(f"{ORG}/timesheets/").content.decode()
    assert "Amount" in page and PAY in page


def test_D5_a_built_timesheet_belongs_to_the_one_client_its_shifts_were_for(world):
    staff = world.members["staff"]
    acme = world.shifts["leeds"].client
    start = timezone.make_aware(datetime(2026, 3, 2, 9))
    with tenant_context(world.org):
        site = world.shifts["leeds"].site
    acme_shift = make_shift(world.org, site=site, client=acme, member=staff, starts_at=start)
    with tenant_context(world.org):
        Attendance.objects.create(
            shift=acme_shift,
            member=staff,
            clock_in_at=start,
            clock_out_at=start + timedelta(hours=8),
            status="on_time",
        )
        built = timesheet_build(
            member=staff, period_start=date(2026, 3, 1), period_end=date(2026, 3, 7)
        )
    assert built.client_id == acme.pk and built.hours == Decimal("8.00")
    # A week with internal work as well has no single client.
    internal = make_shift(
        world.org,
        site=make_site(world.org, "Back office"),
        member=staff,
        starts_at=start + timedelta(days=7),
    )
    client_work = make_shift(
        world.org, site=site, client=acme, member=staff, starts_at=start + timedelta(days=8)
    )
    with tenant_context(world.org):
        for shift in (internal, client_work):
            Attendance.objects.create(
                shift=shift,
                member=staff,
                clock_in_at=shift.starts_at,
                clock_out_at=shift.starts_at + timedelta(hours=1),
                status="on_time",
            )
        mixed = timesheet_build(
            member=staff, period_start=date(2026, 3, 8), period_end=date(2026, 3, 14)
        )
    assert mixed.client_id is None


def test_Z2_an_owner_gives_the_client_role_and_an_admin_is_told_why_not(world):
    admin = make_membership(world.org, make_user("admin@alpha.example"), role="admin")
    with tenant_context(world.org):
        role = Role.objects.get(key="client")
        owner = type(admin).objects.get(pk=world.members["owner"].pk)
        role_assignable_by(role, owner)  # no refusal
        admin = type(admin).objects.get(pk=admin.pk)
        with pytest.raises(ValidationError) as refused:
            role_assignable_by(role, admin)
    assert refused.value.message_dict["role"] == [
        "The Client role carries timesheet.approve, which your Admin role does not have; "
        "only someone whose role has it can give it. Ask an owner."
    ]
