"""Module exports (G3): the rows a member can see, with the fields they may receive.

An export is the list the member could page through, in one file: the same selector (scope,
Z4; live rows, G6; withheld fields not loaded, Z7) and the same serializer, whose field set
is the CSV's columns, so a withheld field is absent from the header and every row. Each export
is recorded before any row is read (L1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from rest_framework.serializers import Serializer

from audit.services import audit_event_record
from config.csv_export import CsvLines
from tenants.context import current_organization_id, tenant_context
from tenants.models import Membership
from workforce import selectors

# Rows fetched per round trip while streaming: bounded memory for any size of export.
CHUNK_ROWS = 500


@dataclass(frozen=True)
class ShiftExport:
    organization_id: int
    membership: Membership
    withheld: frozenset[str]
    columns: tuple[str, ...]
    started_at: str

    @property
    def filename(self) -> str:
        return f"shifts-{self.organization_id}-{self.started_at}.csv"


@transaction.atomic
def shift_export_request(
    *, membership: Membership, withheld: frozenset[str], columns: list[str]
) -> ShiftExport:
    """Records the export of the member's visible shifts with these columns; the rows come
    from ``shift_export_lines``."""
    audit_event_record(
        action="shift.exported",
        entity_type="workforce.shift",
        changes={"columns": [None, columns], "withheld": [None, sorted(withheld)]},
    )
    return ShiftExport(
        organization_id=current_organization_id(),
        membership=membership,
        withheld=withheld,
        columns=tuple(columns),
        started_at=timezone.now().strftime("%Y%m%dT%H%M%SZ"),
    )


def cell_text(value) -> str:
    """One serialized value as text: a referenced row by its name, nothing as empty."""
    if isinstance(value, dict):
        value = value.get("name")
    return "" if value is None else str(value)


def shift_export_lines(export: ShiftExport, serializer: Serializer) -> Iterator[str]:
    """The CSV, streamed after the request has ended: inside the organisation's own context
    and transaction, read in chunks."""
    lines = CsvLines()
    yield lines.row(export.columns)
    with tenant_context(export.organization_id):
        shifts = selectors.shifts_for(export.membership, export.withheld)
        for shift in shifts.iterator(chunk_size=CHUNK_ROWS):
            row = serializer.to_representation(shift)
            yield lines.row(cell_text(row[name]) for name in export.columns)
