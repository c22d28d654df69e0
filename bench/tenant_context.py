"""What the organisation context costs: queries per request and latency, measured on the
real stack (PostgreSQL with RLS as the runtime role, gunicorn). Run with ``make bench``.

Figures printed:
1. queries per API list request, and how many of them the tenant layer adds;
2. database latency of one list query: runtime role inside a transaction with
   ``set_config`` (what every request does) vs the BYPASSRLS role with the same explicit
   filter in autocommit (no context at all);
3. HTTP latency through gunicorn: the org-scoped API list vs the DB-free health check.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tenants.context import tenant_context  # noqa: E402
from tests.factories import make_membership, make_organization, make_user  # noqa: E402
from tests.processes import gunicorn, psycopg_dsn  # noqa: E402
from workforce.models import Site  # noqa: E402

ORGANIZATIONS = 10
SITES_PER_ORG = 2_000
ROUNDS = 500


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95)]
    p99 = samples[int(len(samples) * 0.99)]
    return f"p50 {p50 * 1000:.3f} ms  p95 {p95 * 1000:.3f} ms  p99 {p99 * 1000:.3f} ms"


def load_data():
    user = make_user("bench@bench.example")
    organizations = [make_organization(f"Bench {i}", f"bench-{i}") for i in range(ORGANIZATIONS)]
    make_membership(organizations[0], user)
    for organization in organizations:
        with tenant_context(organization):
            Site.objects.bulk_create(
                Site(organization=organization, name=f"Site {n:05d}") for n in range(SITES_PER_ORG)
            )
    return user, organizations[0]


def query_counts(user) -> None:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    client.get("/api/v1/o/bench-0/sites/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/o/bench-0/sites/").status_code == 200
    tenant_markers = ("tenants_organization", "set_config", "tenants_membership")
    tenant = [q for q in captured if any(m in q["sql"] for m in tenant_markers)]
    print(f"queries per API list request: {len(captured)} in all, {len(tenant)} from the tenant")
    print("  layer (organisation by slug, set_config once, membership check)")


def database_latency(org_id: int) -> None:
    list_sql = (
        "SELECT id, name FROM workforce_site WHERE organization_id = %s ORDER BY name, id LIMIT 50"
    )
    runtime = psycopg_dsn(settings.DATABASES["default"])
    bypass = psycopg_dsn(settings.DATABASES["cross_tenant"])
    with psycopg.connect(runtime) as rt, psycopg.connect(bypass, autocommit=True) as bp:
        with_context, without_context = [], []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            with rt.transaction():
                rt.execute("SELECT set_config('app.current_org', %s, true)", [str(org_id)])
                rows = rt.execute(list_sql, [org_id]).fetchall()
            with_context.append(time.perf_counter() - start)
            assert len(rows) == 50
            start = time.perf_counter()
            assert len(bp.execute(list_sql, [org_id]).fetchall()) == 50
            without_context.append(time.perf_counter() - start)
    print(f"list query, {ORGANIZATIONS} orgs x {SITES_PER_ORG} sites, {ROUNDS} rounds:")
    print(f"  runtime role, BEGIN + set_config + query + COMMIT: {percentiles(with_context)}")
    print(f"  BYPASSRLS role, query only (autocommit):          {percentiles(without_context)}")


def http_latency(user) -> None:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    env = {**os.environ, "PALISADE_DB_CONN_MAX_AGE": "600", "PALISADE_ENV": "test"}
    with gunicorn(env) as base_url:
        for path, label in [
            ("/healthz", "health check (no DB)"),
            ("/api/v1/o/bench-0/sites/?page_size=50", "org API list, 50 rows"),
        ]:
            request = urllib.request.Request(  # noqa: S310 - loopback
                base_url + path, headers={"Host": settings.PORTAL_HOST, "Cookie": cookie}
            )
            samples = []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    response.read()
                samples.append(time.perf_counter() - start)
            print(f"HTTP {label:<24} {percentiles(samples)}")


def main() -> None:
    user, organization = load_data()
    query_counts(user)
    database_latency(organization.pk)
    http_latency(user)


if __name__ == "__main__":
    main()
