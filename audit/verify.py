"""The offline verifier for audit exports (L3, L6, L9). Pure: no Django, no database, so a
customer or regulator can run it on their own machine against their own kept checkpoints::

    python -m audit.verify EXPORT.jsonl --public-key B64 [--checkpoint CP.json ...]
                                        [--hmac-key HEX | --hmac-key VERSION:HEX ...]

Export format (JSON Lines, UTF-8): line 1 is the header ``{"format":
"palisade-audit-export/1", "organization", "short_id", "name", "exported_at",
"requested_by", "purpose", "event_count", "signing_public_key", "checkpoints"}``; every
further line is ``{"event": {<audit.chain.EVENT_FIELDS>}, "prev_hmac": hex, "hmac": hex}``
in seq order from seq 1.

What a pass proves depends on what the verifier is given. The HMAC chain's linkage is
checked always, but without the key anyone could recompute it. With ``--hmac-key`` every
event is proven to come from the key holder (L3). The chain key is derived from the
organisation's data key, so a log that spans a key rotation needs one key per
``key_version`` (``--hmac-key 1:HEX --hmac-key 2:HEX``). Signed checkpoints prove, without any
secret, that the first ``tree_size`` events are exactly the ones the platform signed (L9);
they are verified with the public key given on the command line, never only with the key
the (unsigned, rewritable) header names, and a customer's own kept copies are the ones
that count.

The walk streams: memory is constant in the number of events (a Merkle accumulator of
O(log n) hashes, the previous hmac and the checkpoints), so a 1,000,000-event export is
verified without holding it. ``ChainVerifier`` is the reusable core the database-side
``audit_verify`` command feeds row by row.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import orjson

from audit.chain import CANONICAL_OPTIONS, EVENT_FIELDS, GENESIS, chain_hmac, leaf_hash
from audit.merkle import MerkleAccumulator
from audit.signing import (
    CheckpointInvalid,
    CheckpointMalformed,
    public_key_from_b64,
    verify_checkpoint,
)

EXPORT_FORMAT = "palisade-audit-export/1"
_HASH_SIZE = 32
_RECORD_FIELDS = frozenset(("event", "prev_hmac", "hmac"))
_EVENT_FIELDS = frozenset(EVENT_FIELDS)

# ``audit.chain.canonical`` for an event whose keys are exactly EVENT_FIELDS, without the
# copy of the fields. The tests recompute hmacs made with audit.chain.canonical over every
# kind of JSON value.
_encode_canonical = partial(orjson.dumps, option=CANONICAL_OPTIONS)

# Header field name -> its type; the verifier relies on organization, event_count and
# checkpoints, and refuses a header that is not the documented shape at all.
_HEADER_FIELDS: dict[str, type] = {
    "format": str,
    "organization": int,
    "short_id": str,
    "name": str,
    "exported_at": str,
    "requested_by": str,
    "purpose": str,
    "event_count": int,
    "signing_public_key": str,
    "checkpoints": list,
}
_TYPE_NAMES = {int: "an integer", str: "a string", list: "an array"}


# The chain key(s) to recompute hmacs with: one key for every event, a key per
# ``key_version``, or a function of the version (the database side derives them on demand).
HmacKeys = bytes | Mapping[int, bytes] | Callable[[int], bytes]
_NO_VERSION = object()


class MalformedInput(ValueError):
    """Input the verifier cannot work with (not JSON, wrong format, bad key, malformed
    checkpoint). Distinct from ``VerificationFailed``: nothing was proven either way."""


class VerificationFailed(Exception):
    """Evidence of tampering: the first check that failed, at the event where it failed
    (``seq`` is None when the failure is not tied to one event)."""

    def __init__(self, reason: str, seq: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seq = seq


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    events: int
    checkpoints_verified: int
    latest_tree_size: int | None
    first_bad_seq: int | None = None
    reason: str | None = None

    def summary(self) -> str:
        if not self.ok:
            if self.first_bad_seq is None:
                return f"FAILED: {self.reason}"
            return f"FAILED at event seq {self.first_bad_seq}: {self.reason}"
        if self.latest_tree_size is None:
            return f"OK: {self.events} events, 0 checkpoints verified (none covers the log)"
        return (
            f"OK: {self.events} events, {self.checkpoints_verified} checkpoints verified "
            f"(latest tree size {self.latest_tree_size})"
        )


@dataclass(frozen=True)
class _PendingCheckpoint:
    label: str
    root: bytes


def _key_lookup(hmac_key: HmacKeys | None) -> Callable[[Any], bytes] | None:
    if hmac_key is None or callable(hmac_key):
        return hmac_key
    if isinstance(hmac_key, bytes):
        return lambda _key_version: hmac_key
    keys = dict(hmac_key)

    def by_version(key_version: Any) -> bytes:
        key = keys.get(key_version) if type(key_version) is int else None
        if key is None:
            raise MalformedInput(f"no hmac key was given for key_version {key_version!r}")
        return key

    return by_version


class ChainVerifier:
    """Checks one organisation's events one at a time, in seq order (L3, L9).

    Add every checkpoint first (``add_checkpoint``), then ``feed`` export records (or
    ``add`` decoded events), then ``finish``. Each step raises ``VerificationFailed`` at the
    first sign of tampering and ``MalformedInput`` for input that is not an audit log;
    ``result`` turns either outcome into a ``VerificationResult``.
    """

    def __init__(
        self,
        *,
        organization: int,
        public_key_b64: str,
        hmac_key: HmacKeys | None = None,
    ) -> None:
        """``hmac_key`` None skips recomputing hmacs (see ``HmacKeys``)."""
        try:
            public_key_from_b64(public_key_b64)
        except ValueError as error:
            raise MalformedInput(str(error)) from None
        self._organization = organization
        self._public_key_b64 = public_key_b64
        self._hmac_key_for = _key_lookup(hmac_key)
        # Consecutive events share a key version; derive each version's key once per run.
        self._key_version: object = _NO_VERSION
        self._key = b""
        self._tree = MerkleAccumulator()
        self._last_hmac = GENESIS
        self._pending: dict[int, list[_PendingCheckpoint]] = {}
        self._signatures: set[str] = set()
        self._verified = 0
        self._latest_verified: int | None = None

    @property
    def events(self) -> int:
        """How many events have been walked (each passed the checks of its own line)."""
        return self._tree.size

    def add_checkpoint(self, label: str, checkpoint: dict[str, Any]) -> None:
        """Verify the checkpoint's signature now and its root when the walk reaches its tree
        size. ``label`` names it in messages (a file name, "header checkpoint 2")."""
        try:
            verify_checkpoint(checkpoint, self._public_key_b64)
        except CheckpointMalformed as error:
            raise MalformedInput(f"{label}: {error.reason}") from None
        except CheckpointInvalid as error:
            raise VerificationFailed(f"{label}: {error.reason}") from None
        if checkpoint["organization"] != self._organization:
            raise VerificationFailed(
                f"{label} is for organisation {checkpoint['organization']}, "
                f"not {self._organization}"
            )
        size = checkpoint["tree_size"]
        if size < self._tree.size:
            raise ValueError("checkpoints must be added before the walk passes their size")
        # The same checkpoint kept by the customer and carried in the header counts once;
        # Ed25519 signatures are unique per message and key.
        if checkpoint["signature"] in self._signatures:
            return
        self._signatures.add(checkpoint["signature"])
        self._pending.setdefault(size, []).append(
            _PendingCheckpoint(label, bytes.fromhex(checkpoint["root_hash"]))
        )
        if size == self._tree.size:
            self._check_roots_at(size)

    def feed(self, record: Mapping[str, Any]) -> None:
        """One export line's record: ``{"event": {...}, "prev_hmac": hex, "hmac": hex}``."""
        try:
            event = record["event"]
            prev_hmac = bytes.fromhex(record["prev_hmac"])
            event_hmac = bytes.fromhex(record["hmac"])
        except (KeyError, TypeError, ValueError):
            raise MalformedInput(
                "a record is {'event': {...}, 'prev_hmac': hex, 'hmac': hex}"
            ) from None
        if len(record) != len(_RECORD_FIELDS):
            raise MalformedInput(
                f"unexpected record fields: {', '.join(sorted(record.keys() - _RECORD_FIELDS))}"
            )
        if len(prev_hmac) != _HASH_SIZE or len(event_hmac) != _HASH_SIZE:
            raise MalformedInput(f"prev_hmac and hmac must be {_HASH_SIZE} bytes of hex")
        if type(event) is not dict:
            raise MalformedInput("a record's event is a JSON object")
        self.add(event, prev_hmac, event_hmac)

    def add(self, event: dict[str, Any], prev_hmac: bytes, event_hmac: bytes) -> None:
        """One event with its stored chain values, in seq order."""
        seq = event.get("seq")
        # bool is an int subclass and True == 1: a seq of true is not seq 1.
        if type(seq) is not int:
            raise MalformedInput(f"seq must be an integer, got {seq!r}")
        expected = self._tree.size + 1
        if seq != expected:
            if seq > expected:
                raise VerificationFailed(
                    f"seq {expected} is missing (the next event has seq {seq}): "
                    "events were deleted or reordered",
                    expected,
                )
            raise VerificationFailed(
                f"seq {seq} appears again where seq {expected} was expected: "
                "an event was duplicated, inserted or reordered",
                seq,
            )
        organization = event.get("organization")
        if type(organization) is not int or organization != self._organization:
            raise VerificationFailed(
                f"event belongs to organisation {organization!r}, not {self._organization}",
                seq,
            )
        if prev_hmac != self._last_hmac:
            previous = "GENESIS" if seq == 1 else f"the hmac of seq {seq - 1}"
            raise VerificationFailed(
                f"prev_hmac does not equal {previous}: the chain is broken here", seq
            )
        if event.keys() != _EVENT_FIELDS:
            missing = _EVENT_FIELDS - event.keys()
            if missing:
                raise MalformedInput(f"event lacks fields: {sorted(missing)}")
            # The canonical form holds only EVENT_FIELDS: anything else would be shown to a
            # reader yet covered by neither the hmac nor the Merkle tree.
            extra = ", ".join(sorted(event.keys() - _EVENT_FIELDS))
            raise VerificationFailed(f"event carries fields outside the chain: {extra}", seq)
        canonical_event = _encode_canonical(event)
        if self._hmac_key_for is not None:
            key_version = event["key_version"]
            if key_version != self._key_version:
                try:
                    self._key = self._hmac_key_for(key_version)
                except LookupError:
                    raise VerificationFailed(
                        f"key_version {key_version!r} is not a key of this log: "
                        "the event was altered or forged",
                        seq,
                    ) from None
                self._key_version = key_version
            if chain_hmac(self._key, prev_hmac, canonical_event) != event_hmac:
                raise VerificationFailed(
                    f"hmac does not match the one recomputed with the key for key_version "
                    f"{key_version!r}: the event was altered or forged",
                    seq,
                )
        self._tree.append(leaf_hash(canonical_event, event_hmac))
        self._last_hmac = event_hmac
        if seq in self._pending:
            self._check_roots_at(seq)

    def _check_roots_at(self, size: int) -> None:
        root = self._tree.root()
        for checkpoint in self._pending.pop(size):
            if checkpoint.root != root:
                if size == 0:
                    suspects = "it does not sign the empty tree's root"
                elif self._latest_verified == size:
                    # The signer equivocated: two different roots for the same events.
                    suspects = "it contradicts another signed checkpoint of the same size"
                else:
                    covered = self._latest_verified or 0
                    suspects = (
                        f"an event in seq {covered + 1}..{size} was altered, inserted or removed"
                    )
                raise VerificationFailed(
                    f"the Merkle root of the first {size} events does not match "
                    f"{checkpoint.label}: {suspects}",
                    size or None,
                )
            self._verified += 1
        self._latest_verified = size

    def finish(self) -> None:
        """The end of the log: no checkpoint may cover more events than were walked."""
        if self._pending:
            size = min(self._pending)
            end = self._tree.size
            raise VerificationFailed(
                f"the log ends at seq {end}, but {self._pending[size][0].label} covers {size} "
                f"events: seq {end + 1}..{size} were deleted or truncated",
                end + 1,
            )

    def result(self, failure: VerificationFailed | None = None) -> VerificationResult:
        return VerificationResult(
            ok=failure is None,
            events=self._tree.size,
            checkpoints_verified=self._verified,
            latest_tree_size=self._latest_verified,
            first_bad_seq=failure.seq if failure else None,
            reason=failure.reason if failure else None,
        )


def verify_records(
    records: Iterable[Mapping[str, Any]],
    *,
    organization: int,
    public_key_b64: str,
    checkpoints: Iterable[tuple[str, dict[str, Any]]],
    hmac_key: HmacKeys | None = None,
    expected_events: int | None = None,
) -> VerificationResult:
    """Walk one organisation's records (export-shaped dicts) against labelled checkpoints.
    Raises ``MalformedInput``; every tampering outcome is a failed result."""
    verifier = ChainVerifier(
        organization=organization, public_key_b64=public_key_b64, hmac_key=hmac_key
    )
    try:
        for label, checkpoint in checkpoints:
            verifier.add_checkpoint(label, checkpoint)
        for record in records:
            try:
                verifier.feed(record)
            except MalformedInput as error:
                raise MalformedInput(f"event record {verifier.events + 1}: {error}") from None
        verifier.finish()
        if expected_events is not None and expected_events != verifier.events:
            raise VerificationFailed(
                f"the header says {expected_events} events, the log holds {verifier.events}"
            )
    except VerificationFailed as failure:
        return verifier.result(failure)
    return verifier.result()


def _read_header(line: str | None) -> dict[str, Any]:
    if line is None:
        raise MalformedInput("the export is empty: no header line")
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise MalformedInput("line 1 (the header) is not JSON") from None
    if type(header) is not dict:
        raise MalformedInput("line 1 (the header) is not a JSON object")
    if header.get("format") != EXPORT_FORMAT:
        raise MalformedInput(
            f"not an audit export: format is {header.get('format')!r}, expected {EXPORT_FORMAT!r}"
        )
    for name, expected in _HEADER_FIELDS.items():
        if name not in header:
            raise MalformedInput(f"the header lacks the field {name!r}")
        value = header[name]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise MalformedInput(f"header field {name!r} must be {_TYPE_NAMES[expected]}")
    return header


def _parse_line(line: str, number: int) -> Any:
    try:
        return orjson.loads(line)
    except (ValueError, RecursionError):
        raise MalformedInput(f"line {number} is not JSON") from None


def _records(lines: Iterator[str]) -> Iterator[Any]:
    for number, line in enumerate(lines, start=2):
        yield _parse_line(line, number)


def verify_export(
    lines: Iterable[str],
    *,
    public_key_b64: str,
    checkpoints: Iterable[tuple[str, dict[str, Any]]] = (),
    hmac_key: HmacKeys | None = None,
) -> VerificationResult:
    """Verify an export read line by line. ``checkpoints`` are the customer's own kept copies
    as ``(label, checkpoint)``; the header's checkpoints are checked as well, all with
    ``public_key_b64``."""
    lines = iter(lines)
    header = _read_header(next(lines, None))
    header_checkpoints = [
        (f"header checkpoint {number}", checkpoint)
        for number, checkpoint in enumerate(header["checkpoints"], start=1)
    ]
    return verify_records(
        _records(lines),
        organization=header["organization"],
        public_key_b64=public_key_b64,
        checkpoints=[*checkpoints, *header_checkpoints],
        hmac_key=hmac_key,
        expected_events=header["event_count"],
    )


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors in the same ``ERROR:`` form and exit status as every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"ERROR: {message}\n")


def _chain_key_from_hex(value: str) -> bytes:
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise MalformedInput("--hmac-key is not hex") from None
    if len(key) != _HASH_SIZE:
        raise MalformedInput(
            f"--hmac-key must be the organisation's {_HASH_SIZE}-byte chain key "
            f"({2 * _HASH_SIZE} hex digits), got {len(key)} bytes"
        )
    return key


def _hmac_keys(values: list[str]) -> bytes | dict[int, bytes] | None:
    """Either one ``HEX`` key for every event or ``VERSION:HEX`` keys, one per version."""
    if not values:
        return None
    if len(values) == 1 and ":" not in values[0]:
        return _chain_key_from_hex(values[0])
    keys: dict[int, bytes] = {}
    for value in values:
        version, separator, key_hex = value.partition(":")
        if not separator or not (version.isascii() and version.isdigit()):
            raise MalformedInput(
                "give one --hmac-key HEX, or one --hmac-key VERSION:HEX per key_version"
            )
        if int(version) in keys:
            raise MalformedInput(f"--hmac-key given twice for key_version {int(version)}")
        keys[int(version)] = _chain_key_from_hex(key_hex)
    return keys


def _read_checkpoint(path: Path) -> tuple[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MalformedInput(f"cannot read checkpoint {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise MalformedInput(f"checkpoint {path} is not UTF-8 text") from None
    try:
        return str(path), json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedInput(f"checkpoint {path} is not JSON") from None


def main(argv: list[str] | None = None) -> int:
    parser = _ArgumentParser(
        prog="python -m audit.verify",
        description="Verify a Palisade audit export offline (HMAC chain, Merkle tree, "
        "signed checkpoints).",
    )
    parser.add_argument("export", type=Path, help="the export (JSON Lines)")
    parser.add_argument(
        "--public-key", required=True, help="the platform's Ed25519 public key (base64)"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        metavar="CP.json",
        help="a signed checkpoint you kept (repeatable)",
    )
    parser.add_argument(
        "--hmac-key",
        action="append",
        default=[],
        metavar="[VERSION:]HEX",
        help="the organisation's chain key, to recompute every hmac; one per key_version "
        "(VERSION:HEX, repeatable) when the log spans a key rotation",
    )
    args = parser.parse_args(argv)
    try:
        hmac_key = _hmac_keys(args.hmac_key)
        checkpoints = [_read_checkpoint(path) for path in args.checkpoint]
        try:
            with args.export.open(encoding="utf-8") as lines:
                result = verify_export(
                    lines,
                    public_key_b64=args.public_key,
                    checkpoints=checkpoints,
                    hmac_key=hmac_key,
                )
        except OSError as error:
            raise MalformedInput(f"cannot read {args.export}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise MalformedInput(f"{args.export} is not UTF-8 text") from None
    except MalformedInput as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    if result.ok and hmac_key is None and result.latest_tree_size is None:
        print(
            "WARNING: no --hmac-key and no checkpoint: only the chain's internal linkage "
            "was checked, which anyone can recompute",
            file=sys.stderr,
        )
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
