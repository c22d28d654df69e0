"""The web portal's pages (Z8, D2-D5, L5) and the client portal's home (D6, Z7): each page's
status, what each role sees of it (Z4 scopes, Z7 fields), navigation by permission, the
approve and reject buttons with and without htmx (Z6), and the Content-Security-Policy
(O10) on every page with nothing inline that it would refuse."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from portal.rota import week_label
from tenants.context import tenant_context
from tests.factories import (
    make_document,
    make_expense,
    make_membership,
    make_shifts,
    make_site,
    make_timesheet,
    make_user,
)
from tests.portal.conftest import assert_csp_clean
from tests.workforce.conftest import BILL_RATE, MARGIN, NOTE, PAY_RATE, SECRETS
from workforce.models import Attendance, Expense, LeaveRequest
from workforce.services import department_set_head

pytestmark = pytest.mark.django_db

ORG = "/o/alpha"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _rota_week(world) -> str:
    return week_label(timezone.localtime(world.shifts["leeds"].starts_at).date())


def _pages(world) -> list[str]:
    return [
        f"{ORG}/",
        f"{ORG}/rota/?week={_rota_week(world)}",
        f"{ORG}/my/shifts/",
        f"{ORG}/leave/",
        f"{ORG}/timesheets/",
        f"{ORG}/expenses/",
        f"{ORG}/people/",
        f"{ORG}/departments/",
        f"{ORG}/shifts/{world.shifts['leeds'].pk}/",
        f"{ORG}/leave/{world.leave['staff'].pk}/",
    ]


def test_O10_every_portal_page_sends_the_policy_and_needs_no_inline_script(world):
    owner = world.client("owner")
    for path in _pages(world):
        response = owner.get(path)
        assert response.status_code == 200, path
        assert_csp_clean(response)


def test_O10_sign_in_error_and_client_pages_carry_the_policy_too(world, client):
    client.defaults["HTTP_HOST"] = settings.PORTAL_HOST
    sign_in = client.get("/accounts/login/")
    assert sign_in.status_code == 200
    assert_csp_clean(sign_in)
    missing = world.client("staff").get(f"{ORG}/no-such-page/")
    assert missing.status_code == 404
    assert_csp_clean(missing)
    home = world.client("client", host=settings.CLIENT_HOST).get(f"{ORG}/")
    assert home.status_code == 200
    assert_csp_clean(home)


def test_O10_htmx_is_served_from_this_origin_with_the_csrf_token_in_a_meta_tag(world):
    page = world.client("staff").get(f"{ORG}/leave/").content.decode()
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in page
    assert '<script src="/static/js/portal.js" defer></script>' in page
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page)
    assert "//" not in "".join(re.findall(r'<script src="([^"]+)"', page))  # no CDN


NAV = re.compile(r'<nav class="orgnav".*?</nav>', re.DOTALL)


def _nav(response) -> str:
    found = NAV.search(response.content.decode())
    return found.group(0) if found else ""


def test_Z8_navigation_shows_only_the_links_the_role_permits(world):
    staff = _nav(world.client("staff").get(f"{ORG}/leave/"))
    for label in ("Dashboard", "Rota", "My shifts", "Leave", "Timesheets", "Expenses"):
        assert f">{label}</a>" in staff
    for label in ("People", "Roles"):
        assert f">{label}</a>" not in staff
    assert 'aria-current="page">Leave</a>' in staff
    owner = _nav(world.client("owner").get(f"{ORG}/leave/"))
    assert ">People</a>" in owner and ">Roles</a>" in owner
    # The client portal links only its own pages.
    client = _nav(world.client("client", host=settings.CLIENT_HOST).get(f"{ORG}/"))
    assert ">Home</a>" in client and ">Shifts</a>" in client
    assert ">Leave</a>" not in client and ">Rota</a>" not in client


def test_Z8_pages_refuse_roles_without_their_permission(world):
    staff = world.client("staff")
    assert staff.get(f"{ORG}/people/").status_code == 403
    client = world.client("client")
    assert client.get(f"{ORG}/leave/").status_code == 403
    assert client.get(f"{ORG}/my/shifts/").status_code == 403


# --- leave (D3) and approvals (Z6) --------------------------------------------------------


def test_D3_staff_sees_only_their_own_leave_and_no_decisions(world):
    page = world.client("staff").get(f"{ORG}/leave/").content.decode()
    assert f'id="own-leave-{world.leave["staff"].pk}"' in page
    assert f"leave-{world.leave['south_staff'].pk}" not in page
    assert f"leave-{world.leave['manager'].pk}" not in page
    assert "Waiting for a decision" not in page
    assert "Approve" not in page


def test_D3_staff_requests_leave_through_the_form(world):
    staff = world.client("staff")
    # The default allowance, one day already pending (the world's request).
    assert "27 of 28 days left" in staff.get(f"{ORG}/leave/").content.decode()
    starts = timezone.localdate() + timedelta(days=30)
    response = staff.post(
        f"{ORG}/leave/",
        {"starts_on": starts.isoformat(), "ends_on": (starts + timedelta(days=2)).isoformat()},
    )
    assert response.status_code == 302 and response["Location"] == f"{ORG}/leave/"
    with tenant_context(world.org):
        leave = LeaveRequest.objects.get(member=world.members["staff"], starts_on=starts)
        assert leave.status == "pending"
        assert AuditEvent.objects.filter(
            action="leaverequest.created", entity_id=str(leave.pk)
        ).exists()
    assert (
        "Your leave request was sent for approval." in staff.get(f"{ORG}/leave/").content.decode()
    )


def test_D3_a_bad_leave_request_is_a_400_with_a_message_and_saves_nothing(world):
    starts = timezone.localdate() + timedelta(days=30)
    response = world.client("staff").post(
        f"{ORG}/leave/",
        {"starts_on": starts.isoformat(), "ends_on": (starts - timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 400
    assert "The last day cannot be before the first day." in response.content.decode()
    with tenant_context(world.org):
        assert not LeaveRequest.objects.filter(starts_on=starts).exists()


def test_Z6_manager_sees_pending_leave_in_scope_and_the_refusal_reason(world):
    manager = world.client("manager")
    page = manager.get(f"{ORG}/leave/").content.decode()
    assert f'id="leave-{world.leave["staff"].pk}"' in page  # leeds, below north
    assert f'id="leave-{world.leave["south_staff"].pk}"' not in page  # outside the scope
    assert f'id="leave-{world.leave["manager"].pk}"' not in page  # own: never decided by them

    # Seeing a record through the department scope is not enough: they do not head north.
    response = manager.post(f"{ORG}/leave/{world.leave['staff'].pk}/approve/")
    assert response.status_code == 302
    page = manager.get(f"{ORG}/leave/").content.decode()
    assert "Not approved: You can only decide records of a department you head" in page
    with tenant_context(world.org):
        assert LeaveRequest.objects.get(pk=world.leave["staff"].pk).status == "pending"
        assert AuditEvent.objects.filter(
            action="approval.denied", entity_id=str(world.leave["staff"].pk)
        ).exists()


def test_Z6_a_department_head_approves_and_htmx_gets_the_row_back(world):
    with tenant_context(world.org):
        department_set_head(department=world.departments["north"], head=world.members["manager"])
    response = world.client("manager").post(
        f"{ORG}/leave/{world.leave['staff'].pk}/approve/", **HTMX
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tr id="leave-{world.leave["staff"].pk}">')
    assert "is now approved" in row and "<html" not in row
    assert ">Approve<" not in row  # decided: no buttons any more
    with tenant_context(world.org):
        assert LeaveRequest.objects.get(pk=world.leave["staff"].pk).status == "approved"


def test_Z6_decisions_on_records_outside_the_scope_are_404(world):
    manager = world.client("manager")
    assert manager.post(f"{ORG}/leave/{world.leave['south_staff'].pk}/reject/").status_code == 404
    staff = world.client("staff")
    assert staff.post(f"{ORG}/leave/{world.leave['staff'].pk}/approve/").status_code == 403


# --- timesheets and expenses (D5) ---------------------------------------------------------


def test_D5_owner_approves_an_expense_and_staff_sees_it_approved(world):
    expense = make_expense(world.org, world.members["staff"])
    owner = world.client("owner")
    assert f'id="expense-{expense.pk}"' in owner.get(f"{ORG}/expenses/").content.decode()
    assert owner.post(f"{ORG}/expenses/{expense.pk}/approve/").status_code == 302
    with tenant_context(world.org):
        assert Expense.objects.get(pk=expense.pk).status == "approved"
    staff_page = world.client("staff").get(f"{ORG}/expenses/").content.decode()
    assert re.search(rf'id="own-expense-{expense.pk}">.*?<td>Approved</td>', staff_page)


def test_D5_staff_adds_an_expense_and_sees_only_their_own_timesheets(world):
    staff = world.client("staff")
    response = staff.post(f"{ORG}/expenses/", {"amount": "-3", "description": "Taxi"})
    assert response.status_code == 400
    response = staff.post(f"{ORG}/expenses/", {"amount": "8.40", "description": "Parking"})
    assert response.status_code == 302
    own = make_timesheet(world.org, world.members["staff"])
    other = make_timesheet(world.org, world.members["south_staff"])
    page = staff.get(f"{ORG}/timesheets/").content.decode()
    assert f'id="own-timesheet-{own.pk}"' in page
    assert f"timesheet-{other.pk}" not in page


def test_D5_a_timesheet_without_attendance_is_refused_with_the_reason(world):
    start = timezone.localdate() - timedelta(days=7)
    response = world.client("staff").post(
        f"{ORG}/timesheets/",
        {"period_start": start.isoformat(), "period_end": (start + timedelta(days=6)).isoformat()},
    )
    assert response.status_code == 400
    assert "There is no completed attendance" in response.content.decode()


# --- records and their timelines (L5, Z7) -------------------------------------------------


def test_L5_shift_page_shows_the_timeline_without_withheld_values(world):
    path = f"{ORG}/shifts/{world.shifts['leeds'].pk}/"
    staff = world.client("staff").get(path)
    assert staff.status_code == 200
    page = staff.content.decode()
    assert "Shift: created" in page and "History" in page
    for secret in SECRETS.values():
        assert secret not in page
    owner = world.client("owner").get(path).content.decode()
    assert PAY_RATE in owner and BILL_RATE in owner and NOTE in owner and MARGIN in owner
    # Another member's shift is not there for staff at all.
    assert world.client("staff").get(f"{ORG}/shifts/{world.shifts['south'].pk}/").status_code == 404


def test_L5_leave_page_shows_the_decision_on_its_timeline(world):
    with tenant_context(world.org):
        department_set_head(department=world.departments["north"], head=world.members["manager"])
    leave = world.leave["staff"]
    manager = world.client("manager")
    detail = manager.get(f"{ORG}/leave/{leave.pk}/").content.decode()
    assert ">Approve<" in detail  # the manager may decide it here too
    manager.post(f"{ORG}/leave/{leave.pk}/reject/")
    page = world.client("staff").get(f"{ORG}/leave/{leave.pk}/").content.decode()
    assert "Leave request: created" in page
    assert "Approval: allowed" in page and "reject" in page
    assert world.client("staff").get(f"{ORG}/leave/{world.leave['manager'].pk}/").status_code == 404


# --- rota (D2) ------------------------------------------------------------------------------


def test_D2_rota_shows_the_week_by_site_and_only_visible_shifts(world):
    week = _rota_week(world)
    staff = world.client("staff").get(f"{ORG}/rota/?week={week}").content.decode()
    assert "Leeds Depot" in staff and "South Yard" not in staff and "Ops HQ" not in staff
    owner = world.client("owner").get(f"{ORG}/rota/?week={week}").content.decode()
    for site in ("Leeds Depot", "South Yard", "Ops HQ", "North Gate"):
        assert site in owner
    assert "Previous week" in owner and "Next week" in owner
    # A malformed week is this week, not an error.
    assert world.client("owner").get(f"{ORG}/rota/?week=2026-W99").status_code == 200


def test_D2_rota_costs_the_same_queries_for_one_shift_or_many(world):
    owner = world.client("owner")
    start = world.shifts["leeds"].starts_at
    week = _rota_week(world)
    owner.get(f"{ORG}/rota/?week={week}")  # warm caches (keys, sessions)
    with CaptureQueriesContext(connection) as few:
        assert owner.get(f"{ORG}/rota/?week={week}").status_code == 200
    for index in range(6):
        site = make_site(world.org, f"More {index}", world.departments["leeds"])
        make_shifts(world.org, 5, site=site, client=world.shifts["leeds"].client, starts_at=start)
    with CaptureQueriesContext(connection) as many:
        response = owner.get(f"{ORG}/rota/?week={week}")
    assert response.status_code == 200 and "More 5" in response.content.decode()
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]


def test_D2_rota_week_picker_gets_the_grid_alone_with_htmx(world):
    response = world.client("owner").get(f"{ORG}/rota/?week={_rota_week(world)}", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="rota-grid"')
    assert "<html" not in body


# --- my shifts: clocking in and out (D2) ----------------------------------------------------


def test_D2_staff_clocks_in_and_out_of_their_shift_and_not_twice(world):
    now = timezone.now()
    (shift,) = make_shifts(
        world.org,
        1,
        site=world.shifts["leeds"].site,
        member=world.members["staff"],
        starts_at=now - timedelta(minutes=2),
    )
    staff = world.client("staff")
    page = staff.get(f"{ORG}/my/shifts/").content.decode()
    assert f'id="my-shift-{shift.pk}"' in page and ">Clock in<" in page
    assert f"my-shift-{world.shifts['south'].pk}" not in page

    response = staff.post(f"{ORG}/my/shifts/{shift.pk}/clock-in/")
    assert response.status_code == 302
    with tenant_context(world.org):
        attendance = Attendance.objects.get(shift=shift, member=world.members["staff"])
        assert attendance.status == "on_time"
    again = staff.post(f"{ORG}/my/shifts/{shift.pk}/clock-in/", **HTMX).content.decode()
    assert "You already clocked in to this shift" in again
    out = staff.post(f"{ORG}/my/shifts/{shift.pk}/clock-out/", **HTMX).content.decode()
    assert "You are clocked out." in out and "out at" in out
    # Nobody clocks in to someone else's shift.
    south = world.shifts["south"]
    assert staff.post(f"{ORG}/my/shifts/{south.pk}/clock-in/").status_code == 404


# --- dashboard, people, departments --------------------------------------------------------


def test_Z8_dashboard_shows_today_pending_decisions_and_expiring_documents(world):
    now = timezone.now()
    make_shifts(
        world.org,
        1,
        site=make_site(world.org, "Night Post", world.departments["leeds"]),
        member=world.members["staff"],
        starts_at=now.replace(hour=0, minute=30, second=0, microsecond=0),
    )
    today = timezone.localdate()
    make_document(world.org, world.members["staff"], "First aid", today + timedelta(days=10))
    make_document(world.org, world.members["staff"], "Licence", today + timedelta(days=90))

    staff = world.client("staff").get(f"{ORG}/").content.decode()
    assert "Today's shifts" in staff and "Night Post" in staff
    assert "First aid" in staff and "Licence" not in staff
    assert "Waiting for your decision" not in staff  # staff approve nothing

    def decisions() -> str:
        page = world.client("manager").get(f"{ORG}/").content.decode()
        return re.search(r'id="approvals-heading".*?</section>', page, re.DOTALL).group(0)

    # Z6: only what the manager may decide, so nothing until they head a department.
    assert "No pending leave requests." in decisions()
    with tenant_context(world.org):
        department_set_head(department=world.departments["north"], head=world.members["manager"])
    waiting = decisions()
    assert world.users["staff"].email in waiting  # the staff member's pending leave (leeds)
    assert world.users["south_staff"].email not in waiting


def test_Z8_an_admin_dashboard_points_to_the_pages_their_role_opens(world):
    admin = make_user("ada@alpha.example")
    make_membership(world.org, admin, role="admin")
    client = HttpClient(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(admin)
    page = client.get(f"{ORG}/").content.decode()
    assert "Your role looks after the organisation" in page
    assert "Today's shifts" not in page


def test_Z8_people_and_departments(world):
    people = world.client("manager").get(f"{ORG}/people/").content.decode()
    assert world.users["staff"].email in people and "Manager" in people
    tree = world.client("staff").get(f"{ORG}/departments/").content.decode()
    # Nested: Leeds is listed inside North, which is inside Ops.
    assert re.search(
        r"Ops</a></span>.*<ul.*North</a></span>.*<ul.*Leeds</a></span>", tree, re.DOTALL
    )
    assert tree.index("North") < tree.index("South")


# --- client portal (D6, Z7) -----------------------------------------------------------------


def test_D6_client_home_shows_their_sites_and_shifts_and_never_pay_margin_or_notes(world):
    response = world.client("client", host=settings.CLIENT_HOST).get(f"{ORG}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Leeds Depot" in page and "North Gate" in page  # Acme's sites
    assert "South Yard" not in page and "Ops HQ" not in page
    assert world.users["staff"].email in page  # the assigned staff member, by name
    assert "Not assigned yet" in page
    for secret in (PAY_RATE, MARGIN, NOTE):
        assert secret not in page
    for word in ("Pay rate", "Margin", "Internal notes"):
        assert word not in page


def test_D6_the_client_portal_has_no_web_portal_pages(world):
    client = world.client("client", host=settings.CLIENT_HOST)
    for path in ("leave/", "rota/", "people/", "my/shifts/"):
        assert client.get(f"{ORG}/{path}").status_code == 404
