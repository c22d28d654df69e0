"""A4-A7 through a real browser: enrol an authenticator app from its QR page (the codes
computed by pyotp from the key the page shows), sign out, sign in with the app, then with a
recovery code, which works once only; and a passkey registered and used with Chromium's
virtual authenticator, under a Content-Security-Policy that allows no inline script."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import CDPSession, Page, expect

from tests.e2e.conftest import EMAIL
from tests.e2e.serving import csp_violations
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.usefixtures("committed_db")

SECOND_FACTOR = "/accounts/login/second-factor/"
STRICT_CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"


def _password_step(page: Page, portal: str) -> None:
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page: Page, portal: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{portal}/accounts/login/")


def test_A4_A5_enrol_an_app_sign_in_with_it_then_with_a_recovery_code_once(portal, page):
    _password_step(page, portal)
    expect(page).to_have_url(f"{portal}/o/alpha/")

    page.goto(f"{portal}/account/security/")
    page.get_by_role("link", name="Set up the authenticator app").click()
    page.get_by_role("button", name="Set up the authenticator app").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("#totp-manual-key").inner_text().replace(" ", "")
    app = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(app.now())
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page.get_by_role("cell", name=re.compile(r"^On since"))).to_be_visible()
    _sign_out(page, portal)

    _password_step(page, portal)
    expect(page).to_have_url(f"{portal}{SECOND_FACTOR}")
    # The enrolment spent this step's code: the app's next one, as if 30 seconds later.
    page.get_by_label("Code from your authenticator app").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Verify app code").click()
    expect(page).to_have_url(f"{portal}/o/alpha/")
    _sign_out(page, portal)

    for attempt in range(2):
        _password_step(page, portal)
        page.get_by_text("Use a recovery code").click()
        page.get_by_label("Recovery code").fill(codes[0])
        page.get_by_role("button", name="Use recovery code").click()
        if attempt == 0:
            expect(page).to_have_url(f"{portal}/o/alpha/")
            _sign_out(page, portal)
    expect(page).to_have_url(f"{portal}{SECOND_FACTOR}")
    expect(page.get_by_role("alert")).to_have_text(
        "That code is not valid. Check it and try again, or use another method."
    )


def _serve_with_strict_csp(cdp: CDPSession) -> None:
    """Chromium adds a strict CSP header to every response it receives (the portal sends none
    of its own yet), so the passkey script must work as a same-origin file."""

    def add_header(event: dict) -> None:
        headers = [*event.get("responseHeaders", [])]
        headers.append({"name": "Content-Security-Policy", "value": STRICT_CSP})
        cdp.send(
            "Fetch.continueResponse",
            {
                "requestId": event["requestId"],
                "responseCode": event["responseStatusCode"],
                "responseHeaders": headers,
            },
        )

    cdp.on("Fetch.requestPaused", add_header)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Response"}]})


def test_A6_passkey_registered_and_used_in_the_browser_under_a_strict_csp(portal, page):
    violations = csp_violations(page)
    cdp = page.context.new_cdp_session(page)
    _serve_with_strict_csp(cdp)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )

    _password_step(page, portal)
    page.goto(f"{portal}/account/security/passkeys/")
    page.get_by_label("Name for this passkey").fill("Virtual key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#passkey-recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page.get_by_role("rowheader", name="Passkey: Virtual key")).to_be_visible()
    _sign_out(page, portal)

    _password_step(page, portal)
    expect(page).to_have_url(f"{portal}{SECOND_FACTOR}")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(f"{portal}/o/alpha/")
    assert violations == []
