"""What the permission layer adds to a list endpoint (Z1, Z3, Z4, Z7). Run with
``.venv/bin/python scripts/devstack.py bench bench/permission_layer.py``.

One organisation: 3 regions x 8 departments, 100,000 shifts spread over them. A manager of
one region (department scope: their region's 9 departments, about a third of the shifts)
reads the shifts API, 50 rows a page, in this process through Django's test client (the whole
middleware stack, PostgreSQL with RLS as the runtime role), in two variants:
- full: the declared-permission check, the department scope filter in the query and the
  field-separation rules (nothing is withheld from a manager, so the rows are the same size);
- without: DeclaredPermissionMiddleware removed and the scope filter replaced by no filter.
Requests alternate between the variants; the figure is the difference of medians. Also
printed: SQL queries per request for 10 and 1,000 visible shifts (they must be equal) and
PostgreSQL's own execution time of the page query with and without the scope filter.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from rbac.fields import withheld_fields  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tenants.selectors import active_membership  # noqa: E402
from tests.factories import (  # noqa: E402
    make_department,
    make_membership,
    make_organization,
    make_site,
    make_user,
)
from workforce import selectors  # noqa: E402
from workforce.models import Shift  # noqa: E402

SHIFTS = 100_000
REQUESTS_PER_VARIANT = 600
PATH = "/api/v1/o/{slug}/shifts/?page_size=50"
PERMISSION_MIDDLEWARE = "rbac.middleware.DeclaredPermissionMiddleware"


def build(slug: str, shifts: int):
    organization = make_organization(f"Bench {slug}", slug)
    regions = [make_department(organization, f"Region {r}") for r in range(3)]
    departments = [
        make_department(organization, f"Team {r}.{t}", parent=region)
        for r, region in enumerate(regions)
        for t in range(8)
    ]
    sites = [make_site(organization, f"Site {d.name}", department=d) for d in departments]
    manager = make_user(f"manager@{slug}.example")
    make_membership(organization, manager, role="manager", department=regions[0])
    start = timezone.now()
    with tenant_context(organization):
        Shift.objects.bulk_create(
            (
                Shift(
                    organization=organization,
                    site=sites[n % len(sites)],
                    department_id=sites[n % len(sites)].department_id,
                    starts_at=start + timedelta(hours=n),
                    ends_at=start + timedelta(hours=n + 8),
                    bill_rate=Decimal("30.00"),
                    pay_rate=Decimal("18.00"),
                )
                for n in range(shifts)
            ),
            batch_size=5_000,
        )
    # Statistics as autovacuum would have them; only the table owner may gather them.
    with connections["owner"].cursor() as cursor:
        cursor.execute("ANALYZE workforce_shift")
    return organization, manager


def queries_per_request(user, slug: str) -> int:
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    client.get(PATH.format(slug=slug))
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PATH.format(slug=slug)).status_code == 200
    return len(captured)


def execution_ms(organization, user, scoped: bool) -> float:
    """PostgreSQL's own execution time of the first page query, median of 20."""
    with tenant_context(organization):
        membership = active_membership(user)
        shifts = selectors.shifts_for(membership, withheld_fields(membership, client_portal=False))
        if not scoped:
            shifts = Shift.objects.select_related("site", "client", "department").order_by(
                "starts_at", "id"
            )
        sql, params = shifts[:51].query.sql_with_params()
        timings = []
        with connection.cursor() as cursor:
            for _ in range(20):
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
                timings.append(cursor.fetchone()[0][0]["Execution Time"])
    return statistics.median(timings)


def main() -> None:
    organization, manager = build("perm", SHIFTS)
    _, small_manager = build("perm-small", 30)  # 10 visible shifts
    print(
        f"Queries per shifts API request (page of 50): "
        f"{queries_per_request(small_manager, 'perm-small')} with 10 visible shifts, "
        f"{queries_per_request(manager, 'perm')} with {SHIFTS // 3:,} visible"
    )

    full = Client(HTTP_HOST=settings.PORTAL_HOST)
    full.force_login(manager)
    url = PATH.format(slug="perm")
    without_middleware = [m for m in settings.MIDDLEWARE if m != PERMISSION_MIDDLEWARE]
    unscoped = lambda queryset, module, membership: queryset  # noqa: E731
    samples: dict[str, list[float]] = {"full": [], "without": []}

    def timed(name: str) -> None:
        began = time.perf_counter()
        response = full.get(url)
        samples[name].append(time.perf_counter() - began)
        assert response.status_code == 200 and len(response.json()["results"]) == 50

    original_visible = selectors.visible
    for round_number in range(REQUESTS_PER_VARIANT + 20):
        timed("full")
        selectors.visible = unscoped
        try:
            with override_settings(MIDDLEWARE=without_middleware):
                timed("without")
        finally:
            selectors.visible = original_visible
        if round_number == 19:  # warm-up done
            samples = {"full": [], "without": []}

    def summary(values: list[float]) -> str:
        values = sorted(values)
        p90 = values[int(len(values) * 0.9)]
        return f"p50 {statistics.median(values) * 1000:.2f} ms  p90 {p90 * 1000:.2f} ms"

    print(f"Shifts API, page of 50, {REQUESTS_PER_VARIANT} requests each, alternating:")
    for name, values in samples.items():
        print(f"  {name:8} {summary(values)}")
    added = statistics.median(samples["full"]) - statistics.median(samples["without"])
    print(f"  permission layer adds {added * 1000:.2f} ms at the median")
    scoped_ms = execution_ms(organization, manager, scoped=True)
    plain_ms = execution_ms(organization, manager, scoped=False)
    print(
        f"Page query inside PostgreSQL: {scoped_ms:.3f} ms with the department scope, "
        f"{plain_ms:.3f} ms without"
    )


if __name__ == "__main__":
    main()
