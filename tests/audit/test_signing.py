"""L9: Ed25519-signed checkpoints round-trip, and every way a checkpoint can be wrong is
refused with a reason a customer can read. Pure: no database."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.signing import (
    CHECKPOINT_FORMAT,
    CheckpointInvalid,
    CheckpointMalformed,
    key_id,
    public_key_b64,
    sign_checkpoint,
    signing_key_from_seed,
    verify_checkpoint,
)

SEED = bytes(range(100, 132))
ROOT = hashlib.sha256(b"root").digest()
CREATED_AT = datetime(2026, 3, 1, 9, 30, 15, 250_000, tzinfo=UTC)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return signing_key_from_seed(base64.b64encode(SEED).decode())


@pytest.fixture
def checkpoint(key) -> dict:
    return sign_checkpoint(
        key, organization=7, short_id="alpha", tree_size=1234, root_hash=ROOT, created_at=CREATED_AT
    )


def test_L9_checkpoint_round_trip(key, checkpoint):
    assert checkpoint == {
        "format": CHECKPOINT_FORMAT,
        "organization": 7,
        "short_id": "alpha",
        "tree_size": 1234,
        "root_hash": ROOT.hex(),
        "created_at": "2026-03-01T09:30:15.250000Z",
        "key_id": key_id(key),
        "signature": checkpoint["signature"],
    }
    raw_public = base64.b64decode(public_key_b64(key))
    assert key_id(key) == hashlib.sha256(raw_public).digest()[:8].hex()
    assert public_key_b64(key.public_key()) == public_key_b64(key)
    # A customer keeps the checkpoint as a JSON file; it must survive that trip.
    verify_checkpoint(json.loads(json.dumps(checkpoint)), public_key_b64(key))


def test_L9_signed_message_is_the_compact_sorted_json_of_every_field_but_the_signature(
    key, checkpoint
):
    message = json.dumps(
        {name: value for name, value in checkpoint.items() if name != "signature"},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    key.public_key().verify(base64.b64decode(checkpoint["signature"]), message)


def test_L9_created_at_is_stored_in_utc(key):
    checkpoint = sign_checkpoint(
        key,
        organization=7,
        short_id="alpha",
        tree_size=1,
        root_hash=ROOT,
        created_at=datetime(2026, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=2))),
    )
    assert checkpoint["created_at"] == "2026-03-01T09:00:00Z"


def test_L9_signing_refuses_a_naive_time_or_a_short_root(key):
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_checkpoint(
            key,
            organization=7,
            short_id="alpha",
            tree_size=1,
            root_hash=ROOT,
            created_at=datetime(2026, 3, 1),
        )
    with pytest.raises(ValueError, match="32 bytes"):
        sign_checkpoint(
            key,
            organization=7,
            short_id="alpha",
            tree_size=1,
            root_hash=b"x",
            created_at=CREATED_AT,
        )


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(bytes(31)).decode(), "must be 32 raw bytes"),
        (base64.b64encode(bytes(64)).decode(), "must be 32 raw bytes"),
    ],
    ids=["not-base64", "short", "long"],
)
def test_L9_signing_key_seed_must_be_32_bytes_of_base64(seed, message):
    with pytest.raises(ValueError, match=message):
        signing_key_from_seed(seed)


def _altered(checkpoint: dict, **fields) -> dict:
    altered = copy.deepcopy(checkpoint)
    for name, value in fields.items():
        if value is _MISSING:
            del altered[name]
        else:
            altered[name] = value
    return altered


_MISSING = object()

MALFORMED = [
    ({"format": "palisade-audit-checkpoint/2"}, "unknown checkpoint format"),
    ({"root_hash": _MISSING}, "lacks fields: root_hash"),
    ({"signature": _MISSING}, "lacks fields: signature"),
    ({"comment": "hello"}, "unknown fields: comment"),
    ({"organization": "7"}, "'organization' must be an integer"),
    ({"organization": True}, "'organization' must be an integer"),
    ({"tree_size": 12.0}, "'tree_size' must be an integer"),
    ({"tree_size": -1}, "cannot be negative"),
    ({"short_id": None}, "'short_id' must be a string"),
    ({"root_hash": "zz" * 32}, "root_hash must be 32 bytes of hex"),
    ({"root_hash": ROOT.hex()[:-2]}, "root_hash must be 32 bytes of hex"),
    ({"key_id": "abc"}, "key_id must be 8 bytes of hex"),
    ({"created_at": "yesterday"}, "not an ISO 8601 time"),
    ({"created_at": "2026-03-01T11:30:15+02:00"}, "must be in UTC"),
    ({"created_at": "2026-03-01T09:30:15"}, "must be in UTC"),
    ({"signature": "%%%"}, "signature is not valid base64"),
    ({"signature": base64.b64encode(bytes(32)).decode()}, "signature must be 64 bytes"),
]


@pytest.mark.parametrize(("fields", "reason"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_L9_malformed_checkpoint_is_refused_with_its_reason(key, checkpoint, fields, reason):
    with pytest.raises(CheckpointMalformed, match=reason) as refused:
        verify_checkpoint(_altered(checkpoint, **fields), public_key_b64(key))
    assert reason in refused.value.reason


def test_L9_a_checkpoint_is_a_json_object(key):
    with pytest.raises(CheckpointMalformed, match="JSON object"):
        verify_checkpoint([1, 2], public_key_b64(key))  # type: ignore[arg-type]


def test_L9_checkpoint_signed_by_another_key_names_both_key_ids(key, checkpoint):
    other = Ed25519PrivateKey.generate()
    with pytest.raises(CheckpointInvalid) as refused:
        verify_checkpoint(checkpoint, public_key_b64(other))
    assert not isinstance(refused.value, CheckpointMalformed)
    assert (
        refused.value.reason == f"signed by key {key_id(key)}, not by the given key {key_id(other)}"
    )


@pytest.mark.parametrize(
    "fields",
    [{"tree_size": 1235}, {"root_hash": "00" * 32}, {"organization": 8}, {"short_id": "bravo"}],
    ids=lambda fields: next(iter(fields)),
)
def test_L9_altered_checkpoint_fails_its_signature(key, checkpoint, fields):
    with pytest.raises(CheckpointInvalid, match="signature does not verify") as refused:
        verify_checkpoint(_altered(checkpoint, **fields), public_key_b64(key))
    assert not isinstance(refused.value, CheckpointMalformed)


def test_L9_forger_claiming_our_key_id_still_fails_the_signature(key, checkpoint):
    forger = Ed25519PrivateKey.generate()
    forged = sign_checkpoint(
        forger,
        organization=7,
        short_id="alpha",
        tree_size=9999,
        root_hash=ROOT,
        created_at=CREATED_AT,
    )
    forged["key_id"] = key_id(key)
    with pytest.raises(CheckpointInvalid, match="signature does not verify"):
        verify_checkpoint(forged, public_key_b64(key))


@pytest.mark.parametrize(
    "public_key",
    ["not base64!", base64.b64encode(bytes(16)).decode()],
    ids=["not-base64", "short"],
)
def test_L9_verifying_with_a_malformed_public_key_is_a_value_error(checkpoint, public_key):
    with pytest.raises(ValueError, match="public key"):
        verify_checkpoint(checkpoint, public_key)
