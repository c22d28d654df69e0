"""Regulator-ready exports of an organisation's log (L6).

An export is itself an audit event (requester, stated purpose, format) recorded before any
event is read, and it contains every event up to and including that record. The JSON Lines
form is what ``python -m audit.verify`` checks offline: a header with the organisation, the
platform public key and every signed checkpoint, then one record per event with its chain
values. The CSV form carries the same columns for spreadsheets, hmacs included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.chain import EVENT_FIELDS
from audit.checkpoints import platform_public_key
from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import chain_records
from audit.services import audit_event_record
from config.csv_export import CsvLines
from tenants.context import current_organization_id, tenant_context
from tenants.models import Organization

EXPORT_FORMAT = "palisade-audit-export/1"
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
MIN_PURPOSE_LENGTH = 10


@dataclass(frozen=True)
class ExportRequest:
    organization_id: int
    file_format: str
    up_to_seq: int
    requested_by: str
    purpose: str

    @property
    def filename(self) -> str:
        return f"audit-{self.organization_id}-1-{self.up_to_seq}.{self.file_format}"


def audit_export_request(*, file_format: str, purpose: str) -> ExportRequest:
    """Validates and records an export in the current organisation; the lines are produced by
    ``export_lines`` (in its own transaction, so a long download holds no request open)."""
    purpose = purpose.strip()
    errors = {}
    if file_format not in FORMATS:
        errors["format"] = f"Choose one of: {', '.join(FORMATS)}."
    if len(purpose) < MIN_PURPOSE_LENGTH:
        errors["purpose"] = f"State the purpose of the export ({MIN_PURPOSE_LENGTH}+ characters)."
    if errors:
        raise ValidationError(errors)
    event = audit_event_record(
        action="audit.exported",
        changes={"format": [None, file_format], "purpose": [None, purpose]},
    )
    return ExportRequest(
        organization_id=current_organization_id(),
        file_format=file_format,
        up_to_seq=event.seq,
        requested_by=event.actor_label or event.actor_type,
        purpose=purpose,
    )


def _exported(request: ExportRequest) -> Iterator[tuple[dict, bytes, bytes]]:
    return chain_records(AuditEvent.objects.filter(seq__lte=request.up_to_seq))


def _jsonl(request: ExportRequest, organization: Organization) -> Iterator[str]:
    header = {
        "format": EXPORT_FORMAT,
        "organization": organization.pk,
        "short_id": organization.short_id,
        "name": organization.name,
        "exported_at": timezone.now().isoformat(),
        "requested_by": request.requested_by,
        "purpose": request.purpose,
        "event_count": request.up_to_seq,
        "signing_public_key": platform_public_key(),
        "checkpoints": [
            checkpoint.document
            for checkpoint in AuditCheckpoint.objects.filter(
                tree_size__lte=request.up_to_seq
            ).order_by("tree_size")
        ],
    }
    yield json.dumps(header, ensure_ascii=False) + "\n"
    for fields, prev_hmac, event_hmac in chain_records(
        AuditEvent.objects.filter(seq__lte=request.up_to_seq)
    ):
        record = {"event": fields, "prev_hmac": prev_hmac.hex(), "hmac": event_hmac.hex()}
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _cell(value) -> str:
    # The CSV is for reading; the JSON Lines export is the exact, verifiable form.
    return "" if value is None else str(value)


def _csv(request: ExportRequest) -> Iterator[str]:
    lines = CsvLines()
    yield lines.row([*EVENT_FIELDS, "prev_hmac", "hmac"])
    for fields, prev_hmac, event_hmac in chain_records(
        AuditEvent.objects.filter(seq__lte=request.up_to_seq)
    ):
        row = [
            _cell(
                json.dumps(fields[name], ensure_ascii=False) if name == "changes" else fields[name]
            )
            for name in EVENT_FIELDS
        ]
        yield lines.row([*row, prev_hmac.hex(), event_hmac.hex()])


def export_lines(request: ExportRequest) -> Iterator[str]:
    """The export's text, streamed, inside the organisation's own context and transaction."""
    with tenant_context(request.organization_id):
        if request.file_format == "jsonl":
            organization = Organization.objects.get(pk=request.organization_id)
            yield from _jsonl(request, organization)
        else:
            yield from _csv(request)
