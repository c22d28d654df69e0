"""The product at scale (issue 7): an organisation of 5,000 staff and 500,000 shifts, read
through a real server. Run with
``.venv/bin/python scripts/devstack.py bench bench/workforce_scale.py [SHIFTS] [STAFF]``.

Data is bulk-inserted (the services are measured elsewhere; here only reads matter). Then:
1. SQL queries per request for the shifts API list and the rota page, on this organisation
   and on a small one (they must be equal: nothing grows with the data);
2. gunicorn (WORKERS sync workers) serves the shifts API (50 per page) and the rota page
   for one week to one client and to CLIENTS concurrent clients (wrk, each client sending
   its next request when the last is answered) for SECONDS each: median and p99 latency and
   throughput, as the owner (scope ``all``) and as a department manager (scope
   ``department``). With one client the latency is the cost of a request; with CLIENTS it
   includes the wait for a worker, about CLIENTS / throughput. The CPU time the gunicorn and
   PostgreSQL processes used per request says where a saturated machine spends it.
3. The same CLIENTS, each due to send a request every PACED_INTERVAL seconds (a steady
   CLIENTS / PACED_INTERVAL requests a second): median and p99 latency from when each
   request was due.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

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
# Paced clients: each is due to send a request every PACED_INTERVAL seconds.
PACED_INTERVAL = 1.0
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
    # Statistics and visibility maps as autovacuum would leave them (and so autovacuum does
    # not start on the new rows during the measurements); only the owner may vacuum.
    with connections["owner"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
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


def wrk(url: str, cookie: str, connections: int) -> dict[str, float]:
    """``connections`` clients, each sending its next request as soon as the last is answered,
    for SECONDS. wrk (C, event loop) is the load generator so the clients cost the 2 vCPUs
    next to nothing; Python threads would compete with the server for them."""
    command = [
        "wrk", "--latency", "-t", str(min(2, connections)), "-c", str(connections),
        "-d", f"{SECONDS:.0f}s", "--timeout", "30s",
        "-H", f"Host: {settings.PORTAL_HOST}", "-H", f"Cookie: {cookie}", url,
    ]  # fmt: skip
    report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "Non-2xx" not in report and "Socket errors" not in report, report
    figures = {
        f"p{percentile}": _milliseconds(value)
        for percentile, value in re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", report, re.MULTILINE)
    }
    figures["rate"] = float(re.search(r"Requests/sec:\s+([\d.]+)", report)[1])
    return figures


def paced(url: str, cookie: str, clients: int, interval: float) -> dict[str, float]:
    """``clients`` clients that each send a request every ``interval`` seconds (staggered):
    the latency a steady load of clients / interval requests a second sees. A client whose
    answer comes late sends its next request as soon as it has it, and latency is measured
    from when each request was due, so a slow answer also counts the wait it caused (no
    coordinated omission)."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    headers = {"Host": settings.PORTAL_HOST, "Cookie": cookie}
    began = time.monotonic() + 0.5
    latencies: list[float] = []

    def client(number: int) -> None:
        due = began + interval * number / clients
        while due < began + SECONDS:
            time.sleep(max(0.0, due - time.monotonic()))
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            connection.close()
            latencies.append(time.monotonic() - due)  # list.append is atomic under the GIL
            due += interval

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "rate": len(latencies) / SECONDS,
    }


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the gunicorn processes and by PostgreSQL's, from /proc: where
    a request's cost goes when the machine is saturated."""
    used = {"gunicorn": 0.0, "postgres": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text, command = stat.read_text(), (stat.parent / "cmdline").read_bytes()
        except OSError:  # the process ended meanwhile
            continue
        name, fields = text.split("(", 1)[1].rsplit(")", 1)
        kind = "gunicorn" if b"gunicorn" in command else name
        if kind in used:
            fields = fields.split()
            # utime and stime, fields 14 and 15 of proc(5), in clock ticks.
            used[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


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
                # Warm-up, and a drain: requests the last run's clients left queued are
                # answered before anything is measured.
                wrk(base + path, cookie, 1)
                for clients in (1, CLIENTS):
                    before = cpu_seconds()
                    figures = wrk(base + path, cookie, clients)
                    after, served = cpu_seconds(), figures["rate"] * SECONDS
                    per_request = {
                        kind: (after[kind] - before[kind]) / served * 1000 for kind in after
                    }
                    print(
                        f"  {who:7} {name:24} {clients:3} clients: p50 {figures['p50']:7.1f} ms"
                        f"  p99 {figures['p99']:7.1f} ms  {figures['rate']:6.1f} req/s"
                        f"  CPU per request: {per_request['gunicorn']:5.1f} ms gunicorn,"
                        f" {per_request['postgres']:5.1f} ms PostgreSQL"
                    )
                wrk(base + path, cookie, 1)  # drain
                figures = paced(base + path, cookie, CLIENTS, PACED_INTERVAL)
                print(
                    f"  {who:7} {name:24} {CLIENTS:3} clients, one request every"
                    f" {PACED_INTERVAL:.0f} s each: p50 {figures['p50']:7.1f} ms"
                    f"  p99 {figures['p99']:7.1f} ms  {figures['rate']:6.1f} req/s"
                )


if __name__ == "__main__":
    main()
