"""Every change to a person's second factors (A3-A6), and every verification of one.

Each change is an audit event in each of the person's organisations (as sign-in is), naming
the device and the kind of factor, never a secret or a code. A failed verification is one
too. The first factor a person enrols comes with their recovery codes (A5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from accounts.mail import send_templated_email
from accounts.models import (
    EmailOTPDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    TOTPDevice,
    User,
)
from accounts.second_factors import codes, passkeys
from accounts.second_factors.selectors import (
    METHOD_LABELS,
    Method,
    confirmed_device,
    method_of,
    pending_device,
)
from audit.context import Actor
from audit.services import record_in_each_organisation


class CodeRefused(Exception):
    """A code was not accepted; the message is safe to show (it never says which part of
    the code was wrong, or whether it had expired or been used)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


WRONG_CODE = "That code is not valid. Check it and try again, or use another method."
THROTTLED = "Too many wrong codes. Wait a minute before trying again."


@dataclass(frozen=True)
class Enrolled:
    device: Device
    # The recovery codes created with a first factor, to show once; None otherwise.
    recovery_codes: list[str] | None


def _record_change(user: User, action: str, device: Device, method: Method) -> None:
    record_in_each_organisation(user, action, entity=device, changes={"method": [None, method]})


def _finish_enrolment(user: User, device: Device) -> Enrolled:
    method = method_of(device)
    _record_change(user, "second_factor.enrolled", device, method)
    recovery = None
    if confirmed_device(user, Method.RECOVERY_CODE) is None:
        recovery = _recovery_codes_replace(user)
    return Enrolled(device=device, recovery_codes=recovery)


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator-app key for the person to scan (A4). It counts once
    a first code from the app confirms it; an earlier unfinished enrolment is discarded."""
    if confirmed_device(user, Method.TOTP) is not None:
        raise ValidationError("An authenticator app is already set up. Remove it first.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(
        user=user,
        name=METHOD_LABELS[Method.TOTP],
        confirmed=False,
        key=codes.new_totp_key().hex(),
    )


def _enrolment_confirm(user: User, method: Method, code: str, missing: str) -> Enrolled:
    with transaction.atomic():
        device = pending_device(user, method, for_update=True)
        if device is None:
            raise ValidationError(missing)
        reason = _check_code(device, code)
        if reason is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            return _finish_enrolment(user, device)
    # Raised after the commit, which keeps the device's back-off.
    raise _refusal(reason)


def totp_enrolment_confirm(*, user: User, code: str) -> Enrolled:
    """The first code from the app proves it holds the key; the app then counts (A4)."""
    return _enrolment_confirm(
        user, Method.TOTP, code, "Start setting up the authenticator app again."
    )


def _send_code(user: User, device: EmailOTPDevice) -> None:
    allowed, _ = device.generate_is_allowed()
    if not allowed:
        raise CodeRefused(
            "A code was sent moments ago. Wait a little before asking again.", "cooldown"
        )
    code = device.issue_code()
    transaction.on_commit(
        lambda: send_templated_email(
            to=user.email,
            template="second_factor_code",
            context={"code": code, "minutes": EmailOTPDevice.EMAIL_CODE_MINUTES},
        )
    )


@transaction.atomic
def email_otp_enrolment_start(*, user: User) -> EmailOTPDevice:
    """Sends a code to the person's address; entering it turns email codes on (A3)."""
    if confirmed_device(user, Method.EMAIL) is not None:
        raise ValidationError("Email codes are already on.")
    device = pending_device(user, Method.EMAIL, for_update=True) or EmailOTPDevice.objects.create(
        user=user, name=METHOD_LABELS[Method.EMAIL], confirmed=False
    )
    _send_code(user, device)
    return device


def email_otp_enrolment_confirm(*, user: User, code: str) -> Enrolled:
    """The emailed code proves the person reads that mailbox; email codes then count (A3)."""
    return _enrolment_confirm(user, Method.EMAIL, code, "Ask for a new code first.")


@transaction.atomic
def email_code_send(*, user: User) -> None:
    """A code for signing in or stepping up, to the person's address (A3)."""
    device = confirmed_device(user, Method.EMAIL, for_verify=True)
    if device is None:
        raise ValidationError("Email codes are not on for this account.")
    _send_code(user, device)


@transaction.atomic
def passkey_register(*, request: HttpRequest, user: User, answer: Any, name: str = "") -> Enrolled:
    """Saves a passkey whose registration the authenticator answered (A6)."""
    credential = passkeys.registration_complete(request, user, answer)
    credential.name = (name.strip() or METHOD_LABELS[Method.PASSKEY])[:64]
    credential.save(update_fields=["name"])
    return _finish_enrolment(user, credential)


def _recovery_codes_replace(user: User) -> list[str]:
    device = RecoveryCodeDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        device = RecoveryCodeDevice.objects.create(
            user=user, name=METHOD_LABELS[Method.RECOVERY_CODE]
        )
    device.codes.all().delete()
    new_codes = codes.new_recovery_codes()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, digest=codes.recovery_code_digest(code)) for code in new_codes
    )
    record_in_each_organisation(
        user,
        "second_factor.recovery_codes_generated",
        entity=device,
        changes={"count": [None, len(new_codes)]},
    )
    return new_codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Ten new recovery codes (A5), to show once; every earlier code stops working."""
    if confirmed_device(user, Method.RECOVERY_CODE) is None:
        raise ValidationError("Set up a second factor first; recovery codes come with it.")
    return _recovery_codes_replace(user)


@transaction.atomic
def second_factor_remove(*, user: User, device: Device) -> None:
    """Removes one of the person's factors (A4). Removing the last one also removes their
    recovery codes, which only stand in for a factor. The caller checks that the person
    verified a second factor moments ago."""
    if device.user_id != user.pk:
        raise ValidationError("Not your device.")
    # Recorded before the delete, which forgets the row's id.
    _record_change(user, "second_factor.removed", device, method_of(device))
    device.delete()
    others = [m for m in (Method.TOTP, Method.EMAIL) if confirmed_device(user, m) is not None]
    if not others and not WebAuthnCredential.objects.filter(user=user, confirmed=True).exists():
        recovery = confirmed_device(user, Method.RECOVERY_CODE)
        if recovery is not None:
            _record_change(user, "second_factor.removed", recovery, Method.RECOVERY_CODE)
            recovery.delete()


SIGN_IN = "sign_in"
STEP_UP = "step_up"
# Before step 2 succeeds nobody is signed in: the log says so rather than naming the person.
NOT_SIGNED_IN = Actor(type="anonymous")


def second_factor_failure_record(*, user: User, method: str, reason: str, purpose: str) -> None:
    """A second factor that did not verify (A4-A6): a wrong, expired or reused code, a
    refused passkey assertion. ``purpose`` is ``SIGN_IN`` or ``STEP_UP``."""
    record_in_each_organisation(
        user,
        "auth.second_factor_failed",
        NOT_SIGNED_IN if purpose == SIGN_IN else None,
        changes={
            "method": [None, method],
            "reason": [None, reason],
            "purpose": [None, purpose],
        },
    )


def _check_code(device: Device | None, code: str) -> str | None:
    """Why ``device`` refused ``code`` (None if it accepted it). Call it inside a transaction
    that commits either way: a refusal advances the device's back-off."""
    if device is None:
        return "no_device"
    # The only refusal django-otp's ThrottlingMixin gives is its back-off after wrong codes.
    if not device.verify_is_allowed()[0]:
        return "throttled"
    return None if device.verify_token(code) else "wrong_code"


def _refusal(reason: str) -> CodeRefused:
    return CodeRefused(THROTTLED if reason == "throttled" else WRONG_CODE, reason)


def second_factor_verify(*, user: User, method: Method, code: str, purpose: str) -> Device:
    """The person's device of ``method`` that accepted ``code``; raises CodeRefused (and
    records the failure) otherwise. The device is locked while it checks, so a code cannot
    be spent twice by two requests at once."""
    with transaction.atomic():
        device = confirmed_device(user, method, for_verify=True)
        reason = _check_code(device, code)
        if reason is not None:
            second_factor_failure_record(user=user, method=method, reason=reason, purpose=purpose)
    # Raised after the commit, which keeps the back-off and the audit event.
    if reason is not None:
        raise _refusal(reason)
    return device


def sign_in_state_rejected_record(*, user: User, reason: str) -> None:
    """A pending sign-in that could not continue: expired, tampered with or lost (A7)."""
    record_in_each_organisation(
        user, "auth.sign_in_state_rejected", NOT_SIGNED_IN, changes={"reason": [None, reason]}
    )


def step_up_record(*, user: User, device: Device) -> None:
    """A signed-in person verified a second factor again (before removing one, A4)."""
    _record_change(user, "auth.stepped_up", device, method_of(device))
