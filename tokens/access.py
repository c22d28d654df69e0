"""Token-mode access tokens (A8): JWTs that live 60 seconds.

HS256 with a key derived from ``SECRET_KEY`` by HKDF for this one purpose, so the key signs
nothing else and needs no configuration of its own. Claims: ``sub`` (the user), ``gen`` (their
``session_generation`` at sign-in, A10), ``fam`` (the refresh family), ``amr`` (RFC 8176: "pwd",
plus "mfa" when a second factor was verified), and the usual ``iss``, ``aud``, ``iat``,
``exp``. The organisation is not a claim: it comes from the URL and the user's membership is
checked there, as for a session (T5).

Every use loads the user (as a session does) and compares ``gen``: a revocation refuses the
user's access tokens on their next request, and their next refresh fails; 60 seconds bound
what a stolen access token is worth on its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

ACCESS_TOKEN_LIFETIME = timedelta(seconds=60)
ALGORITHM = "HS256"
ISSUER = "palisade"
AUDIENCE = "palisade-api"
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "gen", "fam", "amr"]


@lru_cache(maxsize=4)
def _signing_key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"palisade access tokens v1"
    ).derive(secret_key.encode())


class AccessTokenRefused(Exception):
    """The access token is not valid (malformed, tampered with, expired or not ours)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_generation: int
    family_id: uuid.UUID
    second_factor: bool


def access_token_issue(
    *, user_id: int, session_generation: int, family_id: uuid.UUID, second_factor: bool
) -> str:
    now = timezone.now()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp()),
        "gen": session_generation,
        "fam": str(family_id),
        "amr": ["pwd", "mfa"] if second_factor else ["pwd"],
    }
    return jwt.encode(claims, _signing_key(settings.SECRET_KEY), algorithm=ALGORITHM)


def access_token_claims(raw: str) -> AccessClaims:
    """The claims of a valid access token; AccessTokenRefused otherwise. No I/O."""
    try:
        claims = jwt.decode(
            raw,
            _signing_key(settings.SECRET_KEY),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as error:
        raise AccessTokenRefused("expired") from error
    except jwt.InvalidTokenError as error:
        raise AccessTokenRefused("invalid") from error
    try:
        return AccessClaims(
            user_id=int(claims["sub"]),
            session_generation=int(claims["gen"]),
            family_id=uuid.UUID(str(claims["fam"])),
            second_factor="mfa" in claims["amr"],
        )
    except (TypeError, ValueError) as error:
        raise AccessTokenRefused("invalid") from error
