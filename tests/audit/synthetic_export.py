"""Synthetic, valid audit exports built with ``audit.chain`` exactly as the database writer
chains events (L3, L6, L9), for the offline verifier's tests and benchmark. Pure: no Django.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import GENESIS, canonical, chain_hmac, leaf_hash
from audit.merkle import MerkleAccumulator
from audit.signing import public_key_b64, sign_checkpoint
from audit.verify import EXPORT_FORMAT

ORGANIZATION = 7
SHORT_ID = "alpha"
_START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def synthetic_event(organization: int, seq: int, key_version: int = 1) -> dict[str, Any]:
    """A realistic event: non-ASCII text, nested changes, as ``audit.services.event_fields``
    renders a stored row."""
    return {
        "organization": organization,
        "seq": seq,
        "occurred_at": (_START + timedelta(seconds=seq)).isoformat(),
        "actor_type": "user",
        "actor_id": str(1000 + seq % 17),
        "actor_label": f"Zoë Ødegård {seq % 17}",
        "actor_role": "manager",
        "action": "shift.assign",
        "entity_type": "workforce.shift",
        "entity_id": str(50_000 + seq),
        "changes": {"assignee": [None, 300 + seq % 41], "status": ["open", "assigned"]},
        "ip": f"203.0.113.{seq % 250}",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/135.0",
        "request_id": f"{seq:032x}",
        "key_version": key_version,
    }


def record_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def chained(
    events: list[dict[str, Any]], key: bytes, previous: bytes = GENESIS
) -> list[dict[str, Any]]:
    """Export records for ``events``, chained from ``previous`` with ``key``."""
    records = []
    for event in events:
        event_hmac = chain_hmac(key, previous, canonical(event))
        records.append({"event": event, "prev_hmac": previous.hex(), "hmac": event_hmac.hex()})
        previous = event_hmac
    return records


@dataclass
class SyntheticLog:
    """One organisation's log, grown an event at a time, with the Merkle tree a checkpoint
    signer would keep."""

    hmac_key: bytes = field(default_factory=lambda: bytes(range(32)))
    signing_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    organization: int = ORGANIZATION
    short_id: str = SHORT_ID
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    _tree: MerkleAccumulator = field(default_factory=MerkleAccumulator, init=False)
    _last_hmac: bytes = field(default=GENESIS, init=False)

    @property
    def public_key_b64(self) -> str:
        return public_key_b64(self.signing_key)

    @property
    def size(self) -> int:
        return self._tree.size

    def append(self) -> dict[str, Any]:
        event = synthetic_event(self.organization, self.size + 1)
        canonical_event = canonical(event)
        event_hmac = chain_hmac(self.hmac_key, self._last_hmac, canonical_event)
        record = {"event": event, "prev_hmac": self._last_hmac.hex(), "hmac": event_hmac.hex()}
        self._tree.append(leaf_hash(canonical_event, event_hmac))
        self._last_hmac = event_hmac
        return record

    def checkpoint(self) -> dict[str, Any]:
        """Sign the tree as it stands, as the platform does periodically (L9)."""
        checkpoint = sign_checkpoint(
            self.signing_key,
            organization=self.organization,
            short_id=self.short_id,
            tree_size=self.size,
            root_hash=self._tree.root(),
            created_at=_START + timedelta(seconds=self.size, milliseconds=500),
        )
        self.checkpoints.append(checkpoint)
        return checkpoint

    def header(self) -> dict[str, Any]:
        return {
            "format": EXPORT_FORMAT,
            "organization": self.organization,
            "short_id": self.short_id,
            "name": "Alpha Guarding",
            "exported_at": (_START + timedelta(days=30)).isoformat(),
            "requested_by": "ann@alpha.example",
            "purpose": "Regulator inspection",
            "event_count": self.size,
            "signing_public_key": self.public_key_b64,
            "checkpoints": list(self.checkpoints),
        }


@dataclass
class SyntheticExport:
    log: SyntheticLog
    header: dict[str, Any]
    records: list[dict[str, Any]]

    def lines(self) -> list[str]:
        return [record_line(self.header), *map(record_line, self.records)]

    def write(self, path: Path) -> Path:
        path.write_text("".join(line + "\n" for line in self.lines()), encoding="utf-8")
        return path


def build_export(events: int, *, checkpoint_every: int = 10) -> SyntheticExport:
    """A valid export of ``events`` events with a signed checkpoint every
    ``checkpoint_every`` events and at the end."""
    log = SyntheticLog()
    records = list(_grow(log, events, checkpoint_every))
    return SyntheticExport(log, log.header(), records)


def write_large_export(path: Path, events: int, *, checkpoint_every: int) -> SyntheticLog:
    """Stream a valid export of ``events`` events to ``path`` without holding it: the body
    goes to a temporary file first because the header carries the checkpoints."""
    log = SyntheticLog()
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=path.parent) as body:
        for record in _grow(log, events, checkpoint_every):
            body.write(record_line(record) + "\n")
        body.seek(0)
        with path.open("w", encoding="utf-8") as export:
            export.write(record_line(log.header()) + "\n")
            shutil.copyfileobj(body, export, 1 << 20)
    return log


def _grow(log: SyntheticLog, events: int, checkpoint_every: int) -> Iterator[dict[str, Any]]:
    for _ in range(events):
        yield log.append()
        if log.size % checkpoint_every == 0:
            log.checkpoint()
    if events % checkpoint_every:
        log.checkpoint()
