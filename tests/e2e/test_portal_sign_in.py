"""T5 through a real browser: signing in to the portal lands in the member's own organisation,
and another organisation's pages are a 404.

Debian's Chromium (installed by ``make test``, see scripts/install-system-deps.sh) runs headless
under Playwright's sync API; Playwright's own browser builds are never downloaded. A missing
browser fails these tests, it never skips them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import EMAIL
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.usefixtures("committed_db")


def _sign_in(page: Page, portal: str, password: str) -> None:
    page.goto(f"{portal}/")
    expect(page).to_have_url(f"{portal}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_T5_browser_sign_in_lands_in_own_organisation_and_cannot_open_another(portal, page):
    _sign_in(page, portal, TEST_PASSWORD)

    expect(page).to_have_url(f"{portal}/o/alpha/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("header .org")).to_have_text("Alpha Guarding")
    # The self-hosted stylesheet is served by the app server itself (no CDN).
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(27, 36, 48)")
    page.get_by_role("link", name="Sites").click()
    expect(page.locator("main tbody tr td:first-child")).to_have_text(
        ["A 0000", "A 0001", "A 0002"]
    )
    expect(page.get_by_text(re.compile(r"B 000\d|Bravo"))).to_have_count(0)

    response = page.goto(f"{portal}/o/bravo/sites/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text(re.compile(r"B 000\d|Bravo"))).to_have_count(0)


def test_T5_browser_sign_in_with_wrong_password_is_refused(portal, page):
    _sign_in(page, portal, TEST_PASSWORD + " but wrong")

    expect(page).to_have_url(f"{portal}/accounts/login/")
    expect(page.get_by_role("alert")).to_have_text("Please enter a correct email and password.")
    expect(page.get_by_label("Email", exact=True)).to_have_value(EMAIL)

    response = page.goto(f"{portal}/o/alpha/sites/")
    assert response is not None and response.status == 200
    expect(page).to_have_url(re.compile(re.escape(f"{portal}/accounts/login/") + r"\?next="))
