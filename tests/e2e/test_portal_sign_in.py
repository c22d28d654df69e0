"""T5 through a real browser: signing in to the portal lands in the member's own organisation,
and another organisation's pages are a 404.

Debian's Chromium (installed by ``make test``, see scripts/install-system-deps.sh) runs headless
under Playwright's sync API; Playwright's own browser builds are never downloaded. A missing
browser fails these tests, it never skips them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import (
    TEST_PASSWORD,
    make_membership,
    make_organization,
    make_sites,
    make_user,
)
from tests.processes import gunicorn

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the suite runs as root
    "--disable-gpu",
    # The machine has no network beyond loopback: nothing phones home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EMAIL = "ann@alpha.example"

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def portal(committed_db, test_environment) -> Iterator[str]:
    """Alpha (three sites) with one member, Bravo (two sites), committed, and a gunicorn
    serving them. Yields the portal's base URL under its real host name: the app routes by
    Host and Chromium resolves every ``*.localhost`` name to loopback."""
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    make_sites(alpha, 3, "A")
    make_sites(bravo, 2, "B")
    make_membership(alpha, make_user(EMAIL))
    # Everything the browser needs is written; the ORM is not used again until teardown.
    for connection in connections.all():
        connection.close()
    with gunicorn(test_environment) as base_url:
        port = urlsplit(base_url).port
        yield f"http://{settings.PORTAL_HOST}:{port}"


@pytest.fixture
def browser(portal) -> Iterator[Browser]:
    """Debian's Chromium, always closed. It depends on ``portal`` so that it starts after the
    data is written and stops before the database is cleaned: while Playwright's sync API is
    running, its event loop is visible to this thread and Django refuses ORM calls."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium "
            "package (scripts/install-system-deps.sh); Playwright's browser downloads are not "
            "used."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in(page: Page, portal: str, password: str) -> None:
    page.goto(f"{portal}/")
    expect(page).to_have_url(f"{portal}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_T5_browser_sign_in_lands_in_own_organisation_and_cannot_open_another(portal, page):
    _sign_in(page, portal, TEST_PASSWORD)

    expect(page).to_have_url(f"{portal}/o/alpha/sites/")
    expect(page.get_by_role("heading", name="Sites")).to_be_visible()
    expect(page.locator("header .org")).to_have_text("Alpha Guarding")
    # The self-hosted stylesheet is served by the app server itself (no CDN).
    expect(page.locator("header.topbar")).to_have_css("background-color", "rgb(27, 36, 48)")
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
