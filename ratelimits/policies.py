"""What a request is counted against (A11, T6).

Every request but health checks is counted under the ``default`` policy in the bucket of its
principal: a signed-in user per organisation (``/o/<slug>/``, ``/api/v1/o/<slug>/``), so one
organisation's traffic never uses up another's (T6), and also across all organisations at
``PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR`` times the quotas, so inventing slugs does not
multiply anyone's capacity; anonymous traffic per client network. A bearer credential on the
organisation API names its principal when it verifies without I/O: an access JWT its user
(the same buckets as the user's session), an API token itself (per organisation, and, since
a checksum can be forged, also per network in a generous bearer bucket, so invented tokens
from one network stay bounded before any lookup); a malformed one counts per network.
Public endpoints are counted
a second time under a stricter named policy. The slug is read from the path, without a query:
an unknown one simply gets a bucket of its own (the tenant middleware answers 404).
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from config.network import client_ip
from ratelimits.limiter import Counter, Quota
from tenants.middleware import ORG_PATH, SLUG
from tokens.bearer import BearerRefused, bearer_presented, presented_credential

DEFAULT = "default"
SIGN_IN = "sign-in"
PUBLIC_FORM = "public-form"

# Public endpoints by URL name. Sign-in and its second-factor steps (codes and passkeys, the
# step-up that re-checks a factor, token mode's sign-in) are password and code guessing
# targets; invitation acceptance sends emails and checks codes for people without an account.
ENDPOINT_POLICIES = {
    "login": SIGN_IN,
    "sign-in-second-factor": SIGN_IN,
    "sign-in-passkey-options": SIGN_IN,
    "sign-in-passkey-verify": SIGN_IN,
    "security-step-up": SIGN_IN,
    "security-step-up-passkey-options": SIGN_IN,
    "security-step-up-passkey-verify": SIGN_IN,
    "api-token-sign-in": SIGN_IN,
    "invitation-accept": PUBLIC_FORM,
    # D7: anyone may post an organisation's recruitment and demo-request forms.
    "public-join": PUBLIC_FORM,
    "public-demo": PUBLIC_FORM,
}
# Never limited: load balancers and orchestrators must always reach them.
EXEMPT_URL_NAMES = frozenset({"healthz"})


@dataclass(frozen=True)
class Policy:
    quotas: tuple[Quota, ...]
    # Whether requests pass when Redis cannot be asked (A11: reads yes, sign-in no).
    fail_open: bool


def policy(name: str) -> Policy:
    configured = settings.PALISADE_RATELIMIT_POLICIES[name]
    return Policy(
        quotas=tuple(Quota(limit, seconds) for limit, seconds in configured["quotas"]),
        fail_open=configured["fail_open"],
    )


def client_network(request: HttpRequest) -> str:
    """The client's address; for IPv6 its /64, which one subscriber usually holds whole (so
    walking through the addresses of one's own network does not escape a limit). Requests
    whose address cannot be known share one bucket rather than escaping limits."""
    text = client_ip(request)
    if text is None:
        return "unknown"
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv6Address):
        prefix = int(address) >> 64 << 64
        return str(ipaddress.IPv6Network((prefix, 64)))
    return str(address)


def url_name(request: HttpRequest) -> str | None:
    """The URL's name, to find its policy. Paths inside an organisation are never public
    endpoints nor health checks (the tenant layer refuses anonymous requests to them), so
    the API's hot path is not resolved twice."""
    if ORG_PATH.match(request.path_info):
        return None
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None)).url_name
    except Resolver404:
        return None


@dataclass(frozen=True)
class Principal:
    """Who a request is counted as: ``key`` names the buckets; ``per_organization`` counts it
    per organisation of the path (and, for users, across all of them); ``bearer_network`` is
    the client network of an API token, which is only checksummed so far."""

    key: str
    per_organization: bool = False
    all_organizations: bool = False
    bearer_network: str | None = None


def _bearer_principal(request: HttpRequest) -> Principal | None:
    """The principal of a bearer credential on the organisation API that verifies without I/O
    (``tokens.bearer.presented_credential``, as the tenant middleware checks it); None for
    no credential or a malformed or invalid one (counted as today: per network)."""
    match = ORG_PATH.match(request.path_info)
    if match is None or not match["api"] or not bearer_presented(request):
        return None
    try:
        credential = presented_credential(request)
    except BearerRefused:
        return None
    if credential is None:
        return None
    if credential.access is not None:
        # Signed by us: its user, sharing the buckets of that user's sessions.
        return Principal(
            f"user:{credential.access.user_id}", per_organization=True, all_organizations=True
        )
    # A short hash of the token's digest: the key says nothing a lookup could use.
    token = hashlib.sha256(credential.api_token.digest).hexdigest()[:16]
    return Principal(
        f"token:{token}", per_organization=True, bearer_network=client_network(request)
    )


def principal(request: HttpRequest) -> Principal:
    bearer = _bearer_principal(request)
    if bearer is not None:
        return bearer
    user = request.user
    if user.is_authenticated:
        return Principal(f"user:{user.pk}", per_organization=True, all_organizations=True)
    return Principal(f"net:{client_network(request)}")


@dataclass(frozen=True)
class Bucket:
    """One principal's counters under one policy, at ``factor`` times its quotas."""

    policy: Policy
    key: str
    factor: int = 1
    # How RateLimit-Policy tells this bucket's quotas apart from the organisation's own.
    label: str = ""

    def counters(self) -> list[Counter]:
        return [
            Counter(self.key, Quota(quota.limit * self.factor, quota.seconds))
            for quota in self.policy.quotas
        ]


def buckets_for(request: HttpRequest, endpoint_policy: str | None) -> list[Bucket]:
    default = policy(DEFAULT)
    who = principal(request)
    if who.per_organization:
        match = ORG_PATH.match(request.path_info)
        slug = match["slug"] if match is not None and SLUG.match(match["slug"]) else ""
        # T6: each organisation has buckets of its own; "-" is outside any organisation.
        buckets = [Bucket(default, f"{DEFAULT}:{who.key}:org:{slug or '-'}")]
    else:
        buckets = [Bucket(default, f"{DEFAULT}:{who.key}")]
    if who.all_organizations:
        buckets.append(
            Bucket(
                default,
                f"{DEFAULT}:{who.key}:all",
                settings.PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR,
                'scope="all-organizations"',
            )
        )
    if who.bearer_network is not None:
        # Any checksummed token from this network, counted in the same script call.
        buckets.append(
            Bucket(
                default,
                f"{DEFAULT}:bearer-net:{who.bearer_network}",
                settings.PALISADE_RATELIMIT_BEARER_NETWORK_FACTOR,
                'scope="bearer-network"',
            )
        )
    if endpoint_policy:
        buckets.append(
            Bucket(
                policy(endpoint_policy),
                f"{endpoint_policy}:{who.key}",
                1,
                f'policy="{endpoint_policy}"',
            )
        )
    return buckets
