"""Creating, using and revoking organisation API tokens (A17). Each is an audit event in the
organisation's log: created, first used from an address, refused after its end, revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_event_record
from tenants.context import current_organization_id
from tenants.models import Organization, SecurityPolicy
from tokens.format import new_token, parse_token
from tokens.models import ApiToken
from tokens.scopes import SCOPES

# last-used is written at most this often per token (and whenever the address is new).
LAST_USED_WRITE_INTERVAL = timedelta(seconds=60)
KNOWN_IPS_KEPT = 50


@dataclass(frozen=True)
class IssuedToken:
    api_token: ApiToken
    # The token itself: returned to its creator once and never stored.
    token: str


def _clean_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scopes: {', '.join(unknown)}."})
    if not scopes:
        raise ValidationError({"scopes": "Give the token at least one scope."})
    return sorted(set(scopes))


def _check_expiry(expires_at: datetime, now: datetime) -> None:
    max_days = SecurityPolicy.objects.values_list("api_token_max_days", flat=True).get()
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if expires_at > now + timedelta(days=max_days):
        raise ValidationError(
            {"expires_at": f"This organisation allows API tokens of at most {max_days} days."}
        )


@transaction.atomic
def api_token_create(
    *,
    owner: User,
    name: str,
    scopes: list[str],
    expires_at: datetime,
    second_factor_verified: bool,
) -> IssuedToken:
    """A new token acting as ``owner`` in the current organisation, within ``scopes``, until
    ``expires_at`` (at most the organisation's ``api_token_max_days`` away)."""
    now = timezone.now()
    scopes = _clean_scopes(scopes)
    _check_expiry(expires_at, now)
    organization = Organization.objects.get(pk=current_organization_id())
    token = new_token(organization.short_id)
    presented = parse_token(token)
    api_token = ApiToken(
        name=name.strip(),
        owner=owner,
        scopes=scopes,
        hint=presented.hint,
        digest=presented.digest,
        owner_session_generation=owner.session_generation,
        second_factor_verified=second_factor_verified,
        created_at=now,
        expires_at=expires_at,
    )
    api_token.full_clean(exclude=["owner", "revoked_by"])
    api_token.save()
    audit_event_record(
        action="api_token.created",
        entity=api_token,
        changes={
            "name": [None, api_token.name],
            "owner": [None, owner.pk],
            "scopes": [None, scopes],
            "expires_at": [None, expires_at.isoformat()],
        },
    )
    return IssuedToken(api_token=api_token, token=token)


@transaction.atomic
def api_token_revoke(*, api_token: ApiToken, by: User) -> ApiToken:
    """Ends the token now (its owner, or an organisation owner from the inventory)."""
    if api_token.revoked_at is not None:
        return api_token
    api_token.revoked_at = timezone.now()
    api_token.revoked_by = by
    api_token.save(update_fields=["revoked_at", "revoked_by"])
    audit_event_record(
        action="api_token.revoked",
        entity=api_token,
        changes={"revoked_at": [None, api_token.revoked_at.isoformat()]},
    )
    return api_token


def api_token_use_needs_recording(api_token: ApiToken, ip: str | None, now: datetime) -> bool:
    """Whether this use must be written: from a new address, or last-used is a minute old."""
    return (ip is not None and ip not in api_token.known_ips) or (
        api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_WRITE_INTERVAL
    )


@transaction.atomic
def api_token_use_record(*, api_token_id: int, ip: str | None) -> None:
    """Last used time and address; a first use from an address is an audit event. The row
    is locked, so two requests from one new address record it once."""
    api_token = ApiToken.objects.select_for_update().get(pk=api_token_id)
    api_token.last_used_at = timezone.now()
    api_token.last_used_ip = ip
    if ip is not None and ip not in api_token.known_ips:
        api_token.known_ips = [*api_token.known_ips, ip][-KNOWN_IPS_KEPT:]
        audit_event_record(
            action="api_token.used_from_new_ip", entity=api_token, changes={"ip": [None, ip]}
        )
    api_token.save(update_fields=["last_used_at", "last_used_ip", "known_ips"])


def api_token_refused_record(*, api_token: ApiToken, reason: str) -> None:
    """A token that has ended was presented (it may be a leaked one, still in use)."""
    audit_event_record(
        action="api_token.refused", entity=api_token, changes={"reason": [None, reason]}
    )
