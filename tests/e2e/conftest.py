"""Browser fixtures: committed data, a real gunicorn serving it, and Debian's Chromium driven
by Playwright's sync API. Playwright's own browser builds are never downloaded; a missing
browser fails these tests, it never skips them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.serving import served
from tests.factories import make_membership, make_organization, make_sites, make_user

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


@pytest.fixture
def portal(committed_db, test_environment) -> Iterator[str]:
    """Alpha (three sites) with one member, Bravo (two sites), committed, and a gunicorn
    serving them; yields the portal's base URL."""
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    make_sites(alpha, 3, "A")
    make_sites(bravo, 2, "B")
    make_membership(alpha, make_user(EMAIL))
    with served(test_environment) as base_url:
        yield base_url


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
