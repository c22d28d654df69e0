"""How fast a revocation reaches a session in another process (A10), and what the session
checks cost per request (A9, A10). Run with
``.venv/bin/python scripts/devstack.py bench bench/revocation_delay.py``.

Figures printed:
1. revocation delay: a member's session is served by a real gunicorn; this process changes
   the member's role (``membership_change_role``, committed) and then polls with that session
   until it is refused. Delay = from the moment the service call returned (committed) to
   the refusal; also from the moment the call started. Plus how many polls it took.
2. per-request cost of the session checks: the same org API request through two gunicorns,
   with the session middlewares and without them (``bench/settings_without_session_checks.py``),
   requests alternating between the two; and the queries per request in both.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench.request_costs import sql_and_redis_per_request  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tenants.models import Membership  # noqa: E402
from tenants.services import membership_change_role  # noqa: E402
from tests.factories import make_membership, make_organization, make_sites, make_user  # noqa: E402
from tests.processes import gunicorn  # noqa: E402

ROUNDS = 200
LATENCY_ROUNDS = 500
API = "/api/v1/o/bench/sites/?page_size=50"
ROLES = [Membership.Role.MANAGER, Membership.Role.STAFF]
WITHOUT_SESSION_CHECKS = "bench.settings_without_session_checks"


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"p50 {p50 * 1000:.2f} ms  p99 {p99 * 1000:.2f} ms  max {samples[-1] * 1000:.2f} ms"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def status_of(base_url: str, cookie: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        base_url + API, headers={"Host": settings.PORTAL_HOST, "Cookie": cookie}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def revocation_delay(base_url: str, organization, member) -> None:
    from_commit, from_call, polls_needed = [], [], []
    for round_number in range(ROUNDS):
        member.refresh_from_db()
        cookie = session_cookie(member)
        assert status_of(base_url, cookie) == 200
        with tenant_context(organization):
            membership = Membership.objects.get(user=member)
            started = time.perf_counter()
            membership_change_role(membership=membership, role=ROLES[round_number % 2])
        committed = time.perf_counter()
        polls = 0
        while True:
            polls += 1
            if status_of(base_url, cookie) == 401:
                break
        refused = time.perf_counter()
        from_commit.append(refused - committed)
        from_call.append(refused - started)
        polls_needed.append(polls)
    print(f"revocation delay over {ROUNDS} role changes, session served by gunicorn:")
    print(f"  from commit to refusal:       {percentiles(from_commit)}")
    print(f"  from service call to refusal: {percentiles(from_call)}")
    print(f"  polls until refused: max {max(polls_needed)} (1 = the very next request)")


def request_latencies(environments: list[dict[str, str]], cookie: str) -> list[list[float]]:
    """Latency of the same request on one gunicorn per environment, requests alternating
    between them so that load on the machine hits every variant alike."""
    with ExitStack() as servers:
        base_urls = [servers.enter_context(gunicorn(env)) for env in environments]
        for _ in range(20):
            for base_url in base_urls:
                status_of(base_url, cookie)
        samples: list[list[float]] = [[] for _ in base_urls]
        for _ in range(LATENCY_ROUNDS):
            for base_url, variant in zip(base_urls, samples, strict=True):
                start = time.perf_counter()
                assert status_of(base_url, cookie) == 200
                variant.append(time.perf_counter() - start)
        return samples


def check_cost(environment: dict[str, str], user) -> None:
    from bench import settings_without_session_checks as without

    cookie = session_cookie(user)
    with_checks, without_checks = request_latencies(
        [environment, {**environment, "DJANGO_SETTINGS_MODULE": WITHOUT_SESSION_CHECKS}], cookie
    )
    with_queries, with_redis = sql_and_redis_per_request(user, API)
    with override_settings(MIDDLEWARE=without.MIDDLEWARE):
        without_queries, without_redis = sql_and_redis_per_request(user, API)
    added = statistics.median(with_checks) - statistics.median(without_checks)
    print(f"org API request through gunicorn, {LATENCY_ROUNDS} requests:")
    print(
        f"  with the session checks:    {percentiles(with_checks)}  "
        f"({with_queries} queries, {with_redis} Redis commands)"
    )
    print(
        f"  without them:               {percentiles(without_checks)}  "
        f"({without_queries} queries, {without_redis} Redis commands)"
    )
    print(f"  added at the median: {added * 1000:.3f} ms")


def main() -> None:
    organization = make_organization("Bench", "bench")
    make_sites(organization, 50, "Site")
    member = make_user("member@bench.example")
    make_membership(organization, member, role=ROLES[1])
    steady = make_user("steady@bench.example")
    make_membership(organization, steady)
    environment = {**os.environ, "PALISADE_DB_CONN_MAX_AGE": "600", "PALISADE_ENV": "test"}
    with gunicorn(environment) as base_url:
        revocation_delay(base_url, organization, member)
    check_cost(environment, steady)


if __name__ == "__main__":
    main()
