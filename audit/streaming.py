"""Streaming the audit log to the organisation's own monitoring: webhook sinks (L8).

- An owner or admin configures a sink (name and https URL); Palisade generates its signing
  secret and shows it once. A sink receives events from its own creation on (the creation
  event is its first); earlier events are in the export (L6).
- Delivery: Celery POSTs the events in seq order, in batches, as JSON
  ``{"organization", "sink", "events": [{<canonical fields>, "hmac"}]}``, signed
  ``X-Palisade-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`` (so a
  receiver can reject replays by age) with a unique ``X-Palisade-Delivery`` id.
- At least once, in order: a run locks its sink row, so one run per sink sends at a time, and
  moves ``last_delivered_seq`` only past batches the receiver answered with a 2xx. A batch may
  be sent again (a failure, or a crash before the commit), never skipped or reordered;
  receivers de-duplicate by ``(organization, seq)``.
- Failures back off exponentially from ``PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS``; after
  ``MAX_SCHEDULED_RETRIES`` the sink is "failing" and the periodic sweep keeps trying at the
  longest interval.
- SSRF: only https, and only to hosts whose every address is public; the check runs again at
  each run, and the connection goes to the address that was checked (no DNS rebinding). No
  redirect is followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from urllib.parse import SplitResult, urlsplit

import orjson
import urllib3
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent, AuditSink
from audit.services import audit_event_record, event_fields
from audit.stream_dispatch import forget_active_sinks, queue_delivery
from keys.fields import UnreadableValue
from tenants.context import current_organization_id, tenant_context

MAX_ACTIVE_SINKS = 5
MAX_URL_LENGTH = 2000
BATCH_SIZE = 100
# A run stops starting new batches after this long and queues its continuation, so the sink
# row (and a database connection) is never held for long.
RUN_SECONDS = 10.0
HTTP_TIMEOUT_SECONDS = 5.0
MAX_SCHEDULED_RETRIES = 8
MAX_BACKOFF_SECONDS = 600.0
SIGNATURE_HEADER = "X-Palisade-Signature"
DELIVERY_HEADER = "X-Palisade-Delivery"
USER_AGENT = "Palisade-Audit-Stream/1"

# What a delivery run writes back; never the secret or the URL.
_STATE_FIELDS = [
    "last_delivered_seq",
    "status",
    "consecutive_failures",
    "last_attempt_at",
    "last_success_at",
    "next_attempt_at",
    "last_error",
]


# Reads ------------------------------------------------------------------------------------


def sinks() -> QuerySet[AuditSink]:
    """The current organisation's sinks, newest first; the secret's column is never loaded."""
    return AuditSink.objects.defer("secret").order_by("-id")


def access_sink(sink_id: int) -> AuditSink:
    return get_object_or_404(sinks(), pk=sink_id)


def latest_seq() -> int:
    """The seq of the organisation's newest event (0 before its first)."""
    return AuditChainHead.objects.values_list("last_seq", flat=True).first() or 0


def sinks_due() -> QuerySet[AuditSink]:
    """Active sinks with events they have not received and no retry pending."""
    newer_events = AuditEvent.objects.filter(seq__gt=OuterRef("last_delivered_seq"))
    return AuditSink.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()),
        Exists(newer_events),
        active=True,
    )


# Where a sink may point (SSRF) ------------------------------------------------------------


@dataclass(frozen=True)
class SinkTarget:
    """A checked sink URL and the one address a delivery connects to."""

    scheme: str
    hostname: str
    port: int
    address: str
    host_header: str
    path: str


def _refuse(message: str) -> ValidationError:
    return ValidationError({"url": message})


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, insecure: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if insecure and address.is_loopback:
        return True
    # is_global excludes every IANA special-purpose range: loopback, private, link-local (cloud
    # metadata at 169.254.169.254 included), shared, documentation and reserved.
    return address.is_global and not address.is_multicast


def _parsed(url: str, *, insecure: bool) -> tuple[SplitResult, int]:
    """The URL's parts and port, if its form is acceptable."""
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"Use at most {MAX_URL_LENGTH} characters.")
    # What http.client would refuse at every delivery is refused here, once.
    if not (url.isascii() and url.isprintable()) or " " in url:
        raise _refuse("Use an ASCII URL without spaces (percent-encode anything else).")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise _refuse("Enter a valid URL.") from error
    schemes = ("https", "http") if insecure else ("https",)
    if parts.scheme not in schemes:
        raise _refuse("Use an https:// URL.")
    if not parts.hostname:
        raise _refuse("Enter a valid URL.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("Leave credentials out of the URL: the signature authenticates deliveries.")
    return parts, port


def sink_target(url: str) -> SinkTarget:
    """Checks a sink URL now (DNS included); raises ValidationError on the ``url`` field."""
    insecure = settings.PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE
    parts, port = _parsed(url, insecure=insecure)
    try:
        answers = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(answer[4][0]) for answer in answers]
    except (OSError, UnicodeError, ValueError) as error:
        raise _refuse("The host name does not resolve.") from error
    # Every address must pass, not just the first: a host answering with one public and one
    # internal address could otherwise be steered inside on another attempt.
    if not addresses or not all(_allowed(a, insecure=insecure) for a in addresses):
        raise _refuse("The host must resolve only to public internet addresses.")
    path = parts.path or "/"
    return SinkTarget(
        scheme=parts.scheme,
        hostname=parts.hostname,
        port=port,
        address=str(addresses[0]),
        host_header=parts.netloc,
        path=f"{path}?{parts.query}" if parts.query else path,
    )


def _destination(url: str) -> str:
    """What the audit log records of a sink URL: scheme and host, never a path or query that
    may carry the receiver's own credential."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Writes -----------------------------------------------------------------------------------


def audit_sink_validate(*, name: str, url: str) -> None:
    errors: dict[str, str] = {}
    max_name_length = AuditSink._meta.get_field("name").max_length
    if not name:
        errors["name"] = "Name the sink."
    elif len(name) > max_name_length:
        errors["name"] = f"Use at most {max_name_length} characters."
    try:
        sink_target(url)
    except ValidationError as error:
        errors.update({field: messages[0] for field, messages in error.message_dict.items()})
    if AuditSink.objects.filter(active=True).count() >= MAX_ACTIVE_SINKS:
        errors[NON_FIELD_ERRORS] = (
            f"An organisation can have at most {MAX_ACTIVE_SINKS} active sinks."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def audit_sink_create(*, name: str, url: str) -> tuple[AuditSink, str]:
    """Creates a sink in the current organisation; returns it and its secret, which is shown
    to the caller this once and otherwise only ever used to sign (E3)."""
    name, url = name.strip(), url.strip()
    audit_sink_validate(name=name, url=url)
    secret = secrets.token_urlsafe(32)
    sink = AuditSink(name=name)
    sink.url = url
    sink.secret = secret
    sink.save()
    # The creation event below is the first one the new sink is sent: forgetting the cached
    # sink list makes it re-read, in this transaction.
    forget_active_sinks(sink.organization_id)
    event = audit_event_record(
        action="audit_sink.created",
        entity=sink,
        changes={"name": [None, name], "destination": [None, _destination(url)]},
    )
    sink.last_delivered_seq = event.seq - 1
    sink.save(update_fields=["last_delivered_seq"])
    return sink, secret


@transaction.atomic
def audit_sink_deactivate(*, sink: AuditSink) -> AuditSink:
    """Stops streaming to a sink. The row stays, with its delivery state, for the record."""
    # Waits for a delivery run in progress, which then cannot send again.
    locked = AuditSink.objects.select_for_update().defer("secret").get(pk=sink.pk)
    if not locked.active:
        return locked
    locked.active = False
    locked.save(update_fields=["active"])
    forget_active_sinks(locked.organization_id)
    audit_event_record(
        action="audit_sink.deactivated", entity=locked, changes={"active": [True, False]}
    )
    return locked


# Delivery ---------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """A batch was not accepted. The message is shown in the status view, so it names what
    happened and never the URL, the secret or what the receiver answered."""


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@cache
def _tls_context() -> ssl.SSLContext:
    # Built once per process: loading the CA store costs milliseconds per connection.
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _connection_pool(target: SinkTarget) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=HTTP_TIMEOUT_SECONDS, read=HTTP_TIMEOUT_SECONDS)
    if target.scheme == "https":
        # Connects to the checked address; the certificate is verified for the host name.
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            ssl_context=_tls_context(),
            server_hostname=target.hostname,
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)


def _post(pool: urllib3.HTTPConnectionPool, target: SinkTarget, body: bytes, secret: str) -> None:
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secret, int(time.time()), body),
        DELIVERY_HEADER: str(uuid.uuid4()),
    }
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
        )
    except urllib3.exceptions.SSLError as error:
        raise DeliveryFailed("TLS handshake or certificate check failed") from error
    except urllib3.exceptions.NewConnectionError as error:
        raise DeliveryFailed("could not connect") from error
    except urllib3.exceptions.TimeoutError as error:
        raise DeliveryFailed(f"no answer within {HTTP_TIMEOUT_SECONDS:g} s") from error
    except urllib3.exceptions.HTTPError as error:
        raise DeliveryFailed("connection failed") from error
    # Only the status matters; the body is not read, so a receiver cannot hold the worker
    # by sending an endless one.
    response.close()
    response.release_conn()
    if not 200 <= response.status < 300:
        # Redirects included: following one could lead anywhere (SSRF).
        raise DeliveryFailed(f"HTTP {response.status}")


def _batch_body(sink: AuditSink, events: list[AuditEvent]) -> bytes:
    return orjson.dumps(
        {
            "organization": sink.organization_id,
            "sink": sink.pk,
            "events": [{**event_fields(e), "hmac": bytes(e.hmac).hex()} for e in events],
        }
    )


def _backoff_seconds(failures: int) -> float:
    base = settings.PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS
    return min(base * 2 ** min(failures - 1, 30), MAX_BACKOFF_SECONDS)


def _record_failure(sink: AuditSink, message: str, attempted_at: datetime) -> None:
    sink.consecutive_failures += 1
    sink.status = (
        AuditSink.Status.RETRYING
        if sink.consecutive_failures < MAX_SCHEDULED_RETRIES
        else AuditSink.Status.FAILING
    )
    sink.last_attempt_at = attempted_at
    sink.next_attempt_at = attempted_at + timedelta(
        seconds=_backoff_seconds(sink.consecutive_failures)
    )
    sink.last_error = message[:200]
    sink.save(update_fields=_STATE_FIELDS)
    if sink.status == AuditSink.Status.RETRYING:
        # Queued after the commit: the retry must find this state, and the row unlocked. A
        # failing sink is left to the sweep, at the longest interval.
        transaction.on_commit(
            partial(queue_delivery, sink.organization_id, sink.pk, eta=sink.next_attempt_at),
            robust=True,
        )


def _record_success(sink: AuditSink, attempted_at: datetime) -> None:
    sink.status = AuditSink.Status.OK
    sink.consecutive_failures = 0
    sink.last_attempt_at = attempted_at
    sink.last_success_at = timezone.now()
    sink.next_attempt_at = None
    sink.last_error = ""
    sink.save(update_fields=_STATE_FIELDS)


def _queue_if_due(organization_id: int, sink_id: int) -> None:
    with tenant_context(organization_id):
        due = sinks_due().filter(pk=sink_id).exists()
    if due:
        queue_delivery(organization_id, sink_id)


def _send_pending(sink: AuditSink) -> int:
    """Sends batches until caught up or out of time; raises DeliveryFailed at the first batch
    refused, with ``sink.last_delivered_seq`` past every batch accepted before it."""
    url, secret = sink.url, sink.secret
    for value in (url, secret):
        if isinstance(value, UnreadableValue):
            # Says why (key destroyed, integrity), never anything of the other value.
            raise DeliveryFailed(f"the sink's URL or secret cannot be read: {value}")
    try:
        target = sink_target(url)
    except ValidationError as error:
        raise DeliveryFailed(f"refused: {error.message_dict['url'][0]}") from error
    delivered = 0
    deadline = time.monotonic() + RUN_SECONDS
    with _connection_pool(target) as pool:
        while time.monotonic() < deadline:
            events = AuditEvent.objects.filter(seq__gt=sink.last_delivered_seq).order_by("seq")
            batch = list(events[:BATCH_SIZE])
            if not batch:
                break
            _post(pool, target, _batch_body(sink, batch), secret)
            sink.last_delivered_seq = batch[-1].seq
            delivered += len(batch)
    return delivered


def audit_sink_deliver(*, sink_id: int) -> int:
    """One delivery run for a sink of the current organisation, inside the caller's
    transaction (a tenant task's); returns how many events the receiver accepted.

    The sink row stays locked until that transaction ends, which is what keeps one run per
    sink and hence the order. A run that finds the row locked returns at once: the holder
    checks for newer events after its commit and queues another run if any are due.
    """
    sink = (
        AuditSink.objects.select_for_update(skip_locked=True)
        .filter(pk=sink_id, active=True)
        .first()
    )
    if sink is None:
        return 0
    # Events that committed while this run held the row may have had their own run skip it.
    transaction.on_commit(partial(_queue_if_due, sink.organization_id, sink.pk), robust=True)
    attempted_at = timezone.now()
    if sink.next_attempt_at is not None and sink.next_attempt_at > attempted_at:
        return 0  # backing off: a retry is scheduled, or the sweep will come back
    delivered_before = sink.last_delivered_seq
    try:
        delivered = _send_pending(sink)
    except DeliveryFailed as failure:
        _record_failure(sink, str(failure), attempted_at)
        return sink.last_delivered_seq - delivered_before
    if delivered:
        _record_success(sink, attempted_at)
    return delivered


def audit_sinks_sweep() -> int:
    """Queues a run for every sink of the current organisation that is behind and due (the
    periodic catch-up); returns how many."""
    due = list(sinks_due().values_list("pk", flat=True))
    for sink_id in due:
        queue_delivery(current_organization_id(), sink_id)
    return len(due)
