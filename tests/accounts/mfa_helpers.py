"""Shared helpers for the second-factor tests: signing in and enrolling through the real pages,
TOTP codes computed by an independent implementation (pyotp, from the provisioning URI the
page shows), a software passkey (soft-webauthn), and the audit events."""

from __future__ import annotations

import base64
import html
import re
import time
from typing import Any

import pyotp
from django.conf import settings
from django.test import Client
from soft_webauthn import SoftWebauthnDevice

from audit.models import AuditEvent
from tenants.context import tenant_context
from tests.factories import TEST_PASSWORD

PORTAL_ORIGIN = f"http://{settings.PORTAL_HOST}"
SECOND_FACTOR_PAGE = "/accounts/login/second-factor/"


def browser() -> Client:
    return Client(HTTP_HOST=settings.PORTAL_HOST)


def sign_in_password(client: Client, email: str, password: str = TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def is_signed_in(client: Client) -> bool:
    """Whether the client's session reaches a page for signed-in people only."""
    return client.get("/account/security/").status_code == 200


def provisioning_uri(page) -> str:
    found = re.search(r'data-provisioning-uri="([^"]+)"', page.content.decode())
    assert found, "the enrolment page shows no provisioning URI"
    return html.unescape(found.group(1))


def recovery_codes_on(page) -> list[str]:
    block = re.search(
        r'<ol class="codes" id="recovery-codes">(.*?)</ol>', page.content.decode(), re.S
    )
    assert block, "the page shows no recovery codes"
    return re.findall(r"<code>([a-z2-7-]+)</code>", block.group(1))


def next_step_code(app: pyotp.TOTP) -> str:
    """The code of the next 30-second step: accepted (one step of tolerance) even when the
    current step's code was just spent."""
    return app.at(time.time() + app.interval)


def enrol_totp(client: Client) -> tuple[pyotp.TOTP, list[str]]:
    """Sets up the authenticator app through the pages; returns the app and, for a first
    factor, the recovery codes shown."""
    assert client.post("/account/security/totp/", {"action": "start"}).status_code == 302
    app = pyotp.parse_uri(provisioning_uri(client.get("/account/security/totp/")))
    confirmed = client.post("/account/security/totp/", {"action": "confirm", "code": app.now()})
    assert confirmed.status_code == 200, confirmed.content
    return app, recovery_codes_on(confirmed)


def verify(client: Client, method: str, code: str, url: str = SECOND_FACTOR_PAGE):
    return client.post(url, {"method": method, "code": code})


def events(organization, action: str) -> list[AuditEvent]:
    with tenant_context(organization):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftPasskey:
    """A software authenticator holding one credential, speaking the JSON our pages' script
    speaks (binary fields base64url-encoded)."""

    def __init__(self) -> None:
        self.device = SoftWebauthnDevice()

    def register(self, client: Client, name: str = "Test key"):
        options = client.post(
            "/account/security/passkeys/options/", content_type="application/json"
        ).json()
        public_key = {
            **options,
            "challenge": _bytes(options["challenge"]),
            "user": {**options["user"], "id": _bytes(options["user"]["id"])},
        }
        created = self.device.create({"publicKey": public_key}, PORTAL_ORIGIN)
        answer = {
            "id": _b64url(created["rawId"]),
            "rawId": _b64url(created["rawId"]),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": _b64url(created["response"]["clientDataJSON"]),
                "attestationObject": _b64url(created["response"]["attestationObject"]),
            },
        }
        return client.post(
            "/account/security/passkeys/register/",
            {"credential": answer, "name": name},
            content_type="application/json",
        )

    def options(self, client: Client, url: str) -> dict[str, Any]:
        response = client.post(url, content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()

    def assertion(self, options: dict[str, Any]) -> dict[str, Any]:
        public_key = {**options, "challenge": _bytes(options["challenge"])}
        signed = self.device.get({"publicKey": public_key}, PORTAL_ORIGIN)
        response = {
            "clientDataJSON": _b64url(signed["response"]["clientDataJSON"]),
            "authenticatorData": _b64url(signed["response"]["authenticatorData"]),
            "signature": _b64url(signed["response"]["signature"]),
        }
        if signed["response"]["userHandle"]:
            response["userHandle"] = _b64url(signed["response"]["userHandle"])
        return {
            "id": _b64url(signed["rawId"]),
            "rawId": _b64url(signed["rawId"]),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": response,
        }

    @staticmethod
    def send(client: Client, url: str, assertion: dict[str, Any]):
        return client.post(url, {"credential": assertion}, content_type="application/json")
