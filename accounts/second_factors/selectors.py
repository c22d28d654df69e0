"""Reading a person's second factors (A3-A6)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import EmailOTPDevice, RecoveryCodeDevice, TOTPDevice, User


class Method(StrEnum):
    TOTP = "totp"
    EMAIL = "email"
    PASSKEY = "passkey"
    RECOVERY_CODE = "recovery_code"


METHOD_MODELS: dict[Method, type[Device]] = {
    Method.TOTP: TOTPDevice,
    Method.EMAIL: EmailOTPDevice,
    Method.PASSKEY: WebAuthnCredential,
    Method.RECOVERY_CODE: RecoveryCodeDevice,
}
METHOD_LABELS = {
    Method.TOTP: "Authenticator app",
    Method.EMAIL: "Email code",
    Method.PASSKEY: "Passkey",
    Method.RECOVERY_CODE: "Recovery codes",
}


def method_of(device: Device) -> Method:
    return next(method for method, model in METHOD_MODELS.items() if isinstance(device, model))


def has_second_factor(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def methods_for(user: User) -> list[Method]:
    """The kinds of second factor the person can use now, in the order pages offer them.
    Recovery codes count only while some are left."""
    found = {method_of(device) for device in devices_for_user(user, confirmed=True)}
    if Method.RECOVERY_CODE in found and not recovery_codes_left(user):
        found.discard(Method.RECOVERY_CODE)
    return [method for method in Method if method in found]


def confirmed_device(user: User, method: Method, *, for_verify: bool = False) -> Device | None:
    """The person's confirmed device of a code-based kind (one each); ``for_verify`` locks
    it, so two requests cannot both spend the same code or both pass a throttle."""
    devices = METHOD_MODELS[method].objects.filter(user=user, confirmed=True)
    if for_verify:
        devices = devices.select_for_update()
    return devices.first()


def pending_device(user: User, method: Method, *, for_update: bool = False) -> Device | None:
    """A device being enrolled: created, not yet confirmed with a first code."""
    devices = METHOD_MODELS[method].objects.filter(user=user, confirmed=False)
    if for_update:
        devices = devices.select_for_update()
    return devices.order_by("-pk").first()


def recovery_codes_left(user: User) -> int:
    device = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
    return device.codes.count() if device is not None else 0


@dataclass(frozen=True)
class SecurityOverview:
    totp: TOTPDevice | None
    email: EmailOTPDevice | None
    passkeys: list[WebAuthnCredential]
    recovery_codes_left: int
    has_recovery_codes: bool

    @property
    def has_second_factor(self) -> bool:
        return bool(self.totp or self.email or self.passkeys)


def security_overview(user: User) -> SecurityOverview:
    recovery = confirmed_device(user, Method.RECOVERY_CODE)
    return SecurityOverview(
        totp=confirmed_device(user, Method.TOTP),
        email=confirmed_device(user, Method.EMAIL),
        passkeys=list(
            WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")
        ),
        recovery_codes_left=recovery.codes.count() if recovery is not None else 0,
        has_recovery_codes=recovery is not None,
    )
