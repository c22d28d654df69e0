"""A page per record with its audit timeline (L5) for expenses, timesheets, sites and
departments, besides shifts and leave: fields from the API's serializers and a timeline that
hides what they withhold (Z7, a timesheet's pay too), a 404 for another organisation's record
and one outside the scope (Z4), a 403 for a role without the module's view permission (Z1),
the decision for pending records (Z6), the shift's attendance with its Correct links (D2),
the list pages linking each row to its page, and nothing inline that the
Content-Security-Policy refuses (O10)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rbac.services import role_create
from tenants.context import tenant_context
from tests.factories import (
    make_expense,
    make_membership,
    make_shift,
    make_site,
    make_timesheet,
    make_user,
)
from tests.portal.conftest import assert_csp_clean
from workforce.services import department_set_head, expense_update, site_update, timesheet_update
from workforce.timekeeping import attendance_clock_in

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"


def _expense(world, member: str = "staff"):
    """An expense with two events: created for 12.50, then changed to 19.75."""
    expense = make_expense(world.org, world.members[member], amount="12.50", description="Taxi")
    with tenant_context(world.org):
        expense_update(expense=expense, amount=Decimal("19.75"))
    return expense


def _timesheet(world, member: str = "staff"):
    """A timesheet with two events: created paying 750.00, then changed to pay 812.34."""
    timesheet = make_timesheet(world.org, world.members[member], hours="37.50", amount="750.00")
    with tenant_context(world.org):
        timesheet_update(timesheet=timesheet, amount=Decimal("812.34"))
    return timesheet


def _site(world):
    site = make_site(world.org, "Harbour Gate", world.departments["south"])
    with tenant_context(world.org):
        site_update(site=site, address="1 Quay Street")
    return site


def _department(world):
    department = world.departments["leeds"]
    with tenant_context(world.org):
        department_set_head(department=department, head=world.members["manager"])
    return department


# (path prefix, a record with two events, what its page shows, its two events)
RECORDS = [
    ("expenses", _expense, ("Taxi", "19.75"), ("Expense: created", "Expense: updated")),
    (
        "timesheets",
        _timesheet,
        ("37.50", "812.34"),
        ("Timesheet: created", "Timesheet: updated"),
    ),
    (
        "sites",
        _site,
        ("Harbour Gate", "1 Quay Street", "South"),
        ("Site: created", "Site: updated"),
    ),
    (
        "departments",
        _department,
        ("Ops / North / Leeds", "manager@alpha.example"),
        ("Department: created", "Department: head changed"),
    ),
]


def _page(prefix: str, record) -> str:
    return f"{ORG}/{prefix}/{record.pk}/"


def _signed_in(org, email: str, role: str, **fields) -> HttpClient:
    user = make_user(email)
    make_membership(org, user, role=role, **fields)
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    return client


@pytest.mark.parametrize(("prefix", "make", "shown", "events"), RECORDS)
def test_L5_each_record_page_shows_its_fields_and_timeline(world, prefix, make, shown, events):
    record = make(world)
    response = world.client("owner").get(_page(prefix, record))
    assert response.status_code == 200
    assert_csp_clean(response)
    page = response.content.decode()
    for text in shown:
        assert text in page, text
    assert page.index(events[0]) < page.index(events[1])
    assert "History" in page


@pytest.mark.parametrize(("prefix", "make", "shown", "events"), RECORDS)
def test_L5_another_organisations_record_page_is_404(world, org_b, prefix, make, shown, events):
    record = make(world)
    bravo = _signed_in(org_b, "intruder@bravo.example", "owner")
    # Through bravo's URL the record does not exist; alpha's URL is not bravo's organisation.
    assert bravo.get(f"/o/bravo/{prefix}/{record.pk}/").status_code == 404
    assert bravo.get(_page(prefix, record)).status_code == 404


@pytest.mark.parametrize(("prefix", "make"), [("expenses", _expense), ("timesheets", _timesheet)])
def test_L5_Z4_a_record_outside_the_scope_is_404(world, prefix, make):
    record = make(world, "south_staff")
    # The manager sees north and below, staff only their own.
    assert world.client("manager").get(_page(prefix, record)).status_code == 404
    assert world.client("staff").get(_page(prefix, record)).status_code == 404
    assert world.client("south_staff").get(_page(prefix, record)).status_code == 200


def test_L5_Z1_a_role_without_the_view_permission_is_refused(world):
    expense, timesheet = _expense(world), _timesheet(world)
    site, department = _site(world), _department(world)
    # Admins administer and see no operational records (Z2).
    admin = _signed_in(world.org, "admin@alpha.example", "admin")
    assert admin.get(_page("expenses", expense)).status_code == 403
    assert admin.get(_page("timesheets", timesheet)).status_code == 403
    guest = _signed_in(
        world.org,
        "guest@alpha.example",
        "board_guest",
        valid_until=timezone.now() + timedelta(days=7),
    )
    assert guest.get(_page("sites", site)).status_code == 403
    assert guest.get(_page("departments", department)).status_code == 403
    # The page only reads: another method is refused, not served.
    assert world.client("owner").post(_page("sites", site)).status_code == 405


def test_Z6_L5_a_pending_expense_is_decided_from_its_page_and_the_decision_is_on_its_timeline(
    world,
):
    expense = _expense(world)
    path = _page("expenses", expense)
    assert ">Approve<" not in world.client("staff").get(path).content.decode()  # their own
    owner = world.client("owner")
    assert ">Approve<" in owner.get(path).content.decode()
    assert owner.post(f"{path}approve/").status_code == 302
    page = world.client("staff").get(path).content.decode()
    assert "Approval: allowed" in page and "pending → approved" in page
    assert ">Approve<" not in owner.get(path).content.decode()  # decided


def test_Z6_a_pending_timesheet_page_offers_the_decision_to_an_approver(world):
    path = _page("timesheets", _timesheet(world))
    assert ">Approve<" in world.client("owner").get(path).content.decode()
    assert ">Approve<" not in world.client("staff").get(path).content.decode()


def test_Z7_timesheet_pay_is_hidden_from_fields_and_timeline_without_pay_rate_view(world):
    timesheet = _timesheet(world)
    # The decision's event keeps the hours and pay decided on (L1).
    assert (
        world.client("owner").post(f"{_page('timesheets', timesheet)}approve/").status_code == 302
    )
    with tenant_context(world.org):
        role_create(
            name="Timesheet clerk",
            permissions=["timesheet.view"],
            scopes={"timesheet": "all"},
        )
    clerk = _signed_in(world.org, "clerk@alpha.example", "timesheet-clerk")
    response = clerk.get(_page("timesheets", timesheet))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Timesheet: updated" in page and "Approval: allowed" in page
    assert "37.50" in page  # hours are not pay
    # The amounts, not any "750" a timestamp's microseconds happen to hold.
    assert "750.00" not in page and "812.34" not in page
    assert "Amount" not in page
    # The member sees what they are paid (own_rows_reveal), and so does the owner.
    for role in ("staff", "owner"):
        page = world.client(role).get(_page("timesheets", timesheet)).content.decode()
        assert "750.00 → 812.34" in page, role


def _attended_shift(world, member: str, site: str):
    """A shift of ``member`` that began ten minutes ago, clocked in to now: late."""
    shift = make_shift(
        world.org,
        site=make_site(world.org, site, world.members[member].department),
        member=world.members[member],
        starts_at=timezone.now().replace(microsecond=0) - timedelta(minutes=10),
    )
    with tenant_context(world.org):
        attendance = attendance_clock_in(shift=shift, member=world.members[member])
    return shift, attendance


def test_D2_the_shift_page_lists_its_attendance_with_correct_for_managers_in_scope(world):
    shift, attendance = _attended_shift(world, "staff", "Canal Wharf")
    path = _page("shifts", shift)
    correct = f'href="{ORG}/attendance/{attendance.pk}/correct/"'
    response = world.client("manager").get(path)
    assert_csp_clean(response)
    page = response.content.decode()
    assert f'id="attendance-{attendance.pk}"' in page and "<td>Late</td>" in page
    assert correct in page
    # Staff see their own attendance but correct nobody's; the auditor only reads.
    for role in ("staff", "auditor"):
        page = world.client(role).get(path).content.decode()
        assert f'id="attendance-{attendance.pk}"' in page and correct not in page, role
    # Out of the manager's scope, the shift (and so its attendance) is not there.
    south, _ = _attended_shift(world, "south_staff", "Dock Road")
    assert world.client("manager").get(_page("shifts", south)).status_code == 404


def test_D2_Z6_a_manager_has_no_correct_link_on_their_own_attendance(world):
    shift, attendance = _attended_shift(world, "manager", "Mill Lane")
    page = world.client("manager").get(_page("shifts", shift)).content.decode()
    assert f'id="attendance-{attendance.pk}"' in page
    assert "/correct/" not in page


def test_D2_a_shift_nobody_clocked_in_to_says_so_and_clients_see_no_attendance(world):
    path = _page("shifts", world.shifts["leeds"])
    assert (
        "Nobody has clocked in to this shift yet."
        in world.client("owner").get(path).content.decode()
    )
    client = world.client("client").get(path)
    assert client.status_code == 200 and ">Attendance</h2>" not in client.content.decode()


def test_L5_list_pages_link_each_row_to_its_record_page(world):
    owner = world.client("owner")
    expense, own_expense = _expense(world), _expense(world, "owner")
    expenses = owner.get(f"{ORG}/expenses/").content.decode()
    for record in (expense, own_expense):  # waiting for a decision, and their own
        assert f'href="{_page("expenses", record)}"' in expenses
    timesheet, own_timesheet = _timesheet(world), _timesheet(world, "owner")
    timesheets = owner.get(f"{ORG}/timesheets/").content.decode()
    for record in (timesheet, own_timesheet):
        assert f'href="{_page("timesheets", record)}"' in timesheets
    site = _site(world)
    assert f'href="{_page("sites", site)}"' in owner.get(f"{ORG}/sites/").content.decode()
    tree = world.client("staff").get(f"{ORG}/departments/").content.decode()
    for department in world.departments.values():
        assert f'href="{_page("departments", department)}"' in tree


def test_Z7_the_dashboard_lists_pending_timesheets_without_pay_to_approvers_who_may_not_see_it(
    world,
):
    timesheet = make_timesheet(world.org, world.members["staff"], hours="37.50", amount="750.00")
    with tenant_context(world.org):
        role_create(
            name="Timesheet approver",
            permissions=["site.view", "timesheet.view", "timesheet.approve"],
            scopes={"timesheet": "all"},
        )
    approver = _signed_in(world.org, "approver@alpha.example", "timesheet-approver")
    page = approver.get("/o/alpha/").content.decode()
    assert "Waiting for your decision" in page and "37.50 hours" in page
    assert "750.00" not in page
    # Each pending record links to its page, where the decision is taken.
    assert f'href="{_page("timesheets", timesheet)}"' in page
    assert "750.00" in world.client("owner").get("/o/alpha/").content.decode()


def test_L5_the_dashboard_costs_the_same_queries_for_one_or_many_pending_records(world):
    owner = world.client("owner")

    def queries() -> int:
        owner.get("/o/alpha/")  # warm: session, membership
        with CaptureQueriesContext(connection) as captured:
            assert owner.get("/o/alpha/").status_code == 200
        return len(captured)

    start = timezone.localdate() - timedelta(days=70)

    def pending(n: int) -> None:
        for member in ("staff", "south_staff"):
            for i in range(n):
                week = start + timedelta(days=7 * (i + n * 3))
                make_timesheet(world.org, world.members[member], period_start=week)
                make_expense(world.org, world.members[member])

    pending(1)
    few = queries()
    pending(3)
    assert queries() == few
