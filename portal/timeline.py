"""The audit timeline shown on a record's page (L5), from the same selector as the timeline
API (``audit.selectors.entity_timeline``).

Audit events keep every changed value, pay rates and internal notes included; the page
drops the values of fields this member may not receive (Z7), by the same rules that drop
them from the record's own fields: its serializer's (a timesheet's ``amount`` is pay, shown
to its own member). IP addresses and user agents stay in the audit log proper
(``audit_log.view``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import Model
from rest_framework.serializers import Serializer

from audit.selectors import entity_timeline
from rbac.fields import FieldSeparationMixin, withheld_for_request

# A record with more events than this shows the newest ones and says so.
TIMELINE_SHOWN = 200


@dataclass(frozen=True)
class TimelineEntry:
    occurred_at: datetime
    action: str
    actor: str
    changes: list[tuple[str, str, str]]  # (field, before, after)


def _value(value) -> str:
    return "—" if value is None or value == "" else str(value)


def _label(action: str, entity_type: str) -> str:
    """ "Leave request: created" for ``leaverequest.created``: an action named after its
    record's model reads with the model's own name."""
    subject, _, verb = action.partition(".")
    try:
        model = apps.get_model(entity_type)
    except (LookupError, ValueError):  # an event about no model
        model = None
    if model is not None and subject == model._meta.model_name:
        subject = str(model._meta.verbose_name)
    return f"{subject}: {verb}".replace("_", " ").capitalize() if verb else subject.capitalize()


def hidden_fields(request, serializer: Serializer | None) -> frozenset[str]:
    """The fields whose values this member may not read on the record ``serializer`` renders:
    the guarded fields its output left out, for this row (an own row reveals what
    ``own_rows_reveal`` lists). Without a field-separating serializer, the fields named
    after a rule the member lacks."""
    if isinstance(serializer, FieldSeparationMixin):
        return frozenset(serializer.withheld_somewhere() - serializer.data.keys())
    return withheld_for_request(request)


def record_timeline(
    request, record, serializer: Serializer | None = None, *, parts: Iterable[Model] = ()
) -> tuple[list[TimelineEntry], bool]:
    """The record's events, oldest first, and whether older ones were left out.
    ``serializer``: the record as its page renders it, whose rules hide changed values.
    ``parts``: records its page shows as part of it (a member's staff profile), whose events
    join its timeline."""
    hidden = hidden_fields(request, serializer)
    recorded = entity_timeline(record._meta.label_lower, record.pk)
    for part in parts:
        recorded |= entity_timeline(part._meta.label_lower, part.pk)
    events = list(recorded.order_by("-seq")[: TIMELINE_SHOWN + 1])
    truncated = len(events) > TIMELINE_SHOWN
    entries = [
        TimelineEntry(
            occurred_at=event.occurred_at,
            action=_label(event.action, event.entity_type),
            actor=event.actor_label or event.actor_type,
            changes=[
                (field.replace("_", " "), _value(change[0]), _value(change[1]))
                for field, change in (event.changes or {}).items()
                if field not in hidden and isinstance(change, list) and len(change) == 2
            ],
        )
        for event in reversed(events[:TIMELINE_SHOWN])
    ]
    return entries, truncated
