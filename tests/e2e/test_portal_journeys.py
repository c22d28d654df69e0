"""The portals' main journeys in a real browser (Chromium, with JavaScript, so through htmx;
the same buttons are plain forms without it), under the real Content-Security-Policy:
a staff member clocks in and requests leave, their manager approves it on the leave page,
and the staff member sees it approved (D2, D3, Z6, Z8, O10)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tenants.context import tenant_context
from tests.e2e.serving import csp_violations, served
from tests.factories import (
    TEST_PASSWORD,
    make_client,
    make_department,
    make_membership,
    make_organization,
    make_shifts,
    make_site,
    make_user,
)
from tests.workforce.conftest import BILL_RATE, MARGIN, NOTE, PAY_RATE
from workforce.services import department_set_head

pytestmark = pytest.mark.usefixtures("committed_db")

STAFF = "sam@alpha.example"
MANAGER = "meg@alpha.example"
CLIENT = "cleo@acme.example"


@pytest.fixture
def portal(committed_db, test_environment) -> Iterator[str]:
    """Alpha with a North department headed by a manager, a staff member in it with a shift
    that started a minute ago, and a client Acme (with a contact) for whom the staff member
    works two shifts from tomorrow with distinctive pay, bill rate and internal notes; served
    by gunicorn."""
    alpha = make_organization("Alpha Guarding", "alpha")
    north = make_department(alpha, "North")
    manager = make_membership(alpha, make_user(MANAGER), role="manager", department=north)
    staff = make_membership(alpha, make_user(STAFF), role="staff", department=north)
    with tenant_context(alpha):
        department_set_head(department=north, head=manager)
    make_shifts(
        alpha,
        1,
        site=make_site(alpha, "North Gate", north),
        member=staff,
        starts_at=timezone.now() - timedelta(minutes=1),
    )
    acme = make_client(alpha, "Acme", internal_notes=NOTE)
    make_membership(alpha, make_user(CLIENT), role="client", client=acme)
    make_shifts(
        alpha,
        2,
        site=make_site(alpha, "Acme Warehouse"),
        client=acme,
        member=staff,
        bill_rate=BILL_RATE,
        pay_rate=PAY_RATE,
        internal_notes=NOTE,
        starts_at=timezone.now() + timedelta(days=1),
    )
    with served(test_environment) as base_url:
        yield base_url


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"^{re.escape(base)}/o/alpha/"))


def test_D3_staff_clocks_in_requests_leave_manager_approves_staff_sees_it(portal, browser: Browser):
    base = portal
    staff_context, manager_context = browser.new_context(), browser.new_context()
    try:
        staff = staff_context.new_page()
        refused = csp_violations(staff)
        _sign_in(staff, base, STAFF)

        # D2: clock in from My shifts; htmx swaps the row and says so.
        staff.get_by_role("navigation", name="Organisation").get_by_role(
            "link", name="My shifts"
        ).click()
        expect(staff.get_by_role("heading", name="My shifts")).to_be_visible()
        staff.get_by_role("button", name=re.compile("^Clock in")).click()
        expect(staff.get_by_role("status")).to_contain_text("You are clocked in.")
        expect(staff.get_by_role("button", name=re.compile("^Clock out"))).to_be_visible()
        expect(staff.get_by_role("row", name=re.compile("North Gate"))).to_contain_text(
            "On time: in at"
        )

        # D3: request leave with the form.
        staff.get_by_role("link", name="Leave", exact=True).click()
        expect(staff.get_by_role("heading", name="Leave", exact=True)).to_be_visible()
        first = timezone.localdate() + timedelta(days=21)
        staff.get_by_label("First day").fill(first.isoformat())
        staff.get_by_label("Last day").fill((first + timedelta(days=4)).isoformat())
        staff.get_by_label("Reason (optional)").fill("Family wedding")
        staff.get_by_role("button", name="Send for approval").click()
        expect(staff.get_by_role("status")).to_contain_text(
            "Your leave request was sent for approval."
        )
        own = staff.get_by_role("region", name="Your leave requests")
        expect(own.get_by_role("row", name=re.compile("Family wedding"))).to_contain_text("Pending")

        # Z6: the manager, head of North, approves it on the leave page (htmx swaps the row).
        manager = manager_context.new_page()
        refused += csp_violations(manager)
        _sign_in(manager, base, MANAGER)
        manager.goto(f"{base}/o/alpha/leave/")
        waiting = manager.get_by_role("region", name="Waiting for a decision")
        row = waiting.get_by_role("row", name=re.compile(re.escape(STAFF)))
        expect(row).to_contain_text("Family wedding")
        row.get_by_role("button", name=re.compile("^Approve")).click()
        expect(waiting.get_by_role("status")).to_contain_text(f"The leave request of {STAFF}")
        expect(waiting.get_by_role("status")).to_contain_text("is now approved")
        expect(waiting.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)

        # The staff member sees it approved, and its history says who decided.
        staff.reload()
        decided = own.get_by_role("row", name=re.compile("Family wedding"))
        expect(decided).to_contain_text("Approved")
        decided.get_by_role("link").click()
        expect(staff.get_by_role("heading", name="History")).to_be_visible()
        expect(staff.get_by_role("listitem").filter(has_text="Approval: allowed")).to_contain_text(
            MANAGER
        )
        assert refused == []
    finally:
        staff_context.close()
        manager_context.close()


def test_D6_client_sees_their_shifts_and_staff_but_no_pay_margin_or_notes_in_the_source(
    portal, page: Page
):
    # The same server, addressed by the client portal's host.
    base = portal.replace(settings.PORTAL_HOST, settings.CLIENT_HOST)
    page.goto(f"{base}/o/alpha/")
    expect(page).to_have_url(re.compile(re.escape(f"{base}/accounts/login/")))
    page.get_by_label("Email", exact=True).fill(CLIENT)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/o/alpha/")

    expect(page.get_by_role("heading", name="Your sites")).to_be_visible()
    expect(page.get_by_role("region", name="Your sites")).to_contain_text("Acme Warehouse")
    upcoming = page.get_by_role("region", name="Upcoming shifts")
    expect(upcoming.get_by_role("row", name=re.compile("Acme Warehouse"))).to_have_count(2)
    expect(upcoming).to_contain_text(STAFF)
    nav = page.get_by_role("navigation", name="Organisation")
    expect(nav.get_by_role("link")).to_have_text(["Home", "Shifts", "Documents"])

    source = page.content()
    for secret in (PAY_RATE, MARGIN, NOTE):
        assert secret not in source
    # The client's shifts page (rendered from the same serializers) withholds them too.
    page.get_by_role("link", name="Shifts").click()
    expect(page.get_by_role("heading", name="Shifts")).to_be_visible()
    source = page.content()
    for secret in (PAY_RATE, MARGIN, NOTE):
        assert secret not in source


def test_D2_a_manager_schedules_a_shift_then_moves_it_an_hour_later(portal, browser: Browser):
    """The date-and-time pickers as Chromium fills and submits them, and the change form
    prefilled with what the browser accepts (a value it cannot read would come back empty)."""
    page = browser.new_context().new_page()
    refused = csp_violations(page)
    _sign_in(page, portal, MANAGER)
    page.get_by_role("navigation", name="Organisation").get_by_role(
        "link", name="Shifts", exact=True
    ).click()
    page.get_by_role("link", name="Add a shift").click()
    starts = timezone.localtime().replace(second=0, microsecond=0) + timedelta(days=5)
    page.get_by_label("Site").select_option(label="North Gate")
    page.get_by_label(re.compile("^Starts")).fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label(re.compile("^Ends")).fill(
        (starts + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("Assigned to").select_option(label=STAFF)
    page.get_by_label("Bill rate per hour").fill("30.00")
    page.get_by_label("Pay rate per hour").fill("18.50")
    page.get_by_role("button", name="Add the shift").click()
    expect(page.get_by_role("status")).to_contain_text("is added")
    expect(page.get_by_role("heading", name="Shift at North Gate")).to_be_visible()

    page.get_by_role("link", name="Change this shift").click()
    starts_input = page.get_by_label(re.compile("^Starts"))
    expect(starts_input).to_have_value(starts.strftime("%Y-%m-%dT%H:%M"))
    later = starts + timedelta(hours=1)
    starts_input.fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label(re.compile("^Ends")).fill(
        (later + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("status")).to_contain_text("The shift is changed.")
    expect(page.get_by_role("listitem").filter(has_text="Shift: updated")).to_contain_text(MANAGER)
    assert refused == []
