"""What auditing costs a service write (L1, L3), on the real stack (PostgreSQL as the runtime
role with RLS, the local key provider). Run with
``.venv/bin/python scripts/devstack.py bench bench/audit_write.py``.

Three timings, each the median of ROUNDS committed transactions in one organisation, each
in its own organisation context as a request would be (BEGIN, set_config, work, COMMIT):
- the write alone: a site validated and inserted in its own transaction;
- the same write through ``site_create``, which also records its audit event;
- ``audit_event_record`` alone, in its own transaction.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from audit.services import audit_event_record  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tests.factories import make_organization  # noqa: E402
from workforce.models import Site  # noqa: E402
from workforce.services import site_create  # noqa: E402

ROUNDS = 2000


def write_without_audit(n: int) -> None:
    with transaction.atomic():
        site = Site(name=f"Plain {n}", address="Quay 1")
        site.full_clean()
        site.save()


def write_with_audit(n: int) -> None:
    site_create(name=f"Audited {n}", address="Quay 1")


def audit_only(n: int) -> None:
    audit_event_record(action="bench.event", entity_type="bench", entity_id=n)


def median_ms(organization, operation) -> tuple[float, float]:
    """Each round is one request's worth: its own organisation context and transaction."""
    samples = []
    for n in range(ROUNDS):
        start = time.perf_counter()
        with tenant_context(organization):
            operation(n)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(ROUNDS * 0.95)] * 1000


def main() -> None:
    organization = make_organization("Bench", "bench")
    with tenant_context(organization):
        for operation in (write_without_audit, write_with_audit, audit_only):
            operation(-1)  # warm caches (data key, prepared plans)
        with CaptureQueriesContext(connection) as captured:
            audit_only(-2)
    plain, plain_p95 = median_ms(organization, write_without_audit)
    audited, audited_p95 = median_ms(organization, write_with_audit)
    alone, alone_p95 = median_ms(organization, audit_only)
    added = audited - plain
    print(f"{ROUNDS} committed transactions each, one organisation, local key provider")
    print(f"  write without audit         median {plain:.3f} ms  p95 {plain_p95:.3f} ms")
    print(f"  write with audit            median {audited:.3f} ms  p95 {audited_p95:.3f} ms")
    print(f"  audit_event_record alone    median {alone:.3f} ms  p95 {alone_p95:.3f} ms")
    print(f"  added by auditing: {added:.3f} ms median = {100 * added / plain:.1f}% of the write")
    print(f"  queries per audit_event_record: {len(captured)}")


if __name__ == "__main__":
    main()
