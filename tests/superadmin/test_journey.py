"""Z8, A10 through a real browser: a super-admin signs in on the admin host (a gunicorn
started as the super-admin process is, with PALISADE_SERVE_ADMIN_SITE=1) with password and
authenticator app, suspends an organisation, and its member, signed in on the portal in
another browser, is signed out on their very next request."""

from __future__ import annotations

import os
import re
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Organization
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import TEST_PASSWORD, make_membership, make_organization, make_user
from tests.processes import gunicorn
from tests.superadmin.conftest import enrolled_app, make_superuser

MEMBER = "ann@alpha.example"
ROOT = "root@palisade.example"


def test_Z8_A10_super_admin_suspends_an_organisation_and_its_users_are_signed_out(
    committed_db, test_environment
):
    alpha = make_organization("Alpha Guarding", "alpha")
    make_membership(alpha, make_user(MEMBER))
    app = enrolled_app(make_superuser(ROOT))
    for connection in connections.all():
        connection.close()
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (scripts/install-system-deps.sh)")

    environment = {**test_environment, "PALISADE_SERVE_ADMIN_SITE": "1"}
    with gunicorn(environment) as base_url, sync_playwright() as playwright:
        port = urlsplit(base_url).port
        portal = f"http://{settings.PORTAL_HOST}:{port}"
        admin = f"http://{settings.ADMIN_HOST}:{port}"
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            member = browser.new_context().new_page()
            member.goto(f"{portal}/accounts/login/")
            member.get_by_label("Email", exact=True).fill(MEMBER)
            member.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
            member.get_by_role("button", name="Sign in").click()
            expect(member).to_have_url(re.compile(re.escape(f"{portal}/o/alpha/")))

            operator = browser.new_context().new_page()
            operator.goto(f"{admin}/platform/organisations/")
            expect(operator).to_have_url(f"{admin}/platform/sign-in/?next=/platform/organisations/")
            operator.get_by_label("Email", exact=True).fill(ROOT)
            operator.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
            operator.get_by_role("button", name="Continue").click()
            expect(operator).to_have_url(f"{admin}/platform/sign-in/second-factor/")
            # Enrolment spent this step's code: the app's next one, as if 30 seconds later.
            operator.get_by_label("Code from your authenticator app").fill(app.at(time.time() + 30))
            operator.get_by_role("button", name="Verify app code").click()
            expect(operator).to_have_url(f"{admin}/platform/organisations/")
            expect(operator.get_by_role("cell", name="1", exact=True)).to_be_visible()

            operator.get_by_role("link", name="Alpha Guarding").click()
            operator.get_by_label("Reason (optional)").first.fill("Unpaid invoices, ticket 7")
            operator.get_by_role("button", name="Suspend").click()
            expect(operator.get_by_text("is suspended; its members are signed out")).to_be_visible()

            member.reload()
            expect(member).to_have_url(re.compile(re.escape(f"{portal}/accounts/login/?next=")))
            # The portal's session cookie never reached the admin site, nor the other way.
            portal_cookies = {c["name"] for c in member.context.cookies()}
            admin_cookies = {c["name"] for c in operator.context.cookies()}
            assert settings.PALISADE_ADMIN_SESSION_COOKIE_NAME not in portal_cookies
            assert settings.SESSION_COOKIE_NAME not in admin_cookies
            assert settings.PALISADE_ADMIN_SESSION_COOKIE_NAME in admin_cookies
        finally:
            browser.close()

    alpha = Organization.objects.get(slug="alpha")
    assert alpha.status == Organization.Status.SUSPENDED
    with tenant_context(alpha):
        assert AuditEvent.objects.filter(
            action="organization.suspended", actor_type="platform", actor_label=ROOT
        ).exists()
