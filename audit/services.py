"""Recording audit events (L1, L3). Every service-layer write calls ``audit_event_record``
inside its own transaction, so the event and the change commit or roll back together."""

from __future__ import annotations

import json
from datetime import UTC
from functools import lru_cache
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from audit import chain
from audit.context import Actor, acting_as, current_actor, current_origin, user_actor
from audit.models import AuditEvent
from audit.stream_dispatch import deliver_after_commit
from keys.keyring import data_key
from tenants.context import current_organization_id, tenant_context
from tenants.selectors import organizations_for_user

Changes = dict[str, list[Any]]


def entity_type_of(instance: models.Model) -> str:
    return instance._meta.label_lower


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The audited fields of a row, as JSON-ready values (foreign keys by id)."""
    return {name: getattr(instance, instance._meta.get_field(name).attname) for name in fields}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """Only what changed, as ``{field: [before, after]}`` (L1)."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


_INT64 = range(-(2**63), 2**63)


def _int_or_text(literal: str) -> int | str:
    # The canonical encoder (orjson) holds 64-bit integers; a larger one is kept as its text.
    value = int(literal)
    return value if value in _INT64 else literal


def _json_ready(changes: Changes) -> Changes:
    # What is hashed must be exactly what PostgreSQL stores and gives back: dates, decimals and
    # UUIDs become strings here, once.
    return json.loads(json.dumps(changes, default=str), parse_int=_int_or_text)


@lru_cache(maxsize=1024)
def _chain_key(organization_id: int, version: int, data_key_bytes: bytes) -> bytes:
    return chain.chain_key(data_key_bytes)


def chain_key_for(version: int | None = None) -> tuple[int, bytes]:
    material = data_key(version)
    return material.version, _chain_key(material.organization_id, material.version, material.key)


_HEAD_FOR_UPDATE = (
    "SELECT last_seq, last_hmac FROM audit_chain_head WHERE organization_id = %s FOR UPDATE"
)


def _locked_head(cursor, organization_id: int) -> tuple[int, bytes]:
    """The organisation's newest link, locked until commit: every writer of one organisation
    waits here, so seqs never collide and the chain never forks (L3)."""
    cursor.execute(_HEAD_FOR_UPDATE, [organization_id])
    row = cursor.fetchone()
    if row is None:
        # The organisation's first event creates its head; ON CONFLICT makes two concurrent
        # first writers safe.
        cursor.execute(
            "INSERT INTO audit_chain_head (organization_id, last_seq, last_hmac) "
            "VALUES (%s, 0, %s) ON CONFLICT (organization_id) DO NOTHING",
            [organization_id, chain.GENESIS],
        )
        cursor.execute(_HEAD_FOR_UPDATE, [organization_id])
        row = cursor.fetchone()
    return row[0], bytes(row[1])


_EVENT_COLUMNS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
# Built once from the model's own column names (no input reaches it). One round trip for both
# writes, so auditing a service write costs two statements: the lock, then this.
_INSERT_EVENT_AND_ADVANCE_HEAD = (
    f"WITH event AS (INSERT INTO audit_event ({', '.join(f.column for f in _EVENT_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_EVENT_COLUMNS))}) RETURNING id) "
    "UPDATE audit_chain_head SET last_seq = %s, last_hmac = %s "
    "WHERE organization_id = %s RETURNING (SELECT id FROM event)"
)


def _insert_event_and_advance_head(cursor, event: AuditEvent) -> int:
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _EVENT_COLUMNS]
    cursor.execute(
        _INSERT_EVENT_AND_ADVANCE_HEAD,
        [*values, event.seq, event.hmac, event.organization_id],
    )
    return cursor.fetchone()[0]


# No savepoint of its own: an event belongs to its caller's transaction, and if recording it
# fails, that whole transaction must fail too (two round trips saved per event).
@transaction.atomic(savepoint=False)
def audit_event_record(
    *,
    action: str,
    entity: models.Model | None = None,
    entity_type: str = "",
    entity_id: str | int = "",
    changes: Changes | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    organization_id = current_organization_id()
    actor = actor or current_actor()
    origin = current_origin()
    if entity is not None:
        entity_type, entity_id = entity_type_of(entity), entity.pk
    key_version, key = chain_key_for()
    with connection.cursor() as cursor:
        last_seq, last_hmac = _locked_head(cursor, organization_id)
        event = AuditEvent(
            organization_id=organization_id,
            seq=last_seq + 1,
            occurred_at=timezone.now(),
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label,
            actor_role=actor.role,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            changes=_json_ready(changes or {}),
            ip=origin.ip or "",
            user_agent=origin.user_agent[:512],
            request_id=origin.request_id,
            key_version=key_version,
            prev_hmac=last_hmac,
        )
        event.hmac = chain.chain_hmac(key, last_hmac, chain.canonical(event_fields(event)))
        event.pk = _insert_event_and_advance_head(cursor, event)
    event._state.adding = False
    # L8: the organisation's sinks get the event once it has committed.
    deliver_after_commit(organization_id)
    return event


def audit_event_record_durably(request, **event) -> None:
    """Records an event that must survive the request's rollback (a refused access, L1): it
    is written in its own transaction once the request's transaction has ended."""
    actor, origin = current_actor(), current_origin()

    def write() -> None:
        with acting_as(actor, origin):
            audit_event_record(**event)

    request.durable_writes.append(write)


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The canonical fields of a stored or new event (audit.chain.EVENT_FIELDS)."""
    return {
        "organization": event.organization_id,
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "actor_role": event.actor_role,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "changes": event.changes,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "key_version": event.key_version,
    }


def record_in_each_organisation(
    user,
    action: str,
    actor: Actor | None = None,
    *,
    entity: models.Model | None = None,
    changes: Changes | None = None,
) -> None:
    """Events about a person (sign-in, password, second factors) belong to every organisation
    they are a member of, since they happen outside any one organisation. ``entity`` defaults
    to the person."""
    for organization in organizations_for_user(user):
        with tenant_context(organization), acting_as(actor or user_actor(user)):
            audit_event_record(action=action, entity=entity or user, changes=changes)
