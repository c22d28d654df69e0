"""What a request is counted against (A11, T6).

Every request but health checks is counted under the ``default`` policy in the bucket of its
principal: a signed-in user per organisation (``/o/<slug>/``, ``/api/v1/o/<slug>/``), so one
organisation's traffic never uses up another's (T6), and also across all organisations at
``PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR`` times the quotas, so inventing slugs does not
multiply anyone's capacity; anonymous traffic per client network. Public endpoints are counted
a second time under a stricter named policy. The slug is read from the path, without a query:
an unknown one simply gets a bucket of its own (the tenant middleware answers 404).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from config.network import client_ip
from ratelimits.limiter import Counter, Quota
from tenants.middleware import ORG_PATH, SLUG

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


def principal(request: HttpRequest) -> str:
    user = request.user
    if user.is_authenticated:
        return f"user:{user.pk}"
    return f"net:{client_network(request)}"


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
    if request.user.is_authenticated:
        match = ORG_PATH.match(request.path_info)
        slug = match["slug"] if match is not None and SLUG.match(match["slug"]) else ""
        buckets = [
            # T6: each organisation has buckets of its own; "-" is outside any organisation.
            Bucket(default, f"{DEFAULT}:{who}:org:{slug or '-'}"),
            Bucket(
                default,
                f"{DEFAULT}:{who}:all",
                settings.PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR,
                'scope="all-organizations"',
            ),
        ]
    else:
        buckets = [Bucket(default, f"{DEFAULT}:{who}")]
    if endpoint_policy:
        buckets.append(
            Bucket(
                policy(endpoint_policy),
                f"{endpoint_policy}:{who}",
                1,
                f'policy="{endpoint_policy}"',
            )
        )
    return buckets
