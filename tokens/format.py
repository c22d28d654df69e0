"""The API token format (A17): ``pal_<organisation short id>_<secret><checksum>``.

- ``pal_`` and the organisation's short id let secret scanners (and people) recognise a
  Palisade token and its organisation; the middleware refuses a token on another
  organisation's URL from the short id alone, before any lookup.
- The secret is 32 base62 characters from ``secrets`` (190 bits).
- The checksum is the CRC32 of everything before it, in 6 base62 characters (GitHub's token
  scheme): a scanner can tell a real token from a look-alike without asking us, and a
  mistyped or made-up token is refused here, before any database query.

Only ``token_digest`` of a token is stored. The secret has 190 bits of entropy, so a fast
hash is right (a slow one protects low-entropy passwords); lookup is by the digest through a
unique index, so no comparison in Python depends on the secret.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib
from dataclasses import dataclass

from tenants.models import SHORT_ID_ALPHABET, SHORT_ID_LENGTH

PREFIX = "pal_"
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
# Characters of the secret kept for display ("pal_k3x9m2qa_Xy7Q..."): 24 of its 190 bits.
HINT_SECRET_CHARS = 4
TOKEN_LENGTH = len(PREFIX) + SHORT_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
# For secret scanners too (docs/architecture.md quotes it).
TOKEN_PATTERN = re.compile(
    rf"{PREFIX}(?P<short_id>[{re.escape(SHORT_ID_ALPHABET)}]{{{SHORT_ID_LENGTH}}})_"
    rf"(?P<secret>[0-9A-Za-z]{{{SECRET_LENGTH}}})(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    # CRC32 < 2**32 < 62**6, so six characters always hold it.
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def token_digest(token: str) -> bytes:
    # The whole token, so the digest also binds the organisation's short id.
    return hashlib.sha256(token.encode("ascii")).digest()


@dataclass(frozen=True)
class PresentedToken:
    """A well-formed token with a correct checksum; whether it exists is not known yet."""

    organization_short_id: str
    digest: bytes
    hint: str


def token_hint(token: str) -> str:
    return token[: len(PREFIX) + SHORT_ID_LENGTH + 1 + HINT_SECRET_CHARS]


def new_token(organization_short_id: str) -> str:
    secret = "".join(secrets.choice(BASE62) for _ in range(SECRET_LENGTH))
    body = f"{PREFIX}{organization_short_id}_{secret}"
    return body + checksum(body)


def parse_token(raw: str) -> PresentedToken | None:
    """The token if it is well-formed and its checksum is right, else None. No I/O."""
    if len(raw) != TOKEN_LENGTH:
        return None
    match = TOKEN_PATTERN.fullmatch(raw)
    if match is None or checksum(raw[:-CHECKSUM_LENGTH]) != match["checksum"]:
        return None
    return PresentedToken(
        organization_short_id=match["short_id"], digest=token_digest(raw), hint=token_hint(raw)
    )
