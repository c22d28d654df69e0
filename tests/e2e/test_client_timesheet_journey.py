"""A client's contact approves a timesheet on the client portal in a real browser (Chromium,
through htmx, under the real Content-Security-Policy): they confirm the hours (step 1 of the
timesheet chain, Z6), the row says so and waits for the owner, and neither the page nor the
swapped row ever carries pay, margins or internal notes (Z7, D6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.serving import csp_violations, served
from tests.factories import (
    TEST_PASSWORD,
    make_client,
    make_membership,
    make_organization,
    make_shifts,
    make_site,
    make_timesheet,
    make_user,
)
from tests.workforce.conftest import BILL_RATE, MARGIN, NOTE, PAY_RATE

pytestmark = pytest.mark.usefixtures("committed_db")

STAFF = "sam@alpha.example"
CLIENT = "cleo@acme.example"
PAY = "1737.37"  # the timesheet's amount
HIDDEN = (PAY, PAY_RATE, MARGIN, NOTE)


@pytest.fixture
def portal(committed_db, test_environment) -> Iterator[str]:
    """Alpha with a client Acme (and its contact), a staff member who worked Acme's shifts at
    a distinctive pay rate, and their pending timesheet for Acme; served by gunicorn on the
    client host."""
    alpha = make_organization("Alpha Guarding", "alpha")
    staff = make_membership(alpha, make_user(STAFF), role="staff")
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
        starts_at=timezone.now() - timedelta(days=3),
    )
    make_timesheet(alpha, staff, hours="16.00", amount=PAY, client=acme)
    with served(test_environment, settings.CLIENT_HOST) as base_url:
        yield base_url


def _assert_nothing_hidden(source: str) -> None:
    for secret in HIDDEN:
        assert secret not in source, secret
    assert "Amount" not in source and "Pay rate" not in source


def test_D6_Z6_Z7_client_approves_a_timesheet_and_never_sees_pay_or_margin(portal, page: Page):
    refused = csp_violations(page)
    page.goto(f"{portal}/o/alpha/")
    expect(page).to_have_url(re.compile(re.escape(f"{portal}/accounts/login/")))
    page.get_by_label("Email", exact=True).fill(CLIENT)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{portal}/o/alpha/")

    to_approve = page.get_by_role("region", name="Timesheets to approve")
    row = to_approve.get_by_role("row", name=re.compile(re.escape(STAFF)))
    expect(row).to_contain_text("16.00")
    _assert_nothing_hidden(page.content())

    # htmx swaps the row: confirmed, waiting for the owner, no buttons left.
    row.get_by_role("button", name=re.compile("^Approve")).click()
    outcome = to_approve.get_by_role("status")
    expect(outcome).to_contain_text("Confirmed: step 1 of 2")
    expect(outcome).to_contain_text("waits for step 2 (owner)")
    expect(to_approve.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    _assert_nothing_hidden(page.content())

    # On the next visit it is no longer theirs to approve, and still listed as pending.
    page.reload()
    expect(page.get_by_role("region", name="Timesheets to approve")).to_contain_text(
        "No timesheets are waiting for you."
    )
    listed = page.get_by_role("region", name="Timesheets", exact=True)
    expect(listed.get_by_role("row", name=re.compile(re.escape(STAFF)))).to_contain_text("Pending")
    _assert_nothing_hidden(page.content())
    assert refused == []
