"""Verifying a second factor from a page or a passkey ceremony: what sign-in step 2 and a
step-up share (A3-A6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse
from django_otp.models import Device

from accounts.models import User
from accounts.second_factors import passkeys
from accounts.second_factors.selectors import Method
from accounts.second_factors.services import (
    CodeRefused,
    email_code_send,
    second_factor_failure_record,
    second_factor_verify,
)

CODE_METHODS = (Method.TOTP, Method.EMAIL, Method.RECOVERY_CODE)
PASSKEY_REFUSED = "The passkey could not be verified. Try again, or use another method."
# Longer input is not a code; it is cut before it reaches any comparison.
MAX_CODE_LENGTH = 64


@dataclass
class Attempt:
    """The outcome of one posted form: a verified device, or what to tell the person."""

    device: Device | None = None
    error: str = ""
    notice: str = ""
    refused: bool = False


def masked_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def attempt_from_post(
    request: HttpRequest, user: User, methods: list[Method], purpose: str
) -> Attempt:
    action = request.POST.get("method", "")
    if action == "email_send" and Method.EMAIL in methods:
        try:
            email_code_send(user=user)
        except CodeRefused as refused:
            return Attempt(error=str(refused))
        return Attempt(notice=f"We sent a code to {masked_email(user.email)}.")
    method = next((m for m in CODE_METHODS if m == action and m in methods), None)
    if method is None:
        return Attempt(error="Choose one of the ways to verify below.")
    code = request.POST.get("code", "")[:MAX_CODE_LENGTH]
    try:
        device = second_factor_verify(user=user, method=method, code=code, purpose=purpose)
    except CodeRefused as refused:
        return Attempt(error=str(refused), refused=True)
    return Attempt(device=device)


def posted_json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def passkey_options_response(request: HttpRequest, user: User) -> JsonResponse:
    return JsonResponse(passkeys.authentication_options(request, user))


def posted_credential(request: HttpRequest) -> Any:
    """The ``credential`` member of a posted JSON body: the authenticator's answer."""
    body = posted_json(request)
    return body.get("credential") if isinstance(body, dict) else None


def passkey_attempt(request: HttpRequest, user: User, purpose: str) -> Device | JsonResponse:
    """The passkey that answered this session's challenge, or the JSON refusal to send (the
    failure recorded)."""
    try:
        return passkeys.authentication_complete(request, user, posted_credential(request))
    except passkeys.PasskeyRefused as refused:
        second_factor_failure_record(
            user=user, method=Method.PASSKEY, reason=refused.reason, purpose=purpose
        )
        return JsonResponse({"detail": PASSKEY_REFUSED, "code": refused.reason}, status=400)
