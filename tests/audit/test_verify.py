"""L3, L6, L9: the offline verifier passes a genuine export and names the first bad event of
every kind of tampering; bad input is an ``ERROR:`` with exit status 2, never a traceback.
Pure: no database (the exports are synthetic, chained with ``audit.chain``)."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import GENESIS, canonical, leaf_hash
from audit.merkle import MerkleAccumulator
from audit.signing import key_id, public_key_b64, sign_checkpoint
from audit.verify import ChainVerifier, MalformedInput, VerificationResult, verify_export
from tests.audit.synthetic_export import (
    SyntheticExport,
    SyntheticLog,
    build_export,
    chained,
    record_line,
    synthetic_event,
)

ROOT = Path(__file__).resolve().parents[2]
ATTACKER_KEY = hashlib.sha256(b"a guess at the chain key").digest()

Header = dict[str, Any]
Records = list[dict[str, Any]]


@pytest.fixture(scope="module")
def genuine() -> SyntheticExport:
    """30 events with signed checkpoints at tree sizes 10, 20 and 30 in the header."""
    return build_export(30, checkpoint_every=10)


def _lines(header: Header, records: Records) -> list[str]:
    return [record_line(header), *map(record_line, records)]


def _verify(
    export: SyntheticExport,
    header: Header | None = None,
    records: Records | None = None,
    *,
    keyed: bool,
    kept: Sequence[dict[str, Any]] = (),
) -> VerificationResult:
    return verify_export(
        _lines(header or export.header, export.records if records is None else records),
        public_key_b64=export.log.public_key_b64,
        checkpoints=[(f"kept checkpoint {c['tree_size']}", c) for c in kept],
        hmac_key=export.log.hmac_key if keyed else None,
    )


def test_L9_genuine_export_passes(genuine):
    for keyed in (False, True):
        result = _verify(genuine, keyed=keyed)
        assert result == VerificationResult(
            ok=True, events=30, checkpoints_verified=3, latest_tree_size=30
        )
        assert result.summary() == "OK: 30 events, 3 checkpoints verified (latest tree size 30)"


def test_L9_kept_copies_of_header_checkpoints_count_once(genuine):
    log = SyntheticLog(signing_key=genuine.log.signing_key, hmac_key=genuine.log.hmac_key)
    for _ in range(25):
        log.append()
    kept_at_25 = log.checkpoint()
    result = _verify(genuine, keyed=False, kept=[*genuine.log.checkpoints, kept_at_25])
    assert (result.ok, result.checkpoints_verified, result.latest_tree_size) == (True, 4, 30)


# --- Tampering. Each case: what the attacker does to (header, records), then where the
# verifier must stop with the chain key (L3) and without it (checkpoints only, L9).


def _forged_event(seq: int) -> dict[str, Any]:
    event = synthetic_event(7, seq)
    event["action"] = "payroll.bank_details_change"
    return event


def change_a_field(header: Header, records: Records) -> None:
    records[14]["event"]["entity_id"] = "99999"


def delete_an_event(header: Header, records: Records) -> None:
    del records[14]


def insert_with_a_made_up_hmac(header: Header, records: Records) -> None:
    # Links to seq 14 and renumbers what follows, but cannot produce the next link.
    records.insert(
        14,
        {
            "event": _forged_event(15),
            "prev_hmac": records[13]["hmac"],
            "hmac": hashlib.sha256(b"looks like an hmac").hexdigest(),
        },
    )
    for record in records[15:]:
        record["event"]["seq"] += 1
    header["event_count"] += 1


def insert_with_the_same_seq(header: Header, records: Records) -> None:
    records.insert(
        14,
        {
            "event": _forged_event(15),
            "prev_hmac": records[13]["hmac"],
            "hmac": records[14]["hmac"],
        },
    )
    header["event_count"] += 1


def insert_and_rechain_without_the_key(header: Header, records: Records) -> None:
    # A database superuser's best effort: every link is consistent, computed with a guess.
    events = [_forged_event(15)] + [record["event"] for record in records[14:]]
    for event in events[1:]:
        event["seq"] += 1
    records[14:] = chained(events, ATTACKER_KEY, bytes.fromhex(records[13]["hmac"]))
    header["event_count"] += 1


def swap_two_lines(header: Header, records: Records) -> None:
    records[14], records[15] = records[15], records[14]


def swap_two_events_keeping_seq_order(header: Header, records: Records) -> None:
    records[14], records[15] = records[15], records[14]
    records[14]["event"]["seq"], records[15]["event"]["seq"] = 15, 16


def truncate_below_the_last_checkpoint(header: Header, records: Records) -> None:
    del records[25:]
    header["event_count"] = 25


def move_an_event_from_another_organisation(header: Header, records: Records) -> None:
    records[14]["event"]["organization"] = 8


def add_a_field_outside_the_chain(header: Header, records: Records) -> None:
    records[14]["event"]["approved_by"] = "the regulator"


@dataclass(frozen=True)
class Tamper:
    apply: Callable[[Header, Records], None]
    keyed_seq: int
    keyed_reason: str
    unkeyed_seq: int
    unkeyed_reason: str


OUTSIDE_11_20 = "does not match header checkpoint 2: an event in seq 11..20"
HMAC_MISMATCH = "hmac does not match the one recomputed with the key"

TAMPERS = [
    Tamper(change_a_field, 15, HMAC_MISMATCH, 20, OUTSIDE_11_20),
    Tamper(delete_an_event, 15, "seq 15 is missing", 15, "seq 15 is missing"),
    Tamper(
        insert_with_a_made_up_hmac,
        15,
        HMAC_MISMATCH,
        16,
        "prev_hmac does not equal the hmac of seq 15",
    ),
    Tamper(
        insert_with_the_same_seq,
        15,
        HMAC_MISMATCH,
        15,
        "seq 15 appears again where seq 16 was expected",
    ),
    Tamper(insert_and_rechain_without_the_key, 15, HMAC_MISMATCH, 20, OUTSIDE_11_20),
    Tamper(swap_two_lines, 15, "seq 15 is missing", 15, "seq 15 is missing"),
    Tamper(
        swap_two_events_keeping_seq_order,
        15,
        "prev_hmac does not equal the hmac of seq 14",
        15,
        "prev_hmac does not equal the hmac of seq 14",
    ),
    Tamper(
        truncate_below_the_last_checkpoint,
        26,
        "the log ends at seq 25, but header checkpoint 3 covers 30 events: seq 26..30",
        26,
        "the log ends at seq 25, but header checkpoint 3 covers 30 events: seq 26..30",
    ),
    Tamper(
        move_an_event_from_another_organisation,
        15,
        "belongs to organisation 8, not 7",
        15,
        "belongs to organisation 8, not 7",
    ),
    Tamper(
        add_a_field_outside_the_chain,
        15,
        "fields outside the chain: approved_by",
        15,
        "fields outside the chain: approved_by",
    ),
]


def _tampered(
    export: SyntheticExport, tamper: Callable[[Header, Records], None]
) -> tuple[Header, Records]:
    header, records = copy.deepcopy(export.header), copy.deepcopy(export.records)
    tamper(header, records)
    return header, records


@pytest.mark.parametrize("keyed", [True, False], ids=["with-hmac-key", "checkpoints-only"])
@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda tamper: tamper.apply.__name__)
def test_L3_L9_tampering_is_detected_at_the_first_bad_seq(genuine, tamper, keyed):
    header, records = _tampered(genuine, tamper.apply)
    result = _verify(genuine, header, records, keyed=keyed)
    seq, reason = (
        (tamper.keyed_seq, tamper.keyed_reason)
        if keyed
        else (tamper.unkeyed_seq, tamper.unkeyed_reason)
    )
    assert not result.ok
    assert result.first_bad_seq == seq, result.reason
    assert reason in result.reason
    assert result.summary().startswith(f"FAILED at event seq {seq}: ")


def test_L3_without_key_or_checkpoint_a_rechained_forgery_cannot_be_told_apart(genuine):
    """The limit that L9 exists for: the chain's linkage alone proves nothing."""
    header, records = _tampered(genuine, insert_and_rechain_without_the_key)
    header["checkpoints"] = []
    assert _verify(genuine, header, records, keyed=False).ok
    assert not _verify(genuine, header, records, keyed=True).ok


def test_L9_rewritten_header_checkpoint_fails_its_signature(genuine):
    header = copy.deepcopy(genuine.header)
    header["checkpoints"][1]["root_hash"] = hashlib.sha256(b"rewritten").hexdigest()
    result = _verify(genuine, header, keyed=False)
    assert (result.ok, result.first_bad_seq) == (False, None)
    assert result.summary() == (
        "FAILED: header checkpoint 2: signature does not verify: the checkpoint was altered"
    )


def _checkpoints_signed_by(
    key: Ed25519PrivateKey, records: Records, sizes: set[int]
) -> list[dict[str, Any]]:
    tree, checkpoints = MerkleAccumulator(), []
    for record in records:
        tree.append(leaf_hash(canonical(record["event"]), bytes.fromhex(record["hmac"])))
        if tree.size in sizes:
            checkpoints.append(
                sign_checkpoint(
                    key,
                    organization=7,
                    short_id="alpha",
                    tree_size=tree.size,
                    root_hash=tree.root(),
                    created_at=datetime(2026, 4, 1, tzinfo=UTC),
                )
            )
    return checkpoints


def test_L9_history_re_signed_by_the_attacker_fails_against_the_customers_key_and_copies(
    genuine,
):
    """A superuser rewrites history from seq 15 and re-signs the header's checkpoints with a
    key of their own, naming it in the header: only the key given on the command line and
    the customer's kept copies can tell, and they do."""
    header, records = _tampered(genuine, insert_and_rechain_without_the_key)
    forger = Ed25519PrivateKey.generate()
    header["signing_public_key"] = public_key_b64(forger)
    header["checkpoints"] = _checkpoints_signed_by(forger, records, {10, 20, 31})
    trusting_the_header = verify_export(
        _lines(header, records), public_key_b64=header["signing_public_key"]
    )
    assert trusting_the_header.ok

    result = _verify(genuine, header, records, keyed=False)
    assert result.summary() == (
        f"FAILED: header checkpoint 1: signed by key {key_id(forger)}, "
        f"not by the given key {key_id(genuine.log.signing_key)}"
    )

    # Without header checkpoints, the customer's own copy is what catches it.
    header["checkpoints"] = []
    result = _verify(genuine, header, records, keyed=False, kept=[genuine.log.checkpoints[1]])
    assert result.first_bad_seq == 20
    assert "does not match kept checkpoint 20: an event in seq 1..20" in result.reason


def test_L9_truncation_is_caught_by_a_kept_checkpoint_when_the_header_drops_it(genuine):
    header, records = _tampered(genuine, truncate_below_the_last_checkpoint)
    header["checkpoints"] = header["checkpoints"][:2]
    assert _verify(genuine, header, records, keyed=True).ok
    result = _verify(genuine, header, records, keyed=True, kept=[genuine.log.checkpoints[2]])
    assert result.first_bad_seq == 26
    assert "kept checkpoint 30 covers 30 events: seq 26..30 were deleted" in result.reason


def test_L9_checkpoint_of_another_organisation_is_refused(genuine):
    other = SyntheticLog(signing_key=genuine.log.signing_key, organization=8)
    other.append()
    result = _verify(genuine, keyed=False, kept=[other.checkpoint()])
    assert result.summary() == "FAILED: kept checkpoint 1 is for organisation 8, not 7"


def test_L6_header_event_count_must_match(genuine):
    header = {**genuine.header, "event_count": 31}
    result = _verify(genuine, header, keyed=False)
    assert result.summary() == "FAILED: the header says 31 events, the log holds 30"


def _rotated_export() -> tuple[SyntheticExport, dict[int, bytes]]:
    """Events 1-10 under data key version 1, 11-20 under version 2 (E2 key rotation)."""
    keys = {1: bytes(32), 2: bytes(range(32))}
    first = chained([synthetic_event(7, seq, 1) for seq in range(1, 11)], keys[1])
    second = chained(
        [synthetic_event(7, seq, 2) for seq in range(11, 21)],
        keys[2],
        bytes.fromhex(first[-1]["hmac"]),
    )
    export = build_export(0)
    export.header["event_count"] = 20
    export.records = first + second
    return export, keys


def test_L3_a_log_spanning_a_key_rotation_needs_each_versions_key():
    export, keys = _rotated_export()
    lines = export.lines()
    key = export.log.public_key_b64
    assert verify_export(lines, public_key_b64=key, hmac_key=keys).ok
    assert verify_export(lines, public_key_b64=key, hmac_key=keys.__getitem__).ok
    one_key = verify_export(lines, public_key_b64=key, hmac_key=keys[1])
    assert one_key.first_bad_seq == 11
    assert "the key for key_version 2" in one_key.reason
    with pytest.raises(MalformedInput, match="event record 11: no hmac key was given for"):
        verify_export(lines, public_key_b64=key, hmac_key={1: keys[1]})


def test_L3_every_kind_of_json_value_is_recomputed_byte_for_byte(tmp_path):
    """The verifier re-serialises each event itself; whatever the writer's canonical form
    (audit.chain.canonical) made of a value, the verifier must make the same bytes."""
    values = [
        'line\u2028separator, emoji \U0001f600, quote " and backslash \\',
        "control \x00\x1f\x7f and tab\t",
        1.5,
        -0.0,
        1e300,
        2**63 - 1,
        -(2**63),
        None,
        True,
        [],
        {"z": {"b": [1, {"y": 2, "x": 1}], "a": None}, "": "empty key", "é": "non-ASCII key"},
    ]
    events = []
    for seq, value in enumerate(values, start=1):
        event = synthetic_event(7, seq)
        event["changes"] = {"value": [None, value]}
        event["actor_label"] = value if isinstance(value, str) else "Zoë"
        events.append(event)
    export = build_export(0)
    export.header["event_count"] = len(events)
    export.records = chained(events, export.log.hmac_key)
    # Through a file too: a raw U+2028 in a line must not split it.
    with export.write(tmp_path / "export.jsonl").open(encoding="utf-8") as lines:
        result = verify_export(
            lines, public_key_b64=export.log.public_key_b64, hmac_key=export.log.hmac_key
        )
    assert (result.ok, result.events) == (True, len(values)), result.reason


def test_L6_lines_are_json_values_with_optional_surrounding_whitespace(genuine):
    lines = genuine.lines()
    padded = [lines[0], *(f"  {line}\t\n" for line in lines[1:])]
    assert verify_export(padded, public_key_b64=genuine.log.public_key_b64).ok
    with pytest.raises(MalformedInput, match="line 3 is not JSON"):
        verify_export(
            [*lines[:2], lines[2] + " trailing"], public_key_b64=genuine.log.public_key_b64
        )


def test_L9_chain_verifier_takes_decoded_events_one_by_one(genuine):
    """The database-side ``audit_verify`` feeds rows, not export lines."""
    verifier = ChainVerifier(
        organization=7, public_key_b64=genuine.log.public_key_b64, hmac_key=genuine.log.hmac_key
    )
    verifier.add_checkpoint("checkpoint 10", genuine.log.checkpoints[0])
    previous = GENESIS
    for record in genuine.records[:12]:
        event_hmac = bytes.fromhex(record["hmac"])
        verifier.add(record["event"], previous, event_hmac)
        previous = event_hmac
    verifier.finish()
    assert verifier.result() == VerificationResult(
        ok=True, events=12, checkpoints_verified=1, latest_tree_size=10
    )
    with pytest.raises(ValueError, match="before the walk passes their size"):
        verifier.add_checkpoint("checkpoint 10", genuine.log.checkpoints[0])


# --- The command line, as a customer runs it.


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.verify", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_L9_cli_passes_a_genuine_export_with_kept_checkpoints_and_key(genuine, tmp_path):
    export = genuine.write(tmp_path / "export.jsonl")
    kept = tmp_path / "cp-20.json"
    kept.write_text(json.dumps(genuine.log.checkpoints[1]))
    result = run_cli(
        export,
        "--public-key",
        genuine.log.public_key_b64,
        "--checkpoint",
        kept,
        "--hmac-key",
        genuine.log.hmac_key.hex(),
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "OK: 30 events, 3 checkpoints verified (latest tree size 30)\n"


def test_L9_cli_names_the_first_bad_seq(genuine, tmp_path):
    header, records = _tampered(genuine, change_a_field)
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(_lines(header, records)) + "\n", encoding="utf-8")
    result = run_cli(
        export, "--public-key", genuine.log.public_key_b64, "--hmac-key", genuine.log.hmac_key.hex()
    )
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED at event seq 15: hmac does not match")


def test_L9_cli_warns_when_nothing_but_linkage_was_checked(genuine, tmp_path):
    export = tmp_path / "export.jsonl"
    header = {**genuine.header, "checkpoints": []}
    export.write_text("\n".join(_lines(header, genuine.records)) + "\n", encoding="utf-8")
    result = run_cli(export, "--public-key", genuine.log.public_key_b64)
    assert result.returncode == 0
    assert result.stdout == "OK: 30 events, 0 checkpoints verified (none covers the log)\n"
    assert result.stderr.startswith("WARNING: no --hmac-key and no checkpoint")


def test_L3_cli_takes_one_key_per_version(tmp_path):
    export, keys = _rotated_export()
    path = export.write(tmp_path / "export.jsonl")
    versioned = [f"--hmac-key={version}:{key.hex()}" for version, key in keys.items()]
    result = run_cli(path, "--public-key", export.log.public_key_b64, *versioned)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 20 events")


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _export_with(tmp_path: Path, lines: list[str]) -> Path:
    return _write(tmp_path, "export.jsonl", "\n".join(lines) + "\n")


def _malformed_checkpoint(tmp_path: Path, export: SyntheticExport) -> list[Any]:
    checkpoint = {**export.log.checkpoints[0]}
    del checkpoint["root_hash"]
    return ["--checkpoint", _write(tmp_path, "cp.json", json.dumps(checkpoint))]


# Each case: (extra CLI arguments, what the export file holds, the message expected).
MALFORMED: dict[str, tuple[Callable[[Path, SyntheticExport], list[Any]], str]] = {
    "missing-export": (
        lambda tmp, ex: [tmp / "nowhere.jsonl"],
        "cannot read {tmp}/nowhere.jsonl: No such file or directory",
    ),
    "empty-export": (
        lambda tmp, ex: [_write(tmp, "e.jsonl", "")],
        "the export is empty: no header line",
    ),
    "header-not-json": (
        lambda tmp, ex: [_write(tmp, "e.jsonl", "hello\n")],
        "line 1 (the header) is not JSON",
    ),
    "wrong-format": (
        lambda tmp, ex: [
            _export_with(tmp, [json.dumps({**ex.header, "format": "csv/1"}), *ex.lines()[1:]])
        ],
        "not an audit export: format is 'csv/1', expected 'palisade-audit-export/1'",
    ),
    "header-field-ill-typed": (
        lambda tmp, ex: [
            _export_with(tmp, [json.dumps({**ex.header, "organization": "7"}), *ex.lines()[1:]])
        ],
        "header field 'organization' must be an integer",
    ),
    "header-field-missing": (
        lambda tmp, ex: [
            _export_with(
                tmp,
                [
                    json.dumps({k: v for k, v in ex.header.items() if k != "purpose"}),
                    *ex.lines()[1:],
                ],
            )
        ],
        "the header lacks the field 'purpose'",
    ),
    "event-line-not-json": (
        lambda tmp, ex: [_export_with(tmp, [*ex.lines()[:5], "{oops", *ex.lines()[6:]])],
        "line 6 is not JSON",
    ),
    "deeply-nested-line": (
        lambda tmp, ex: [_export_with(tmp, [*ex.lines()[:2], "[" * 100_000])],
        "line 3 is not JSON",
    ),
    "record-without-hmac": (
        lambda tmp, ex: [
            _export_with(tmp, [*ex.lines()[:3], json.dumps({"event": {}, "prev_hmac": "00"})])
        ],
        "event record 3: a record is {'event': {...}, 'prev_hmac': hex, 'hmac': hex}",
    ),
    "not-utf8": (
        lambda tmp, ex: [_write(tmp, "e.jsonl", b'{"format": "\xff\xfe"}\n')],
        "{tmp}/e.jsonl is not UTF-8 text",
    ),
    "header-checkpoint-malformed": (
        lambda tmp, ex: [
            _export_with(
                tmp, [json.dumps({**ex.header, "checkpoints": [{"format": 1}]}), *ex.lines()[1:]]
            )
        ],
        "header checkpoint 1: unknown checkpoint format 1, expected 'palisade-audit-checkpoint/1'",
    ),
    "kept-checkpoint-malformed": (
        lambda tmp, ex: [ex.write(tmp / "e.jsonl"), *_malformed_checkpoint(tmp, ex)],
        "{tmp}/cp.json: checkpoint lacks fields: root_hash",
    ),
    "kept-checkpoint-not-json": (
        lambda tmp, ex: [
            ex.write(tmp / "e.jsonl"),
            "--checkpoint",
            _write(tmp, "cp.json", "not json"),
        ],
        "checkpoint {tmp}/cp.json is not JSON",
    ),
    "kept-checkpoint-missing": (
        lambda tmp, ex: [ex.write(tmp / "e.jsonl"), "--checkpoint", tmp / "cp.json"],
        "cannot read checkpoint {tmp}/cp.json: No such file or directory",
    ),
    "hmac-key-not-hex": (
        lambda tmp, ex: [ex.write(tmp / "e.jsonl"), "--hmac-key", "xyz"],
        "--hmac-key is not hex",
    ),
    "hmac-key-short": (
        lambda tmp, ex: [ex.write(tmp / "e.jsonl"), "--hmac-key", "00" * 16],
        "--hmac-key must be the organisation's 32-byte chain key (64 hex digits), got 16 bytes",
    ),
    "hmac-keys-mixed": (
        lambda tmp, ex: [
            ex.write(tmp / "e.jsonl"),
            "--hmac-key",
            "00" * 32,
            "--hmac-key",
            "2:" + "00" * 32,
        ],
        "give one --hmac-key HEX, or one --hmac-key VERSION:HEX per key_version",
    ),
}


@pytest.mark.parametrize("case", MALFORMED.keys())
def test_L9_cli_malformed_input_is_an_error_without_traceback(genuine, tmp_path, case):
    arguments, message = MALFORMED[case]
    result = run_cli(*arguments(tmp_path, genuine), "--public-key", genuine.log.public_key_b64)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == f"ERROR: {message.replace('{tmp}', str(tmp_path))}\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("public_key", "message"),
    [
        ("not base64!", "the public key is not valid base64"),
        ("AAAA", "an Ed25519 public key is 32 raw bytes (base64), got 3"),
    ],
    ids=["not-base64", "short"],
)
def test_L9_cli_bad_public_key_is_an_error(genuine, tmp_path, public_key, message):
    result = run_cli(genuine.write(tmp_path / "e.jsonl"), "--public-key", public_key)
    assert result.returncode == 2
    assert result.stderr.startswith(f"ERROR: {message}")
    assert "Traceback" not in result.stderr


def test_L9_cli_usage_errors_use_the_same_form(tmp_path):
    result = run_cli(tmp_path / "e.jsonl")
    assert result.returncode == 2
    assert result.stderr.endswith("ERROR: the following arguments are required: --public-key\n")


def test_L9_offline_verifier_never_imports_django():
    probe = (
        "import sys, audit.verify, audit.merkle, audit.signing; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"
