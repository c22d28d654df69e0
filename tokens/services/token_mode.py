"""Token mode for SPA and mobile clients (A8): sign-in returns a 60-second access JWT and
sets a 7-day refresh token (HttpOnly cookie), which every refresh rotates.

A refresh token is used once. A used token that comes back means two parties hold it (the
client and a thief, or a thief and the client): the whole family is revoked, so every holder
must sign in again, and the replay is an audit event. A revocation of the person (A10)
raises their ``session_generation``: the family's next refresh fails and is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.context import Actor, user_actor
from audit.services import record_in_each_organisation
from tokens.access import ACCESS_TOKEN_LIFETIME, access_token_issue
from tokens.models import RefreshToken

REFRESH_TOKEN_LIFETIME = timedelta(days=7)
# base64url of 32 random bytes is 43 characters; anything much longer is not ours.
MAX_REFRESH_TOKEN_LENGTH = 64
EndReason = RefreshToken.EndReason


class RefreshRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int
    refresh_expires_at: datetime


def _digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def _issue(
    user: User, *, family_id: uuid.UUID, expires_at: datetime, second_factor: str
) -> TokenPair:
    refresh = secrets.token_urlsafe(32)
    RefreshToken.objects.create(
        user=user,
        family_id=family_id,
        digest=_digest(refresh),
        session_generation=user.session_generation,
        second_factor=second_factor,
        expires_at=expires_at,
    )
    access = access_token_issue(
        user_id=user.pk,
        session_generation=user.session_generation,
        family_id=family_id,
        second_factor=bool(second_factor),
    )
    return TokenPair(
        access=access,
        refresh=refresh,
        expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        refresh_expires_at=expires_at,
    )


@transaction.atomic
def token_mode_sign_in(*, user: User, second_factor: str = "") -> TokenPair:
    """A person who proved their password (and ``second_factor``, the kind, when they have
    one) starts a new family. Recorded like a browser sign-in, in each of their
    organisations."""
    family_id = uuid.uuid4()
    pair = _issue(
        user,
        family_id=family_id,
        expires_at=timezone.now() + REFRESH_TOKEN_LIFETIME,
        second_factor=second_factor,
    )
    changes = {"mode": [None, "token"], "family": [None, str(family_id)]}
    if second_factor:
        changes["second_factor"] = [None, second_factor]
    record_in_each_organisation(user, "auth.signed_in", user_actor(user), changes=changes)
    return pair


def _revoke_family(family_id: uuid.UUID, reason: str) -> int:
    return RefreshToken.objects.filter(family_id=family_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason
    )


def refresh_token_rotate(*, raw: str) -> TokenPair:
    """The next pair of the presented token's family; RefreshRefused if it cannot continue.
    A refusal that revokes the family commits before it is raised."""
    if not raw or len(raw) > MAX_REFRESH_TOKEN_LENGTH:
        raise RefreshRefused("invalid")
    with transaction.atomic():
        # Locked: of two requests with the same token, the second waits and finds it used.
        presented = (
            RefreshToken.objects.select_for_update()
            .select_related("user")
            .filter(digest=_digest(raw))
            .first()
        )
        refusal = _refusal(presented)
        if refusal is None:
            presented.used_at = timezone.now()
            presented.save(update_fields=["used_at"])
            return _issue(
                presented.user,
                family_id=presented.family_id,
                expires_at=presented.expires_at,
                second_factor=presented.second_factor,
            )
    raise RefreshRefused(refusal)


def _refusal(presented: RefreshToken | None) -> str | None:
    """Why the presented token cannot be rotated, revoking its family where that is due."""
    if presented is None:
        return "invalid"
    if presented.revoked_at is not None:
        return "revoked"
    user = presented.user
    if presented.used_at is not None:
        revoked = _revoke_family(presented.family_id, EndReason.REUSED)
        record_in_each_organisation(
            user,
            "auth.refresh_token_reused",
            Actor(type="anonymous"),
            changes={
                "family": [None, str(presented.family_id)],
                "tokens_revoked": [None, revoked],
            },
        )
        return "reused"
    if not user.is_active or presented.session_generation != user.session_generation:
        _revoke_family(presented.family_id, EndReason.REVOKED)
        return "revoked"
    if presented.expires_at <= timezone.now():
        return "expired"
    return None


@transaction.atomic
def token_mode_sign_out(*, raw: str) -> None:
    """Ends the family of the presented refresh token (sign-out in token mode)."""
    if not raw or len(raw) > MAX_REFRESH_TOKEN_LENGTH:
        return
    presented = RefreshToken.objects.select_related("user").filter(digest=_digest(raw)).first()
    if presented is None or presented.revoked_at is not None:
        return
    _revoke_family(presented.family_id, EndReason.SIGNED_OUT)
    record_in_each_organisation(
        presented.user,
        "auth.signed_out",
        user_actor(presented.user),
        changes={"mode": [None, "token"], "family": [None, str(presented.family_id)]},
    )


def refresh_tokens_delete_expired() -> int:
    """Deletes the rows of families past their end (beat job). Spent tokens are kept until
    then, since a replay is only recognised while its row exists. Returns how many went."""
    deleted, _ = RefreshToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
