"""Queueing deliveries to the organisation's audit sinks (L8).

Kept apart from ``audit.streaming`` so that the single writer,
``audit.services.audit_event_record``, can call it without importing the delivery code (which
imports the writer). Tasks are sent by name for the same reason.

After an event commits, one delivery per active sink of its organisation is queued. Whether an
organisation has active sinks is cached in each process for ``ACTIVE_SINKS_TTL_SECONDS``, so
most audit writes cost streaming no query at all. A sink created or deactivated in another
process is seen within that time; the periodic sweep delivers whatever a trigger missed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from celery import current_app
from django.conf import settings
from django.db import connection, transaction

from audit.models import AuditSink

DELIVER_TASK = "audit.deliver_to_sink"
ACTIVE_SINKS_TTL_SECONDS = 30.0

# organisation id -> (monotonic expiry, ids of its active sinks)
_active_sinks: dict[int, tuple[float, tuple[int, ...]]] = {}


def streaming_queue() -> str | None:
    """The queue deliveries go to; None is Celery's default queue."""
    return settings.PALISADE_AUDIT_STREAMING_QUEUE or None


def queue_delivery(organization_id: int, sink_id: int, *, eta: datetime | None = None) -> None:
    current_app.send_task(
        DELIVER_TASK, args=[organization_id, sink_id], eta=eta, queue=streaming_queue()
    )


def active_sink_ids(organization_id: int) -> tuple[int, ...]:
    """The organisation's active sinks, read in the current transaction when not cached."""
    cached = _active_sinks.get(organization_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    sink_ids = tuple(AuditSink.objects.filter(active=True).values_list("pk", flat=True))
    _active_sinks[organization_id] = (now + ACTIVE_SINKS_TTL_SECONDS, sink_ids)
    return sink_ids


def forget_active_sinks(organization_id: int | None = None) -> None:
    if organization_id is None:
        _active_sinks.clear()
    else:
        _active_sinks.pop(organization_id, None)


@dataclass(frozen=True)
class _DeliveryNotice:
    organization_id: int
    sink_ids: tuple[int, ...]

    def send(self) -> None:
        for sink_id in self.sink_ids:
            queue_delivery(self.organization_id, sink_id)


def deliver_after_commit(organization_id: int) -> None:
    """Called by ``audit_event_record`` for each event it writes."""
    sink_ids = active_sink_ids(organization_id)
    if not sink_ids:
        return
    notice = _DeliveryNotice(organization_id, sink_ids)
    # A transaction that records many events in a row needs one delivery per sink, not one
    # per event: a delivery sends everything committed. Only the latest callback is compared:
    # each savepoint it was registered in is either released or still open around this event,
    # so it cannot be rolled back while this event stays.
    pending = connection.run_on_commit
    if pending and getattr(pending[-1][1], "__self__", None) == notice:
        return
    # robust: the event is committed whatever happens here; if the broker is unreachable the
    # sweep delivers it later, and the caller's request must not fail after its commit.
    transaction.on_commit(notice.send, robust=True)
