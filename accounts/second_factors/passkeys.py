"""Passkey (WebAuthn) ceremonies, as a second factor (A6).

django-otp-webauthn supplies the credential model and the py_webauthn calls (its helper); its
own views are not used, because they either sign a person in with a passkey alone or need a
signed-in user, and here a passkey completes a password sign-in that is still pending (or a
step-up). Each ceremony's challenge lives in the session and is taken out of it before the
answer is checked, so an answer is checked at most once: a replayed assertion finds no
challenge, or the wrong one, and an assertion whose signature counter went backwards is
refused by py_webauthn.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions

from accounts.models import User

logger = logging.getLogger(__name__)

REGISTRATION_STATE = "_palisade_passkey_registration"
AUTHENTICATION_STATE = "_palisade_passkey_authentication"


class PasskeyRefused(Exception):
    """A passkey ceremony failed; ``reason`` is a short code for the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PortalWebAuthnHelper(WebAuthnHelper):
    """The relying party is the portal host (``OTP_WEBAUTHN_RP_ID``). Outside production the
    portal's own origin on any port is accepted too, since development servers and test
    servers pick their ports."""

    def get_relying_party_domain(self) -> str:
        return settings.OTP_WEBAUTHN_RP_ID

    def get_relying_party_name(self) -> str:
        return settings.OTP_WEBAUTHN_RP_NAME

    def get_allowed_origins(self) -> list[str]:
        origins = list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)
        host = self.request.get_host()
        if not settings.IS_PRODUCTION and host.partition(":")[0] == settings.OTP_WEBAUTHN_RP_ID:
            origins.append(f"{self.request.scheme}://{host}")
        return origins


def _take_state(request: HttpRequest, name: str) -> dict:
    state = request.session.pop(name, None)
    # Saved at once, so the challenge is gone even if checking the answer fails or raises.
    request.session.save()
    if not isinstance(state, dict):
        raise PasskeyRefused("no_challenge")
    return state


def _checked(call):
    try:
        with rewrite_exceptions():
            return call()
    except exceptions.OTPWebAuthnApiError as error:
        logger.info("Passkey ceremony refused: %s", error.code)
        raise PasskeyRefused(error.code) from error


def registration_options(request: HttpRequest, user: User) -> dict[str, Any]:
    options, state = PortalWebAuthnHelper(request).register_begin(user=user)
    request.session[REGISTRATION_STATE] = state
    return options


def registration_complete(request: HttpRequest, user: User, answer: Any) -> WebAuthnCredential:
    """Checks the authenticator's answer and saves the new (confirmed) credential."""
    state = _take_state(request, REGISTRATION_STATE)
    if not isinstance(answer, dict):
        raise PasskeyRefused("malformed")
    return _checked(
        lambda: PortalWebAuthnHelper(request).register_complete(user=user, state=state, data=answer)
    )


def authentication_options(request: HttpRequest, user: User) -> dict[str, Any]:
    # A second factor after a password: the person is known, so their credentials are listed
    # and user verification (a PIN or biometric on the authenticator) is not required.
    options, state = PortalWebAuthnHelper(request).authenticate_begin(
        user=user, require_user_verification=False
    )
    request.session[AUTHENTICATION_STATE] = state
    return options


def authentication_complete(request: HttpRequest, user: User, answer: Any) -> WebAuthnCredential:
    """The credential that signed this session's challenge; it must be ``user``'s own."""
    state = _take_state(request, AUTHENTICATION_STATE)
    if not isinstance(answer, dict):
        raise PasskeyRefused("malformed")
    credential = _checked(
        lambda: PortalWebAuthnHelper(request).authenticate_complete(
            user=user, state=state, data=answer
        )
    )
    if not credential.confirmed:
        raise PasskeyRefused("credential_disabled")
    return credential
