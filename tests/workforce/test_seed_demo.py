"""O2: the demo a newcomer explores after `make run DEMO=1`."""

import io

import pytest
from django.core.management import call_command

from tenants.context import tenant_context
from tenants.models import Membership, Organization
from workforce.models import LeaveRequest, Shift, Timesheet

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
            assert Timesheet.objects.count() == 20
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
