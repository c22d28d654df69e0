"""What audit streaming costs and delivers (L8), on the real stack (PostgreSQL as the runtime
role with RLS, Redis as the broker, a local HTTP receiver). Run with
``.venv/bin/python scripts/devstack.py bench bench/audit_stream.py``.

- Recording cost: the median of ROUNDS committed ``audit_event_record`` transactions in an
  organisation without sinks and in one with an active sink (which queues a delivery task on
  each commit).
- Delivery throughput: EVENTS events delivered in-process by ``audit_sink_deliver`` runs to a
  receiver on 127.0.0.1 that accepts everything (batches of ``streaming.BATCH_SIZE``, one
  signed POST each).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The receiver is on loopback over http.
os.environ["PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE"] = "true"
django.setup()

from django.db import transaction  # noqa: E402

from audit import streaming  # noqa: E402
from audit.services import audit_event_record  # noqa: E402
from tenants.context import tenant_context  # noqa: E402
from tests.factories import make_organization  # noqa: E402

ROUNDS = 2000
EVENTS = 20_000


class Accepting(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Accepting.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


def median_ms(organization) -> tuple[float, float]:
    samples = []
    for n in range(ROUNDS):
        start = time.perf_counter()
        with tenant_context(organization):
            audit_event_record(action="bench.event", entity_type="bench", entity_id=n)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(ROUNDS * 0.95)] * 1000


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Accepting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ingest"

    without_sinks = make_organization("No sinks", "no-sinks")
    streamed = make_organization("Streamed", "streamed")
    with tenant_context(streamed):
        sink, _ = streaming.audit_sink_create(name="Bench", url=url)
    for organization in (without_sinks, streamed):
        with tenant_context(organization):
            audit_event_record(action="bench.warm_up")
    plain, plain_p95 = median_ms(without_sinks)
    queued, queued_p95 = median_ms(streamed)

    with tenant_context(streamed), transaction.atomic():
        for n in range(EVENTS - ROUNDS - 2):
            audit_event_record(action="bench.event", entity_type="bench", entity_id=n)
    with tenant_context(streamed):
        pending = streaming.latest_seq() - streaming.access_sink(sink.pk).last_delivered_seq
    delivered, runs = 0, 0
    start = time.perf_counter()
    while delivered < pending:
        with tenant_context(streamed):
            delivered += streaming.audit_sink_deliver(sink_id=sink.pk)
        runs += 1
    elapsed = time.perf_counter() - start
    server.shutdown()

    print(f"{ROUNDS} committed audit_event_record transactions each")
    print(f"  organisation without sinks  median {plain:.3f} ms  p95 {plain_p95:.3f} ms")
    print(f"  with one active sink        median {queued:.3f} ms  p95 {queued_p95:.3f} ms")
    print(f"delivery: {delivered} events in {Accepting.received} POSTs, {runs} runs")
    print(f"  {elapsed:.2f} s = {delivered / elapsed:,.0f} events/s to a local receiver")


if __name__ == "__main__":
    main()
