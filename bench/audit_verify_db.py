"""Database-side audit verification and checkpointing at scale (L3, L9). Run with
``.venv/bin/python scripts/devstack.py bench bench/audit_verify_db.py [EVENTS]``.

Loads EVENTS (default 200,000) chained events into one organisation (bulk, chained exactly as
``audit_event_record`` chains them), then times: signing a checkpoint over all of them, an
incremental checkpoint after 1,000 more, and ``verify_organization_log`` (the walk behind
``manage.py audit_verify`` and the verify API), with the process's peak RSS.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from audit import chain  # noqa: E402
from audit.checkpoints import checkpoint_create  # noqa: E402
from audit.models import AuditChainHead, AuditEvent  # noqa: E402
from audit.services import chain_key_for, event_fields  # noqa: E402
from audit.verification import verify_organization_log  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tests.factories import make_organization  # noqa: E402

BATCH = 5_000


def load(organization, count: int) -> None:
    with tenant_context(organization):
        head = AuditChainHead.objects.get()
        version, key = chain_key_for()
        seq, previous = head.last_seq, bytes(head.last_hmac)
        batch: list[AuditEvent] = []
        for n in range(count):
            seq += 1
            event = AuditEvent(
                organization_id=organization.pk,
                seq=seq,
                occurred_at=datetime.now(UTC),
                actor_type="system",
                actor_label="bench",
                action="bench.event",
                entity_type="workforce.site",
                entity_id=str(n),
                changes={"name": [None, f"Site {n}"]},
                key_version=version,
                prev_hmac=previous,
            )
            event.hmac = chain.chain_hmac(key, previous, chain.canonical(event_fields(event)))
            previous = event.hmac
            batch.append(event)
            if len(batch) == BATCH:
                AuditEvent.objects.bulk_create(batch)
                batch.clear()
        AuditEvent.objects.bulk_create(batch)
        AuditChainHead.objects.update(last_seq=seq, last_hmac=previous)


def timed(label: str, events: int, operation):
    start = time.perf_counter()
    result = operation()
    seconds = time.perf_counter() - start
    print(f"  {label:<38} {seconds:7.2f} s  {events / seconds:10,.0f} events/s")
    return result


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    organization = make_organization("Bench", "bench")
    start = time.perf_counter()
    load(organization, events)
    print(f"{events:,} events loaded in {time.perf_counter() - start:.1f} s")
    with tenant_context(organization):
        total = AuditEvent.objects.count()
    with tenant_context(organization):
        timed("first checkpoint (whole log)", total, checkpoint_create)
    load(organization, 1_000)
    with tenant_context(organization):
        timed("incremental checkpoint (+1,000)", 1_000, checkpoint_create)
    with tenant_context(organization):
        result = timed("verify_organization_log", total + 1_000, verify_organization_log)
    assert result.ok, result.reason
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  result: {result.summary()}; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
