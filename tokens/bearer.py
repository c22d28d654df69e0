"""Bearer credentials on the organisation API (``/api/v1/o/<slug>/``): API tokens (A17) and
token-mode access tokens (A8), for ``tenants.middleware.TenantMiddleware``.

In two steps, so that nothing about a bad credential reaches the database:
1. ``presented_credential`` (no I/O) parses ``Authorization: Bearer ...``: an API token's
   checksum, or an access token's signature and expiry. A malformed header is a 400, a bad
   credential a 401 (RFC 6750), before the organisation is even looked up. An API token
   names its organisation: on another organisation's URL it is the same 404 as an unknown
   organisation.
2. ``bearer_sign_in``, inside the organisation's context (the token table has RLS), finds the
   API token and its owner in one query, or the access token's user, checks that they are
   still valid, and makes that user the request's user. The tenant middleware then checks
   the user's active membership exactly as for a session, so a credential never outlives or
   exceeds its user's access.

A request that presents a bearer credential is authenticated by it alone: no session, no
CSRF cookie (nothing a browser sends by itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from accounts.models import User
from audit.context import Actor, Origin, acting_as, user_actor
from config.network import client_ip
from tenants.models import Organization
from tokens.access import AccessClaims, AccessTokenRefused, access_token_claims
from tokens.format import PREFIX, PresentedToken, parse_token
from tokens.models import ApiToken
from tokens.selectors import api_token_presented
from tokens.services.api_tokens import (
    api_token_refused_record,
    api_token_use_needs_recording,
    api_token_use_record,
)

# RFC 6750 section 2.1: "Bearer" b64token. Longer than any credential of ours is refused
# unparsed (an access JWT is about 300 characters).
AUTHORIZATION = re.compile(r"Bearer (?P<credential>[A-Za-z0-9\-._~+/]+=*)")
MAX_AUTHORIZATION_LENGTH = 1024


_ENDED = {
    ApiToken.Status.EXPIRED: "This API token has expired.",
    ApiToken.Status.REVOKED: "This API token has been revoked.",
    ApiToken.Status.ENDED: "This API token ended when its owner's access changed.",
}


class BearerRefused(Exception):
    """The request's bearer credential is refused; ``response()`` says why (RFC 6750)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> JsonResponse:
        response = JsonResponse(
            {"detail": self.description, "code": self.error}, status=self.status
        )
        response["WWW-Authenticate"] = f'Bearer realm="api", error="{self.error}"'
        return response


def _malformed() -> BearerRefused:
    return BearerRefused(400, "invalid_request", "Send the credential as 'Bearer <token>'.")


def _invalid(description: str = "The token is not valid.") -> BearerRefused:
    return BearerRefused(401, "invalid_token", description)


@dataclass(frozen=True)
class BearerCredential:
    """A credential that passed every check possible without the database."""

    api_token: PresentedToken | None = None
    access: AccessClaims | None = None

    def admits(self, organization: Organization) -> bool:
        """An API token works only on its own organisation's URLs."""
        return self.api_token is None or (
            self.api_token.organization_short_id == organization.short_id
        )


@dataclass(frozen=True)
class BearerPrincipal:
    """Who a bearer request acts as: ``request.bearer`` and DRF's ``request.auth``."""

    user: User
    api_token: ApiToken | None
    second_factor_verified: bool

    def actor(self, role: str) -> Actor:
        """The audit actor (L1): an API token is its own kind of actor, naming its owner."""
        if self.api_token is None:
            return user_actor(self.user, role)
        return Actor(
            type="api_token",
            id=str(self.api_token.pk),
            label=f"{self.api_token.name} ({self.user.email})"[:254],
            role=role,
        )


def bearer_presented(request: HttpRequest) -> bool:
    return "HTTP_AUTHORIZATION" in request.META


def presented_credential(request: HttpRequest) -> BearerCredential | None:
    """The request's bearer credential checked without I/O; None when it presents none.

    Checked once per request: the rate limits (A11) and the tenant middleware both ask."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    checked = getattr(request, "_bearer_checked", None)
    if checked is None or checked[0] != header:
        try:
            checked = (header, _checked_credential(header))
        except BearerRefused as refused:
            checked = (header, refused)
        request._bearer_checked = checked
    if isinstance(checked[1], BearerRefused):
        raise checked[1]
    return checked[1]


def _checked_credential(header: str) -> BearerCredential:
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        raise _invalid()
    match = AUTHORIZATION.fullmatch(header)
    if match is None:
        raise _malformed()
    raw = match["credential"]
    if raw.startswith(PREFIX):
        presented = parse_token(raw)
        if presented is None:
            raise _invalid()
        return BearerCredential(api_token=presented)
    try:
        return BearerCredential(access=access_token_claims(raw))
    except AccessTokenRefused as refused:
        if refused.reason == "expired":
            raise _invalid("The access token has expired; refresh it.") from refused
        raise _invalid() from refused


def bearer_sign_in(request: HttpRequest, credential: BearerCredential) -> BearerPrincipal:
    """Inside the organisation's context: the principal, made the request's user."""
    if credential.api_token is not None:
        principal = _api_token_principal(request, credential.api_token)
    else:
        principal = _access_principal(credential.access)
    user = principal.user
    # What django-otp's middleware gives session users: the organisation's second-factor
    # rule (A4) reads it.
    user.is_verified = lambda: principal.second_factor_verified
    request.user = user
    request.bearer = principal
    return principal


def _access_principal(claims: AccessClaims) -> BearerPrincipal:
    user = User.objects.filter(pk=claims.user_id).first()
    if user is None or not user.is_active or user.session_generation != claims.session_generation:
        # A10: revoked since the token was issued.
        raise _invalid("Your session has ended. Please sign in again.")
    return BearerPrincipal(user=user, api_token=None, second_factor_verified=claims.second_factor)


def _api_token_principal(request: HttpRequest, presented: PresentedToken) -> BearerPrincipal:
    api_token = api_token_presented(presented)
    if api_token is None:
        raise _invalid()
    status = api_token.status()
    if status != ApiToken.Status.ACTIVE:
        origin = Origin(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
        with acting_as(Actor(type="anonymous"), origin):
            api_token_refused_record(api_token=api_token, reason=status.value)
        raise _invalid(_ENDED[status])
    ip = client_ip(request)
    if api_token_use_needs_recording(api_token, ip, timezone.now()):
        # A durable write: recorded even when the request itself is refused and rolled back.
        request.durable_writes.append(lambda: _record_use(request, api_token, ip))
    return BearerPrincipal(
        user=api_token.owner,
        api_token=api_token,
        second_factor_verified=api_token.second_factor_verified,
    )


def _record_use(request: HttpRequest, api_token: ApiToken, ip: str | None) -> None:
    membership = getattr(request, "membership", None)
    actor = request.bearer.actor(membership.role if membership is not None else "")
    origin = Origin(
        ip=ip,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        request_id=getattr(request, "request_id", ""),
    )
    with acting_as(actor, origin):
        api_token_use_record(api_token_id=api_token.pk, ip=ip)
