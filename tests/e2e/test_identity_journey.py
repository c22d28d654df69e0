"""A2/A3/A4 through a real browser, end to end: an invitation link → the emailed code →
choosing a password → signing in → enrolling an authenticator app (codes computed by pyotp
from the key the page shows) → signing out → signing in with the app; and an admin-created
account that must change its password before anything else."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tenants.context import tenant_context
from tenants.invitations import invitation_create
from tenants.models import Membership
from tenants.services import member_create_with_password
from tests.e2e.serving import served
from tests.factories import make_membership, make_organization, make_user
from tests.processes import ROOT

pytestmark = pytest.mark.usefixtures("committed_db")

INVITEE = "nia@alpha.example"
INVITEE_PASSWORD = "my own long passphrase 4417"
TEMPORARY_PASSWORD = "Temporary passphrase 90!"
CHOSEN_PASSWORD = "chosen by me at first sign-in 52"


@pytest.fixture
def outbox() -> Iterator[Path]:
    """Where the server process writes its emails (Django's file backend)."""
    directory = ROOT / ".var" / f"e2e-mail-{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def portal(committed_db, test_environment, outbox) -> Iterator[tuple[str, str]]:
    """Alpha with an admin who invited INVITEE and created an account with a temporary
    password, served by gunicorn. Yields the portal URL and the invitation path."""
    alpha = make_organization("Alpha Guarding", "alpha")
    admin = make_user("admin@alpha.example")
    make_membership(alpha, admin, role=Membership.Role.ADMIN)
    with tenant_context(alpha):
        invitation_create(email=INVITEE, role="staff", invited_by=admin)
        member_create_with_password(
            email="temp@alpha.example", temporary_password=TEMPORARY_PASSWORD, role="staff"
        )
    [invitation_email] = mail.outbox
    link = re.search(r"https?://\S+?(/invitations/\S+/)", invitation_email.body)[1]
    # Four slashes: django-environ reads an absolute path after "filemail:///".
    env = {**test_environment, "EMAIL_URL": f"filemail:///{outbox}"}
    with served(env) as base_url:
        yield base_url, link


def _emailed_code(outbox: Path) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in sorted(outbox.glob("*.log")):
            if found := re.search(r"verification code: (\d{6})", message.read_text()):
                return found[1]
        time.sleep(0.1)
    raise AssertionError("no verification code was emailed")


def _sign_in(page: Page, portal: str, email: str, password: str) -> None:
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_A2_A3_A4_invitation_to_authenticator_app_sign_in_in_a_browser(portal, page, outbox):
    base, link = portal
    page.goto(base + link)
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
    page.get_by_label("6-digit code").fill(_emailed_code(outbox))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Join your organisation")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(INVITEE_PASSWORD)
    page.get_by_label("Password again").fill(INVITEE_PASSWORD)
    page.get_by_role("button", name="Join").click()
    expect(page).to_have_url(f"{base}/accounts/login/")

    _sign_in(page, base, INVITEE, INVITEE_PASSWORD)
    expect(page).to_have_url(f"{base}/o/alpha/")
    page.goto(f"{base}/account/security/")
    page.get_by_role("link", name="Set up the authenticator app").click()
    page.get_by_role("button", name="Set up the authenticator app").click()
    app = pyotp.TOTP(page.locator("#totp-manual-key").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(app.now())
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="I have saved my recovery codes").click()
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, base, INVITEE, INVITEE_PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/login/second-factor/"))
    # The enrolment spent this step's code: the app's next one, as if 30 seconds later.
    page.get_by_label("Code from your authenticator app").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Verify app code").click()
    expect(page).to_have_url(f"{base}/o/alpha/")

    # The same link cannot be used again.
    page.goto(base + link)
    expect(page.get_by_role("alert")).to_have_text(
        "This invitation has already been used. Sign in instead."
    )


def test_A2_admin_set_password_is_replaced_at_first_sign_in_in_a_browser(portal, page):
    base, _ = portal
    _sign_in(page, base, "temp@alpha.example", TEMPORARY_PASSWORD)
    expect(page).to_have_url(f"{base}/account/password/")
    page.goto(f"{base}/o/alpha/sites/")
    expect(page).to_have_url(f"{base}/account/password/")
    page.get_by_label("Current password").fill(TEMPORARY_PASSWORD)
    page.get_by_label("New password", exact=True).fill(CHOSEN_PASSWORD)
    page.get_by_label("New password again").fill(CHOSEN_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(f"{base}/o/alpha/")
