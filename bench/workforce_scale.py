"""The product at scale (issue 7): an organisation of 5,000 staff and 500,000 shifts, read
through a real server. Run with
``.venv/bin/python scripts/devstack.py bench bench/workforce_scale.py [SHIFTS] [STAFF]``.

Data is bulk-inserted (the services are measured elsewhere; here only reads matter). Then:
1. SQL queries per request for the shifts API list and the rota page, on this organisation
   and on a small one (they must be equal: nothing grows with the data);
2. gunicorn (WORKERS sync workers) serves the shifts API (50 per page, the first page and
   pages further down the cursor) and the rota page for one week to CLIENTS concurrent
   clients for SECONDS each: median and p99 latency and throughput, as the owner (scope
   ``all``) and as a department manager (scope ``department``).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.update(PALISADE_ENV="test", PALISADE_DB_CONN_MAX_AGE="600")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.request_costs import sql_and_redis_per_request  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tenants.models import Membership  # noqa: E402
from tests.factories import (  # noqa: E402
    make_department,
    make_membership,
    make_organization,
    make_site,
    make_user,
)
from tests.processes import gunicorn  # noqa: E402
from workforce.models import Shift  # noqa: E402

SHIFTS = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
STAFF = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
WORKERS = 4
CLIENTS = 50
SECONDS = 15.0
BATCH = 10_000
UNUSABLE = make_password(None)  # bulk-made staff never sign in


def build(slug: str, staff: int, shifts: int):
    organization = make_organization(f"Scale {slug}", slug)
    regions = [make_department(organization, f"Region {r}") for r in range(5)]
    teams = [
        make_department(organization, f"Team {r}.{t}", parent=region)
        for r, region in enumerate(regions)
        for t in range(4)
    ]
    sites = [make_site(organization, f"Site {n:03d}", department=teams[n % 20]) for n in range(100)]
    owner, manager = make_user(f"owner@{slug}.example"), make_user(f"manager@{slug}.example")
    make_membership(organization, owner, role="owner")
    make_membership(organization, manager, role="manager", department=regions[0])
    users = User.objects.bulk_create(
        User(email=f"staff{n:05d}@{slug}.example", password=UNUSABLE, full_name=f"Staff {n:05d}")
        for n in range(staff)
    )
    # One shift starting every 10 minutes (1,008 a week), today in the middle of them all.
    start = timezone.now() - timedelta(minutes=10 * shifts // 2)
    with tenant_context(organization):
        members = Membership.objects.bulk_create(
            Membership(organization=organization, user=user, role="staff", department=teams[n % 20])
            for n, user in enumerate(users)
        )
        for first in range(0, shifts, BATCH):
            Shift.objects.bulk_create(
                Shift(
                    organization=organization,
                    site=sites[n % len(sites)],
                    department_id=sites[n % len(sites)].department_id,
                    member=members[n % len(members)] if members else None,
                    starts_at=start + timedelta(minutes=10 * n),
                    ends_at=start + timedelta(minutes=10 * n + 480),
                    bill_rate=Decimal("25.00"),
                    pay_rate=Decimal("15.00"),
                )
                for n in range(first, min(first + BATCH, shifts))
            )
    # Statistics as autovacuum would have them; only the owner may gather them.
    with connections["owner"].cursor() as cursor:
        cursor.execute("ANALYZE")
    return organization, owner, manager


def paths(slug: str) -> dict[str, str]:
    found = {"shifts API, first page": f"/api/v1/o/{slug}/shifts/?page_size=50"}
    try:
        week = timezone.localdate().strftime("%G-W%V")
        found["rota, one week"] = reverse("rota", kwargs={"org_slug": slug}) + f"?week={week}"
    except NoReverseMatch:
        print("(no rota page in this build)")
    return found


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def load(url: str, cookie: str) -> tuple[list[float], float]:
    headers = {"Host": settings.PORTAL_HOST, "Cookie": cookie}
    deadline = time.monotonic() + SECONDS
    start = threading.Barrier(CLIENTS)

    def client(_: int) -> list[float]:
        start.wait()
        latencies = []
        while time.monotonic() < deadline:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
                assert response.status == 200
            latencies.append(time.perf_counter() - began)
        return latencies

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        latencies = [value for values in pool.map(client, range(CLIENTS)) for value in values]
    return latencies, len(latencies) / (time.monotonic() - began)


def main() -> None:
    began = time.monotonic()
    _, owner, manager = build("scale", STAFF, SHIFTS)
    _, small_owner, _ = build("small", 10, 10)
    print(f"{STAFF:,} staff and {SHIFTS:,} shifts loaded in {time.monotonic() - began:.0f} s")
    for name, path in paths("scale").items():
        small = sql_and_redis_per_request(small_owner, path.replace("/scale/", "/small/"))[0]
        large = sql_and_redis_per_request(owner, path)[0]
        print(f"  {name}: {small} queries with 10 shifts, {large} with {SHIFTS:,}")
    with gunicorn(dict(os.environ), workers=WORKERS) as base:
        for who, user in (("owner", owner), ("manager", manager)):
            cookie = session_cookie(user)
            for name, path in paths("scale").items():
                load(base + path, cookie)  # warm-up round
                latencies, rate = load(base + path, cookie)
                latencies.sort()
                p99 = latencies[int(len(latencies) * 0.99)]
                print(
                    f"  {who:7} {name:24} p50 {statistics.median(latencies) * 1000:6.1f} ms  "
                    f"p99 {p99 * 1000:6.1f} ms  {rate:6.1f} req/s  ({CLIENTS} clients, "
                    f"{WORKERS} workers)"
                )


if __name__ == "__main__":
    main()
