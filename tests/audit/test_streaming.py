"""L8: each organisation streams its audit events to its own webhook sinks: signed, in order,
at least once, retried with backoff, to public https receivers only, with a status view."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import stream_dispatch, streaming
from audit.models import AuditEvent, AuditSink
from audit.services import audit_event_record
from audit.stream_dispatch import forget_active_sinks
from audit.streaming import audit_sink_create, audit_sink_deliver, sink_target
from tenants.context import tenant_context
from tenants.models import Membership
from tests.factories import make_membership, make_organization, make_sites, make_user
from tests.processes import celery_worker
from tests.test_configuration import SAFE_SECRET
from tests.test_configuration import _start_django as start_django_in_production

# Receivers


@dataclass(frozen=True)
class Delivery:
    status: int
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict]:
        return json.loads(self.body)["events"]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request and answers the given
    statuses in turn, then 200."""

    def __init__(self, answers: list[int], location: str = "", delay: float = 0) -> None:
        self.deliveries: list[Delivery] = []
        self._answers = list(answers)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                with receiver._lock:
                    status = receiver._answers.pop(0) if receiver._answers else 200
                    receiver.deliveries.append(
                        Delivery(status, self.path, dict(self.headers.items()), body)
                    )
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/palisade/audit?source=l8"

    def recover(self) -> None:
        """Answers 200 from now on."""
        with self._lock:
            self._answers.clear()

    def accepted(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if 200 <= d.status < 300]

    def accepted_seqs(self) -> list[int]:
        return [event["seq"] for delivery in self.accepted() for event in delivery.events]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(answers: list[int] = (), location: str = "", delay: float = 0) -> Receiver:
        started.append(Receiver(list(answers), location, delay))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture(autouse=True)
def no_cached_sinks():
    # Organisation ids come back after committed_db truncates: no sink list may outlive them.
    forget_active_sinks()
    yield
    forget_active_sinks()


@pytest.fixture
def insecure(settings):
    """Loopback http receivers, as in dev and tests."""
    settings.PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE = True


def signature_verifies(secret: str, delivery: Delivery, max_age: float = 300) -> bool:
    """What a receiver does with ``X-Palisade-Signature``, written from the documented scheme."""
    fields = dict(
        part.split("=", 1) for part in delivery.headers["X-Palisade-Signature"].split(",")
    )
    expected = hmac.new(
        secret.encode(), fields["t"].encode() + b"." + delivery.body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= max_age
    return fresh and hmac.compare_digest(expected, fields["v1"])


def _seqs(org, first: int) -> list[int]:
    with tenant_context(org):
        return list(AuditEvent.objects.filter(seq__gte=first).values_list("seq", flat=True))


def _sink(org, sink_id: int) -> AuditSink:
    with tenant_context(org):
        return AuditSink.objects.get(pk=sink_id)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


# End to end, with a real Celery worker


@pytest.mark.usefixtures("committed_db", "insecure")
def test_L8_sink_failing_twice_then_succeeding_receives_every_event_once_in_order_signed(
    settings, receiver, test_environment
):
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    siem = receiver(answers=[500, 500])
    queue = f"stream-{uuid.uuid4().hex[:8]}"
    settings.PALISADE_AUDIT_STREAMING_QUEUE = queue
    worker_env = {
        **test_environment,
        "PALISADE_AUDIT_STREAMING_QUEUE": queue,
        "PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE": "true",
    }
    with celery_worker(worker_env, queue):
        with tenant_context(alpha):
            sink, secret = audit_sink_create(name="SIEM", url=siem.url)
        first = sink.last_delivered_seq + 1
        make_sites(alpha, 5, "A")
        make_sites(bravo, 3, "B")
        _wait_for(lambda: first + 5 in siem.accepted_seqs(), "the first successful delivery")
        make_sites(alpha, 4, "A2")
        make_sites(bravo, 2, "B2")
        expected = _seqs(alpha, first)
        _wait_for(lambda: siem.accepted_seqs()[-1:] == expected[-1:], "every event")

    assert [d.status for d in siem.deliveries[:2]] == [500, 500]
    assert len(siem.accepted()) >= 2, "events recorded later arrive in later deliveries"
    assert siem.accepted_seqs() == expected == list(range(first, first + 10))
    assert all(signature_verifies(secret, d) for d in siem.deliveries)
    assert len({d.headers["X-Palisade-Delivery"] for d in siem.deliveries}) == len(siem.deliveries)
    assert {d.path for d in siem.deliveries} == {"/palisade/audit?source=l8"}
    bodies = [json.loads(d.body) for d in siem.accepted()]
    assert {(b["organization"], b["sink"]) for b in bodies} == {(alpha.pk, sink.pk)}
    delivered = [event for d in siem.accepted() for event in d.events]
    assert {event["organization"] for event in delivered} == {alpha.pk}
    with tenant_context(alpha):
        stored = {e.seq: bytes(e.hmac).hex() for e in AuditEvent.objects.filter(seq__gte=first)}
    assert {event["seq"]: event["hmac"] for event in delivered} == stored
    assert delivered[0]["action"] == "audit_sink.created"
    state = _sink(alpha, sink.pk)
    assert (state.status, state.consecutive_failures, state.last_error) == ("ok", 0, "")
    assert state.last_delivered_seq == expected[-1]


@pytest.mark.usefixtures("committed_db", "insecure")
def test_L8_concurrent_workers_deliver_each_event_once_in_order(
    settings, receiver, test_environment
):
    alpha = make_organization("Alpha Guarding", "alpha")
    slow = receiver(delay=0.02)
    queue = f"stream-{uuid.uuid4().hex[:8]}"
    settings.PALISADE_AUDIT_STREAMING_QUEUE = queue
    worker_env = {
        **test_environment,
        "PALISADE_AUDIT_STREAMING_QUEUE": queue,
        "PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE": "true",
    }
    with celery_worker(worker_env, queue), celery_worker(worker_env, queue):
        with tenant_context(alpha):
            sink, _ = audit_sink_create(name="SIEM", url=slow.url)
        _wait_for(lambda: slow.accepted(), "the workers to start")
        for batch in range(10):
            make_sites(alpha, 3, f"Batch {batch}")
        expected = _seqs(alpha, sink.last_delivered_seq + 1)
        # Each commit queued a run; runs that found the sink locked left their events to the
        # run holding it, which queues another after its commit.
        _wait_for(lambda: slow.accepted_seqs()[-1:] == expected[-1:], "every event")
    assert slow.accepted_seqs() == expected


# Where a sink may point


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https://127.0.0.1/hook", "public"),
        ("https://localhost:8443/hook", "public"),
        ("https://[::1]/hook", "public"),
        ("https://[::ffff:127.0.0.1]/hook", "public"),
        ("https://10.1.2.3/hook", "public"),
        ("https://172.16.0.9/hook", "public"),
        ("https://192.168.1.20/hook", "public"),
        ("https://100.64.0.1/hook", "public"),
        ("https://169.254.169.254/latest/meta-data/", "public"),
        ("https://[fe80::1]/hook", "public"),
        ("https://0.0.0.0/hook", "public"),
        ("https://224.0.0.1/hook", "public"),
        ("https://admin:hunter2@93.184.215.14/hook", "credentials"),
        ("https://93.184.215.14:99999/hook", "valid URL"),
        ("https:///hook", "valid URL"),
        ("https://93.184.215.14/" + "a" * 2000, "2000 characters"),
        ("https://93.184.215.14/a b", "ASCII"),
        ("https://93.184.215.14/\r\nX-Injected: 1", "ASCII"),
        ("https://bücher.example/hook", "ASCII"),
    ],
)
def test_L8_sink_url_must_be_https_to_a_public_address(url, message):
    with pytest.raises(ValidationError) as refused:
        sink_target(url)
    assert message in refused.value.message_dict["url"][0]


def test_L8_a_public_https_url_is_pinned_to_its_checked_address():
    target = sink_target("https://93.184.215.14:8443/ingest?token=abc")
    assert (target.scheme, target.address, target.port) == ("https", "93.184.215.14", 8443)
    assert (target.host_header, target.path) == ("93.184.215.14:8443", "/ingest?token=abc")


@pytest.mark.usefixtures("insecure")
@pytest.mark.parametrize(
    "url", ["https://10.1.2.3/hook", "http://169.254.169.254/latest/", "http://192.168.0.1/"]
)
def test_L8_insecure_mode_admits_loopback_only(url):
    assert sink_target("http://127.0.0.1:8080/hook").address == "127.0.0.1"
    with pytest.raises(ValidationError):
        sink_target(url)


def test_L8_insecure_mode_is_refused_in_production():
    result = start_django_in_production(
        SECRET_KEY=SAFE_SECRET, PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE="true"
    )
    assert result.returncode != 0
    assert "PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE" in result.stderr


# Delivery in this process (the test transaction never commits, so nothing is queued)


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_delivery_status_after_failures_backoff_and_recovery(settings, org_a, receiver):
    down = receiver(answers=[503] * 20)
    settings.PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS = 0
    with tenant_context(org_a):
        sink, secret = audit_sink_create(name="Pager", url=down.url)
        start = sink.last_delivered_seq
        assert audit_sink_deliver(sink_id=sink.pk) == 0
        assert audit_sink_deliver(sink_id=sink.pk) == 0
        sink.refresh_from_db()
        assert (sink.status, sink.consecutive_failures, sink.last_error) == (
            "retrying",
            2,
            "HTTP 503",
        )
        assert sink.last_delivered_seq == start, "nothing counts as delivered before a 2xx"
        assert sink.next_attempt_at is not None and sink.last_success_at is None

        settings.PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS = 60
        audit_sink_deliver(sink_id=sink.pk)
        attempts = len(down.deliveries)
        assert audit_sink_deliver(sink_id=sink.pk) == 0
        assert len(down.deliveries) == attempts, "no attempt before the backoff has passed"
        sink.refresh_from_db()
        assert sink.next_attempt_at - sink.last_attempt_at == timedelta(seconds=60 * 2**2)

        settings.PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS = 0
        AuditSink.objects.filter(pk=sink.pk).update(next_attempt_at=timezone.now())
        while sink.consecutive_failures < streaming.MAX_SCHEDULED_RETRIES:
            audit_sink_deliver(sink_id=sink.pk)
            sink.refresh_from_db()
        assert sink.status == "failing"
        assert secret not in sink.last_error

        make_sites(org_a, 2)
        down.recover()
        assert audit_sink_deliver(sink_id=sink.pk) == 3
        sink.refresh_from_db()
        assert (sink.status, sink.consecutive_failures, sink.last_error) == ("ok", 0, "")
        assert sink.last_delivered_seq == start + 3
        assert sink.last_success_at is not None and sink.next_attempt_at is None


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_redirects_are_not_followed(org_a, receiver):
    elsewhere = receiver()
    redirecting = receiver(answers=[307], location=elsewhere.url)
    with tenant_context(org_a):
        sink, _ = audit_sink_create(name="Moved", url=redirecting.url)
        audit_sink_deliver(sink_id=sink.pk)
        sink.refresh_from_db()
    assert (sink.status, sink.last_error) == ("retrying", "HTTP 307")
    assert elsewhere.deliveries == []


def _dns_answers(monkeypatch, *addresses: str) -> None:
    def getaddrinfo(host, port, **_):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(streaming.socket, "getaddrinfo", getaddrinfo)


def test_L8_a_host_with_any_internal_address_is_refused(monkeypatch):
    _dns_answers(monkeypatch, "93.184.215.14", "10.0.0.7")
    with pytest.raises(ValidationError, match="public"):
        sink_target("https://siem.example.com/hook")


@pytest.mark.django_db
def test_L8_a_host_that_rebinds_to_an_internal_address_is_refused_at_delivery(monkeypatch, org_a):
    _dns_answers(monkeypatch, "93.184.215.14")
    with tenant_context(org_a):
        sink, _ = audit_sink_create(name="Rebound", url="https://siem.example.com/hook")
        _dns_answers(monkeypatch, "127.0.0.1")
        audit_sink_deliver(sink_id=sink.pk)
        sink.refresh_from_db()
    assert sink.status == "retrying"
    assert sink.last_error == "refused: The host must resolve only to public internet addresses."


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_another_organisations_events_never_reach_a_sink(org_a, org_b, receiver):
    alpha_siem, bravo_siem = receiver(), receiver()
    with tenant_context(org_a):
        alpha_sink, _ = audit_sink_create(name="Alpha SIEM", url=alpha_siem.url)
    with tenant_context(org_b):
        bravo_sink, _ = audit_sink_create(name="Bravo SIEM", url=bravo_siem.url)
    make_sites(org_a, 3, "A")
    make_sites(org_b, 4, "B")
    with tenant_context(org_a):
        # Another organisation's sink id does nothing in this context (T1, T2).
        assert audit_sink_deliver(sink_id=bravo_sink.pk) == 0
        assert audit_sink_deliver(sink_id=alpha_sink.pk) == 4
    with tenant_context(org_b):
        assert audit_sink_deliver(sink_id=bravo_sink.pk) == 5
    for siem, org, sink in ((alpha_siem, org_a, alpha_sink), (bravo_siem, org_b, bravo_sink)):
        [delivery] = siem.deliveries
        assert json.loads(delivery.body)["organization"] == org.pk
        assert {e["organization"] for e in delivery.events} == {org.pk}
        assert siem.accepted_seqs() == _seqs(org, sink.last_delivered_seq + 1)


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_secret_and_url_are_stored_encrypted(org_a, receiver):
    siem = receiver()
    with tenant_context(org_a):
        sink, secret = audit_sink_create(name="SIEM", url=siem.url)
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret, url FROM audit_sink WHERE id = %s", [sink.pk])
            stored_secret, stored_url = (bytes(value) for value in cursor.fetchone())
        [created] = AuditEvent.objects.filter(action="audit_sink.created")
    assert len(secret) >= 43
    assert secret.encode() not in stored_secret and b"127.0.0.1" not in stored_url
    assert stored_secret[0] == 1 and stored_url[0] == 1  # format 1 of keys.fields (E3)
    # The log names where events go, never the secret or the URL's path and query.
    assert created.changes == {
        "name": [None, "SIEM"],
        "destination": [None, siem.url.split("/palisade")[0]],
    }
    assert secret not in json.dumps(created.changes)


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_key_rotation_reencrypts_sink_settings(org_a, receiver):
    siem = receiver()
    with tenant_context(org_a):
        sink, secret = audit_sink_create(name="SIEM", url=siem.url)
    call_command("rotate_keys", "--org", "alpha", "--reencrypt", stdout=StringIO())
    with tenant_context(org_a):
        rotated = AuditSink.objects.filter(url__key_version=2, secret__key_version=2).get()
        assert (rotated.url, rotated.secret) == (siem.url, secret)
        assert audit_sink_deliver(sink_id=sink.pk) > 0
    assert siem.accepted_seqs() == _seqs(org_a, sink.last_delivered_seq + 1)
    assert signature_verifies(secret, siem.deliveries[0])


# Triggering


@pytest.mark.usefixtures("committed_db", "insecure")
def test_L8_a_committed_transaction_queues_one_delivery_per_sink(receiver, monkeypatch):
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    queued: list[tuple[int, int]] = []
    monkeypatch.setattr(
        stream_dispatch,
        "queue_delivery",
        lambda org_id, sink_id, **_: queued.append((org_id, sink_id)),
    )
    with tenant_context(alpha):
        first, _ = audit_sink_create(name="One", url=receiver().url)
    with tenant_context(alpha):
        second, _ = audit_sink_create(name="Two", url=receiver().url)
    assert queued == [(alpha.pk, first.pk), (alpha.pk, first.pk), (alpha.pk, second.pk)]
    queued.clear()
    with tenant_context(alpha):
        for n in range(3):
            audit_event_record(action="bulk.imported", entity_type="row", entity_id=n)
    with tenant_context(bravo):
        audit_event_record(action="bulk.imported", entity_type="row", entity_id=9)
    assert sorted(queued) == [(alpha.pk, first.pk), (alpha.pk, second.pk)]
    with tenant_context(alpha), transaction.atomic():
        audit_event_record(action="kept")
        try:
            with transaction.atomic():
                audit_event_record(action="rolled.back")
                raise RuntimeError
        except RuntimeError:
            pass
    assert len(queued) == 4, "a rolled-back savepoint does not take the outer event's delivery"


@pytest.mark.usefixtures("committed_db", "insecure")
def test_L8_events_committed_while_a_run_holds_the_sink_go_to_a_new_run(receiver, monkeypatch):
    alpha = make_organization("Alpha Guarding", "alpha")
    with tenant_context(alpha):
        sink, _ = audit_sink_create(name="SIEM", url=receiver().url)
    monkeypatch.setattr(stream_dispatch, "queue_delivery", lambda *args, **kwargs: None)
    queued: list[int] = []
    monkeypatch.setattr(
        streaming, "queue_delivery", lambda org_id, sink_id, **_: queued.append(sink_id)
    )
    holding, release = threading.Event(), threading.Event()

    def run_holding_the_sink() -> None:
        try:
            with tenant_context(alpha):
                audit_sink_deliver(sink_id=sink.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=run_holding_the_sink)
    holder.start()
    assert holding.wait(10)
    make_sites(alpha, 1)
    with tenant_context(alpha):
        assert audit_sink_deliver(sink_id=sink.pk) == 0, "the new event's own run skips the sink"
    release.set()
    holder.join()
    assert queued == [sink.pk], "the holder queues a run for it after its commit"


@pytest.mark.django_db
def test_L8_an_organisation_without_sinks_pays_no_query_for_streaming(org_a):
    with tenant_context(org_a):
        audit_event_record(action="warm.up")
        with CaptureQueriesContext(connection) as captured:
            audit_event_record(action="measured")
    assert len(captured) == 2  # the head lock, then insert + advance


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_sweep_queues_only_sinks_that_are_behind_and_due(settings, org_a, receiver, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(
        streaming, "queue_delivery", lambda org_id, sink_id, **_: queued.append(sink_id)
    )
    settings.PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS = 60
    with tenant_context(org_a):
        caught_up, _ = audit_sink_create(name="Caught up", url=receiver().url)
        audit_sink_deliver(sink_id=caught_up.pk)
        backing_off, _ = audit_sink_create(name="Backing off", url=receiver(answers=[500]).url)
        behind, _ = audit_sink_create(name="Behind", url=receiver().url)
        gone, _ = audit_sink_create(name="Gone", url=receiver().url)
        streaming.audit_sink_deactivate(sink=gone)
        audit_sink_deliver(sink_id=backing_off.pk)
        audit_sink_deliver(sink_id=caught_up.pk)
        queued.clear()
        assert streaming.audit_sinks_sweep() == 1
    assert queued == [behind.pk]


# The API


@pytest.fixture
def owner_api(portal_client, org_a):
    owner = make_user("olive@alpha.example")
    membership = make_membership(org_a, owner)
    with tenant_context(org_a):
        Membership.objects.filter(pk=membership.pk).update(role=Membership.Role.OWNER)
    portal_client.force_login(owner)
    return portal_client


SINKS = "/api/v1/o/alpha/audit/sinks/"


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_api_shows_the_secret_once_and_never_again(owner_api, org_a, receiver):
    siem = receiver()
    created = owner_api.post(
        SINKS, {"name": "SIEM", "url": siem.url}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    secret = body["secret"]
    assert (body["name"], body["url"], body["status"], body["active"]) == (
        "SIEM",
        siem.url,
        "ok",
        True,
    )
    listed = owner_api.get(SINKS)
    detail = owner_api.get(f"{SINKS}{body['id']}/")
    assert listed.status_code == detail.status_code == 200
    [row] = listed.json()["results"]
    assert "secret" not in row and "secret" not in detail.json()
    assert secret not in listed.content.decode() and secret not in detail.content.decode()
    assert row["pending_events"] == 1  # its own creation event
    with tenant_context(org_a):
        assert AuditSink.objects.get(pk=body["id"]).secret == secret


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_api_deactivates_a_sink_and_records_it(owner_api, org_a, receiver):
    sink_id = owner_api.post(
        SINKS, {"name": "SIEM", "url": receiver().url}, content_type="application/json"
    ).json()["id"]
    assert owner_api.delete(f"{SINKS}{sink_id}/").status_code == 204
    assert owner_api.get(f"{SINKS}{sink_id}/").json()["active"] is False
    assert owner_api.delete(f"{SINKS}{sink_id}/").status_code == 204
    with tenant_context(org_a):
        actions = list(
            AuditEvent.objects.filter(entity_type="audit.auditsink").values_list(
                "action", flat=True
            )
        )
    assert actions == ["audit_sink.created", "audit_sink.deactivated"]


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_api_another_organisations_sink_is_404(owner_api, org_b, receiver):
    with tenant_context(org_b):
        sink, _ = audit_sink_create(name="Bravo SIEM", url=receiver().url)
    assert owner_api.get(f"{SINKS}{sink.pk}/").status_code == 404
    assert owner_api.delete(f"{SINKS}{sink.pk}/").status_code == 404
    assert owner_api.get(SINKS).json()["results"] == []
    assert owner_api.get(f"/api/v1/o/bravo/audit/sinks/{sink.pk}/").status_code == 404
    with tenant_context(org_b):
        assert AuditSink.objects.get(pk=sink.pk).active


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_api_refuses_staff(portal_client, org_a, member_of_a, receiver):
    portal_client.force_login(member_of_a)
    assert portal_client.get(SINKS).status_code == 403
    answer = portal_client.post(
        SINKS, {"name": "Mine", "url": receiver().url}, content_type="application/json"
    )
    assert answer.status_code == 403
    with tenant_context(org_a):
        assert not AuditSink.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://93.184.215.14/hook"}, "name"),
        ({"name": "SIEM"}, "url"),
        ({"name": "  ", "url": "https://93.184.215.14/hook"}, "name"),
        ({"name": "SIEM", "url": "http://93.184.215.14/hook"}, "url"),
        ({"name": "SIEM", "url": "https://10.0.0.8/hook"}, "url"),
        ({"name": "SIEM", "url": "https://127.0.0.1:9000/hook"}, "url"),
    ],
)
def test_L8_api_bad_input_is_400_with_field_errors(owner_api, org_a, payload, field):
    answer = owner_api.post(SINKS, payload, content_type="application/json")
    assert answer.status_code == 400
    assert field in answer.json()
    with tenant_context(org_a):
        assert not AuditSink.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_api_limits_active_sinks(owner_api, receiver):
    url = receiver().url
    for n in range(streaming.MAX_ACTIVE_SINKS):
        assert (
            owner_api.post(
                SINKS, {"name": f"S{n}", "url": url}, content_type="application/json"
            ).status_code
            == 201
        )
    refused = owner_api.post(
        SINKS, {"name": "One more", "url": url}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "non_field_errors" in refused.json()


@pytest.mark.django_db
@pytest.mark.usefixtures("insecure")
def test_L8_sink_list_costs_constant_queries(owner_api, org_a, receiver):
    url = receiver().url

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_api.get(SINKS).status_code == 200
        return len(captured)

    with tenant_context(org_a):
        audit_sink_create(name="First", url=url)
    one = count()
    with tenant_context(org_a):
        for n in range(4):
            audit_sink_create(name=f"More {n}", url=url)
    assert count() == one
    assert len(owner_api.get(SINKS).json()["results"]) == 5
