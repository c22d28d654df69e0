"""O2: the demo a newcomer explores after `make run DEMO=1`."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from rbac.grants import shared_with
from tenants.context import tenant_context
from tenants.models import Membership, Organization
from workforce.documents import expiring_soon
from workforce.models import (
    Attendance,
    Document,
    Expense,
    IssuedDocument,
    LeaveRequest,
    Shift,
    Timesheet,
)

pytestmark = pytest.mark.django_db


def test_O2_seed_demo_builds_two_organisations_with_a_member_per_role_and_a_month_of_work():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    for slug in ("acme-security", "brightside-care"):
        organization = Organization.objects.get(slug=slug)
        with tenant_context(organization):
            roles = set(Membership.objects.values_list("role", flat=True))
            assert roles == {
                "owner",
                "admin",
                "manager",
                "staff",
                "client",
                "auditor",
                "board_guest",
            }
            assert Membership.objects.filter(role="staff").count() == 50
            assert Shift.objects.count() >= 50 * 14
            assert LeaveRequest.objects.filter(status="approved").exists()
            statuses = set(Attendance.objects.values_list("status", flat=True))
            assert statuses == {"on_time", "late", "missed"}
            # Timesheets are built from that attendance: hours as clocked, pay at the rates.
            timesheets = list(Timesheet.objects.all())
            assert len(timesheets) == 20
            assert all(40 < t.hours < 70 and t.amount > 0 for t in timesheets)
            assert {"pending", "approved"} <= set(Expense.objects.values_list("status", flat=True))
            today = timezone.localdate()
            assert Document.objects.filter(expires_on__lt=today).exists()
            assert expiring_soon(Document.objects.all(), today).exists()
            assert IssuedDocument.objects.filter(kind="contract").count() == 10
            for role in ("client", "board_guest"):
                guest = Membership.objects.get(role=role)
                assert shared_with(Document.objects.all(), guest).count() == 1
        assert f"manager.{slug}@demo.palisade.invalid" in printed
    assert "password (all of them): " in printed
    # Again: nothing twice, a new password.
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert Organization.objects.filter(slug="acme-security").count() == 1
    assert (
        again.getvalue().split("password (all of them): ")[1]
        != printed.split("password (all of them): ")[1]
    )
