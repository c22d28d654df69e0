"""Breached-password check (A1) through the Have I Been Pwned range API.

k-anonymity: only the first five hex digits of the password's SHA-1 leave the server; the
service answers with every suffix under that prefix (padded, so the answer's size says
nothing) and the comparison happens here. Django's own validators cover length, similarity
and its list of 20,000 common (breached) passwords offline.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from urllib.error import URLError

from django.conf import settings
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)


class BreachedPasswordValidator:
    def __init__(self, timeout_seconds: float = 2.0) -> None:
        self.timeout_seconds = timeout_seconds

    def validate(self, password: str, user=None) -> None:
        base_url = settings.PALISADE_HIBP_URL
        if not base_url:
            return
        digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("PALISADE_HIBP_URL must be an http(s) URL.")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            f"{base_url.rstrip('/')}/range/{prefix}",
            headers={"Add-Padding": "true", "User-Agent": "Palisade password check"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                body = response.read().decode("ascii", errors="replace")
        except (URLError, TimeoutError, OSError) as error:
            if settings.PALISADE_HIBP_FAIL_CLOSED:
                raise ValidationError(
                    "We could not check this password against known breaches just now. "
                    "Try again in a minute.",
                    code="password_breach_check_unavailable",
                ) from error
            logger.warning("breached-password check unavailable: %s", error)
            return
        for line in body.splitlines():
            candidate, _, count = line.strip().partition(":")
            if candidate == suffix and count.strip() not in ("", "0"):
                raise ValidationError(
                    "This password has appeared in a data breach, so attackers try it first. "
                    "Choose another.",
                    code="password_breached",
                )

    def get_help_text(self) -> str:
        return "Your password must not appear in known data breaches."
