"""G6 and L5 in a real browser (Chromium, under the real Content-Security-Policy): an
administrator (the owner: the default admin role holds no shift permissions) opens today's
shift from the dashboard, deletes it, finds it on the Deleted items page, restores it, opens
the shift again and sees both its deletion and its restoration on its history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.serving import csp_violations, served
from tests.factories import (
    TEST_PASSWORD,
    make_membership,
    make_organization,
    make_shifts,
    make_site,
    make_user,
)

pytestmark = pytest.mark.usefixtures("committed_db")

OWNER = "olive@alpha.example"


@pytest.fixture
def portal(committed_db, test_environment) -> Iterator[str]:
    """Alpha with its owner and one shift at North Gate that started a minute ago (so it is
    on today's dashboard whatever the hour), served by gunicorn."""
    alpha = make_organization("Alpha Guarding", "alpha")
    make_membership(alpha, make_user(OWNER), role="owner")
    make_shifts(
        alpha,
        1,
        site=make_site(alpha, "North Gate"),
        starts_at=timezone.now() - timedelta(minutes=1),
    )
    with served(test_environment) as base_url:
        yield base_url


def test_G6_L5_an_administrator_the_owner_restores_a_deleted_shift_and_sees_both_events(
    portal, page: Page
):
    base = portal
    refused = csp_violations(page)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(OWNER)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/o/alpha/")

    # Open today's shift and delete it.
    page.get_by_role("region", name="Today's shifts").get_by_role(
        "link", name=re.compile("North Gate")
    ).click()
    expect(page.get_by_role("heading", name="Shift at North Gate")).to_be_visible()
    shift_url = page.url
    page.get_by_role("button", name="Delete this shift").click()

    # It is on the Deleted items page, and gone from the dashboard.
    expect(page).to_have_url(f"{base}/o/alpha/deleted/")
    expect(page.get_by_role("heading", name="Deleted items", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("The shift (North Gate, ")
    shifts = page.get_by_role("region", name="Shifts")
    row = shifts.get_by_role("row", name=re.compile("North Gate"))
    expect(row).to_have_count(1)
    page.get_by_role("navigation", name="Organisation").get_by_role(
        "link", name="Dashboard"
    ).click()
    expect(page.get_by_role("region", name="Today's shifts")).to_contain_text("No shifts today")

    # Restore it from the Deleted items page (linked in the navigation).
    page.get_by_role("navigation", name="Organisation").get_by_role(
        "link", name="Deleted items"
    ).click()
    row.get_by_role("button", name=re.compile("^Restore")).click()
    expect(page.get_by_role("status")).to_contain_text("is restored.")
    expect(page.get_by_role("heading", name="Nothing is deleted")).to_be_visible()

    # The shift is back, and its history has both events, deletion first.
    page.get_by_role("status").get_by_role("link", name="Open it").click()
    expect(page).to_have_url(shift_url)
    expect(page.get_by_role("heading", name="Shift at North Gate")).to_be_visible()
    history = page.get_by_role("region", name="History").get_by_role("listitem")
    expect(history.filter(has_text="Shift: deleted")).to_contain_text(OWNER)
    expect(history.filter(has_text="Shift: restored")).to_contain_text(OWNER)
    actions = [text.split(" by ")[0] for text in history.all_inner_texts()]
    assert actions.index("Shift: deleted") < actions.index("Shift: restored"), actions
    assert refused == []
