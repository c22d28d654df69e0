"""Z2 through a real browser: an admin creates a custom role on the role settings pages
(permissions ticked in the grid, a visibility scope, an approval limit), gives it to a member
through the API with the same session, and sees it listed with its member."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tenants.models import Membership
from tests.e2e.serving import served
from tests.factories import TEST_PASSWORD, make_membership, make_organization, make_user

pytestmark = pytest.mark.usefixtures("committed_db")

ADMIN = "ada@alpha.example"


@pytest.fixture
def portal(committed_db, test_environment) -> Iterator[tuple[str, int]]:
    """Alpha with an admin and a staff member, served by gunicorn. Yields the portal URL and
    the staff member's membership id."""
    alpha = make_organization("Alpha Guarding", "alpha")
    make_membership(alpha, make_user(ADMIN), role=Membership.Role.ADMIN)
    staff = make_membership(alpha, make_user("sam@alpha.example"))
    with served(test_environment) as base_url:
        yield base_url, staff.pk


def test_Z2_admin_creates_a_custom_role_assigns_it_and_sees_it_listed(portal, page: Page):
    base, staff_id = portal
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/o/alpha/")

    page.goto(f"{base}/o/alpha/settings/roles/")
    expect(page.get_by_role("heading", name="Roles")).to_be_visible()
    page.get_by_role("link", name="New role").click()
    expect(page.get_by_role("heading", name="New role")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Payroll clerk")
    page.get_by_label("Description").fill("Keeps people's records for payroll.")
    for permission in ("User: view", "User: update", "Department: view"):
        page.get_by_label(permission, exact=True).check()
    page.get_by_label("Timesheet visibility").select_option("all")
    page.get_by_label("Expense approval limit").fill("250")
    page.get_by_role("button", name="Create role").click()

    expect(page).to_have_url(f"{base}/o/alpha/settings/roles/")
    expect(page.get_by_role("status")).to_contain_text("The role Payroll clerk was created.")
    row = page.get_by_role("row", name=re.compile("Payroll clerk"))
    expect(row.get_by_role("cell")).to_have_text(
        ["Keeps people's records for payroll.", "0", "Custom"]
    )

    # No page assigns roles yet: the API, called from the page with its session and CSRF
    # token (Playwright's own request client cannot resolve *.localhost; Chromium does).
    csrf_token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    answer = page.evaluate(
        """async ([url, token]) => {
            const response = await fetch(url, {
                method: "PATCH",
                headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                body: JSON.stringify({role: "payroll-clerk"}),
            });
            return {status: response.status, body: await response.json()};
        }""",
        [f"/api/v1/o/alpha/members/{staff_id}/", csrf_token],
    )
    assert answer["status"] == 200, answer
    assert answer["body"]["role"] == "payroll-clerk"

    page.reload()
    expect(row.get_by_role("cell")).to_have_text(
        ["Keeps people's records for payroll.", "1", "Custom"]
    )
    row.get_by_role("link", name="Payroll clerk").click()
    expect(page.get_by_role("heading", name="Role: Payroll clerk")).to_be_visible()
    expect(page.get_by_label("User: update", exact=True)).to_be_checked()
    expect(page.get_by_label("Pay rate: view", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Timesheet visibility")).to_have_value("all")
    expect(page.get_by_label("Expense approval limit")).to_have_value("250.00")
    # In use: it cannot be deleted, so the page offers no deletion.
    expect(page.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
