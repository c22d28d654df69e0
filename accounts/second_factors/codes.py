"""The codes behind second factors (A3, A4, A5): TOTP (RFC 6238), emailed codes and recovery
codes. Pure functions; the devices in ``accounts.models`` hold the state.

Every comparison of a presented code with an expected one is constant-time and looks at every
candidate, so response time says nothing about how close a guess was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import quote, urlencode

from django_otp.oath import hotp

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_KEY_BYTES = 20  # RFC 4226's recommended length for HMAC-SHA1
# One step either side: a phone clock a little off, or a code typed just as it changed.
TOTP_TOLERANCE_STEPS = 1
EMAIL_CODE_DIGITS = 6
RECOVERY_CODE_COUNT = 10
# 16 base32 characters: 80 random bits, beyond offline guessing of an unsalted SHA-256 (A5).
RECOVERY_CODE_CHARACTERS = 16
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_DIGITS_ONLY = re.compile(r"^[0-9]+$")


def numeric_code(presented: str, digits: int) -> str | None:
    """A presented numeric code with spaces removed, or None when it cannot be one."""
    code = "".join(presented.split())
    return code if len(code) == digits and _DIGITS_ONLY.match(code) else None


def new_totp_key() -> bytes:
    return secrets.token_bytes(TOTP_KEY_BYTES)


def totp_key_base32(key: bytes) -> str:
    """The key as authenticator apps take it when typed in (RFC 4648 base32, no padding)."""
    return base64.b32encode(key).decode().rstrip("=")


def provisioning_uri(key: bytes, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI that the enrolment QR code carries (Google's Key Uri Format,
    which every RFC 6238 app reads)."""
    # A literal colon between issuer and account, as the format's own examples write it.
    label = f"{quote(issuer)}:{quote(account, safe='@')}"
    query = urlencode(
        {
            "secret": totp_key_base32(key),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def totp_match(key: bytes, presented: str, *, now: float, after_step: int) -> int | None:
    """The time step whose code ``presented`` is, within the tolerance and later than
    ``after_step`` (the last step accepted, so a code is never accepted twice: A4); None
    otherwise."""
    code = numeric_code(presented, TOTP_DIGITS)
    current = int(now) // TOTP_STEP_SECONDS
    matched = None
    for step in range(current - TOTP_TOLERANCE_STEPS, current + TOTP_TOLERANCE_STEPS + 1):
        expected = f"{hotp(key, step, TOTP_DIGITS):0{TOTP_DIGITS}d}"
        # Every candidate is compared, matched or not (constant time across candidates).
        if hmac.compare_digest(expected, code or "") and step > after_step:
            matched = step
    return matched


def new_email_code() -> str:
    return f"{secrets.randbelow(10**EMAIL_CODE_DIGITS):0{EMAIL_CODE_DIGITS}d}"


def codes_equal(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode(), presented.encode())


def new_recovery_codes() -> list[str]:
    return [
        "".join(secrets.choice(_BASE32) for _ in range(RECOVERY_CODE_CHARACTERS))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def recovery_code_display(code: str) -> str:
    """``abcd-efgh-jkmn-pqrs``: groups of four are easier to copy by hand."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def recovery_code_digest(presented: str) -> bytes:
    """What is stored of a recovery code (A5): SHA-256 of its normalised form (case, spaces
    and hyphens ignored). The codes are random and long enough that a salt or a slow hash
    adds nothing."""
    normalised = "".join(presented.split()).replace("-", "").lower()
    return hashlib.sha256(b"palisade-recovery-code\x00" + normalised.encode()).digest()
