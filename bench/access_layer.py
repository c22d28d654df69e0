"""What the whole access layer costs a simple API read (A8, A10-A12, A17). Run with
``.venv/bin/python scripts/devstack.py bench bench/access_layer.py``.

Two gunicorns (2 workers each) serve the same 50-site API list:
- full: an API token (checksum, digest lookup, scope, owner's membership and revocation
  generation), the session middlewares, the rate limits (quotas far above the load, so every
  request is counted in Redis and none refused) and an IP allowlist of 20 networks that
  admits the client;
- baseline: the same endpoint with a plain Django session, no rate limits, no session
  middlewares and no allowlist (``bench/settings_plain_session.py``).
CLIENTS threads request as fast as they can for ROUND_SECONDS on one server, then the other,
the order swapping every round; the figure is the median of the rounds' throughput ratios
(target: the full layer keeps at least 0.85 of the baseline).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.update(
    PALISADE_ENV="test",
    PALISADE_DB_CONN_MAX_AGE="600",
    PALISADE_RATELIMIT_ENABLED="1",
    PALISADE_RATELIMIT_DEFAULT="1000000/1,1000000/60,1000000/300",
    PALISADE_RATELIMIT_KEY_PREFIX=f"bench:{os.getpid()}",
)
django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from tenants.context import tenant_context  # noqa: E402
from tenants.ip_allowlist import EntryInput, ip_allowlist_replace  # noqa: E402
from tenants.models import Membership  # noqa: E402
from tests.factories import make_membership, make_organization, make_sites, make_user  # noqa: E402
from tests.processes import gunicorn  # noqa: E402
from tokens.services.api_tokens import api_token_create  # noqa: E402

CLIENTS = 4
ROUNDS = 10
ROUND_SECONDS = 3.0


def get(url: str, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
        assert response.status == 200


def round_rate(url: str, headers: dict[str, str]) -> float:
    deadline = time.monotonic() + ROUND_SECONDS
    start = threading.Barrier(CLIENTS)

    def client(_: int) -> int:
        start.wait()
        done = 0
        while time.monotonic() < deadline:
            get(url, headers)
            done += 1
        return done

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        done = sum(pool.map(client, range(CLIENTS)))
    return done / (time.monotonic() - began)


def main() -> None:
    owner = make_user("owner@bench.example")
    guarded = make_organization("Guarded", "guarded")
    plain = make_organization("Plain", "plain")
    for organization in (guarded, plain):
        make_sites(organization, 50, "Site")
        make_membership(organization, owner, role=Membership.Role.OWNER)
    networks = [EntryInput(cidr=f"10.{n}.0.0/16", label=f"office {n}") for n in range(19)]
    networks.append(EntryInput(cidr="127.0.0.0/8", label="this machine"))
    with tenant_context(guarded):
        ip_allowlist_replace(entries=networks, created_by=owner, actor_ip="127.0.0.1")
        token = api_token_create(
            owner=owner,
            name="bench",
            scopes=["sites:read"],
            expires_at=timezone.now() + timedelta(days=30),
            second_factor_verified=False,
        ).token
    login = Client()
    login.force_login(owner)
    cookie = f"{settings.SESSION_COOKIE_NAME}={login.cookies[settings.SESSION_COOKIE_NAME].value}"
    host = {"Host": settings.PORTAL_HOST}
    variants = {
        "full": (
            dict(os.environ),
            "/api/v1/o/guarded/sites/?page_size=50",
            {**host, "Authorization": f"Bearer {token}"},
        ),
        "baseline": (
            {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_plain_session"},
            "/api/v1/o/plain/sites/?page_size=50",
            {**host, "Cookie": cookie},
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    with ExitStack() as servers:
        urls = {
            name: servers.enter_context(gunicorn(env, workers=2)) + path
            for name, (env, path, _) in variants.items()
        }
        for _ in range(30):
            for name, url in urls.items():
                get(url, variants[name][2])
        for round_number in range(ROUNDS):
            order = list(urls.items())[:: 1 if round_number % 2 == 0 else -1]
            for name, url in order:
                rates[name].append(round_rate(url, variants[name][2]))
    ratios = [full / base for full, base in zip(rates["full"], rates["baseline"], strict=True)]
    print(f"API read, 50 rows, gunicorn 2 workers, {CLIENTS} client threads, {ROUNDS} rounds:")
    for name in variants:
        print(f"  {name:9} {statistics.median(rates[name]):7.1f} req/s median")
    print(
        f"  throughput kept by the full access layer: {statistics.median(ratios):.3f} "
        f"(rounds {min(ratios):.3f}-{max(ratios):.3f}; target >= 0.85)"
    )


if __name__ == "__main__":
    main()
