"""L1: every event about an expense or a timesheet (create, update, approval decision) says
what it is worth: the expense's amount, the timesheet's hours and amount, changed or not.
The log holds pay, so it stays with ``audit_log.view``: no client contact or staff member
reads it (Z7)."""

from __future__ import annotations

import pytest
from django.conf import settings

from audit.models import AuditEvent
from rbac.registry import CLIENT, ROLE_PERMISSIONS, STAFF
from tenants.context import tenant_context
from tests.domain.conftest import API, patch, post, signed_in
from tests.factories import make_timesheet
from workforce.models import Expense

pytestmark = pytest.mark.django_db


def _events(world, record) -> list[tuple[str, dict]]:
    with tenant_context(world.org):
        return [
            (event.action, event.changes)
            for event in AuditEvent.objects.filter(
                entity_type=record._meta.label_lower, entity_id=str(record.pk)
            ).order_by("seq")
        ]


def test_L1_expense_events_carry_the_amount_on_create_update_and_decision(world):
    staff = signed_in(world, "staff")
    created = post(staff, "expenses/", {"amount": "42.10", "description": "Taxi"})
    assert created.status_code == 201, created.content
    expense_id = created.json()["id"]
    assert patch(staff, f"expenses/{expense_id}/", {"description": "Taxi home"}).status_code == 200
    assert patch(staff, f"expenses/{expense_id}/", {"amount": "40.00"}).status_code == 200
    approved = signed_in(world, "owner").post(f"{API}/approvals/expense/{expense_id}/approve/")
    assert approved.status_code == 200, approved.content

    with tenant_context(world.org):
        expense = Expense.objects.get(pk=expense_id)
    events = _events(world, expense)
    assert [action for action, _ in events] == [
        "expense.created",
        "expense.updated",
        "expense.updated",
        "approval.allowed",
    ]
    created_changes, described, repriced, decided = (changes for _, changes in events)
    assert created_changes["amount"] == [None, "42.10"]
    # Unchanged, still named: the event says what the changed expense is worth.
    assert described["amount"] == ["42.10", "42.10"]
    assert described["description"] == ["Taxi", "Taxi home"]
    assert repriced["amount"] == ["42.10", "40.00"]
    assert decided["amount"] == [None, "40.00"]
    assert decided["status"] == ["pending", "approved"]


def test_L1_timesheet_events_carry_hours_and_amount_through_the_approval_chain(world):
    sheet = make_timesheet(
        world.org,
        world.members["staff"],
        hours="37.50",
        amount="750.00",
        client=world.shifts["leeds"].client,
    )
    changed = patch(signed_in(world, "staff"), f"timesheets/{sheet.pk}/", {"hours": "36.00"})
    assert changed.status_code == 200, changed.content
    confirmed = signed_in(world, "client").post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
    assert confirmed.status_code == 200, confirmed.content
    signed_off = signed_in(world, "owner").post(f"{API}/approvals/timesheet/{sheet.pk}/approve/")
    assert signed_off.status_code == 200, signed_off.content

    events = _events(world, sheet)
    assert [action for action, _ in events] == [
        "timesheet.created",
        "timesheet.updated",
        "approval.allowed",
        "approval.allowed",
    ]
    created, updated, client_step, owner_step = (changes for _, changes in events)
    assert (created["hours"], created["amount"]) == ([None, "37.50"], [None, "750.00"])
    assert (updated["hours"], updated["amount"]) == (["37.50", "36.00"], ["750.00", "750.00"])
    for step in (client_step, owner_step):
        assert (step["hours"], step["amount"]) == ([None, "36.00"], [None, "750.00"])
    assert owner_step["status"] == ["pending", "approved"]


def test_L1_leave_decisions_name_no_amounts(world):
    leave = world.leave["staff"]
    decided = signed_in(world, "owner").post(f"{API}/approvals/leave/{leave.pk}/approve/")
    assert decided.status_code == 200, decided.content
    action, changes = _events(world, leave)[-1]
    assert action == "approval.allowed"
    assert "amount" not in changes and "hours" not in changes


def test_L1_Z7_a_client_contact_or_staff_member_cannot_read_a_timesheets_audit_timeline(world):
    assert "audit_log.view" not in ROLE_PERMISSIONS[CLIENT]
    assert "audit_log.view" not in ROLE_PERMISSIONS[STAFF]
    sheet = make_timesheet(
        world.org, world.members["staff"], amount="4321.87", client=world.shifts["leeds"].client
    )
    timeline = f"{API}/audit/timeline/workforce.timesheet/{sheet.pk}/"
    listing = f"{API}/audit/events/?entity_type=workforce.timesheet"
    for role in ("client", "staff"):
        for url in (timeline, listing):
            refused = signed_in(world, role).get(url)
            assert refused.status_code == 403, (role, url)
            assert b"4321.87" not in refused.content
    # The client portal has no audit log at all.
    on_client_host = world.client("client", host=settings.CLIENT_HOST).get(timeline)
    assert on_client_host.status_code == 404
    # Those who hold audit_log.view read the amounts there.
    readable = signed_in(world, "owner").get(timeline)
    assert readable.status_code == 200
    assert readable.json()["results"][0]["changes"]["amount"] == [None, "4321.87"]
