"""Signed checkpoints of an organisation's audit tree (L9). Pure: no Django, no database.

A checkpoint commits to the Merkle root (``audit.merkle``) of the first ``tree_size`` events
of one organisation's log and is signed with the platform's Ed25519 key. A customer who
keeps checkpoints can later prove, offline and without trusting our database, that the log
they are shown still contains exactly those events: rewriting history would need the
signing key, not just every row of the database.

The signed message is the compact, key-sorted JSON (UTF-8) of every field except
``signature``, the same canonical style as ``audit.chain.canonical``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHECKPOINT_FORMAT = "palisade-audit-checkpoint/1"
_SEED_SIZE = 32
_PUBLIC_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_KEY_ID_SIZE = 8
_ROOT_HASH_SIZE = 32

# Field name -> the one type it may have. The format is versioned, so an unknown field is
# refused rather than silently signed-and-ignored by an older verifier.
_FIELDS: dict[str, type] = {
    "format": str,
    "organization": int,
    "short_id": str,
    "tree_size": int,
    "root_hash": str,
    "created_at": str,
    "key_id": str,
    "signature": str,
}
_TYPE_NAMES = {int: "an integer", str: "a string"}


class CheckpointInvalid(Exception):
    """A checkpoint that must not be trusted; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CheckpointMalformed(CheckpointInvalid):
    """Not a checkpoint at all (wrong format, missing or ill-typed fields), as opposed to a
    well-formed one whose key id or signature is wrong. The offline verifier reports the
    first as bad input and the second as evidence of tampering."""


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{what} is not valid base64: {error}") from None


def signing_key_from_seed(b64_seed: str) -> Ed25519PrivateKey:
    seed = _b64decode(b64_seed, "the audit signing key")
    if len(seed) != _SEED_SIZE:
        raise ValueError(
            f"the audit signing key must be {_SEED_SIZE} raw bytes (base64), got {len(seed)}"
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_from_b64(b64_key: str) -> Ed25519PublicKey:
    raw = _b64decode(b64_key, "the public key")
    if len(raw) != _PUBLIC_KEY_SIZE:
        raise ValueError(
            f"an Ed25519 public key is {_PUBLIC_KEY_SIZE} raw bytes (base64), got {len(raw)}"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def _raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public_key(key)).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public_key(key)).digest()[:_KEY_ID_SIZE].hex()


def _signed_message(checkpoint: dict[str, Any]) -> bytes:
    return json.dumps(
        {name: value for name, value in checkpoint.items() if name != "signature"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sign_checkpoint(
    private_key: Ed25519PrivateKey,
    *,
    organization: int,
    short_id: str,
    tree_size: int,
    root_hash: bytes,
    created_at: datetime,
) -> dict[str, Any]:
    if len(root_hash) != _ROOT_HASH_SIZE:
        raise ValueError(f"a root hash is {_ROOT_HASH_SIZE} bytes, got {len(root_hash)}")
    if tree_size < 0:
        raise ValueError("tree_size cannot be negative")
    checkpoint: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "organization": organization,
        "short_id": short_id,
        "tree_size": tree_size,
        "root_hash": root_hash.hex(),
        "created_at": _utc_iso(created_at),
        "key_id": key_id(private_key),
    }
    signature = private_key.sign(_signed_message(checkpoint))
    checkpoint["signature"] = base64.b64encode(signature).decode("ascii")
    return checkpoint


def _is_hex(value: str, size: int) -> bool:
    try:
        return len(value) == 2 * size and len(bytes.fromhex(value)) == size
    except ValueError:
        return False


def _check_shape(checkpoint: Any) -> None:
    if not isinstance(checkpoint, dict):
        raise CheckpointMalformed("a checkpoint is a JSON object")
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointMalformed(
            f"unknown checkpoint format {checkpoint.get('format')!r}, "
            f"expected {CHECKPOINT_FORMAT!r}"
        )
    missing = _FIELDS.keys() - checkpoint.keys()
    if missing:
        raise CheckpointMalformed(f"checkpoint lacks fields: {', '.join(sorted(missing))}")
    unknown = checkpoint.keys() - _FIELDS.keys()
    if unknown:
        raise CheckpointMalformed(f"checkpoint has unknown fields: {', '.join(sorted(unknown))}")
    for name, expected in _FIELDS.items():
        value = checkpoint[name]
        # bool is an int subclass; true is not an organisation id.
        if not isinstance(value, expected) or isinstance(value, bool):
            raise CheckpointMalformed(f"checkpoint field {name!r} must be {_TYPE_NAMES[expected]}")
    if checkpoint["tree_size"] < 0:
        raise CheckpointMalformed("checkpoint tree_size cannot be negative")
    if not _is_hex(checkpoint["root_hash"], _ROOT_HASH_SIZE):
        raise CheckpointMalformed(f"checkpoint root_hash must be {_ROOT_HASH_SIZE} bytes of hex")
    if not _is_hex(checkpoint["key_id"], _KEY_ID_SIZE):
        raise CheckpointMalformed(f"checkpoint key_id must be {_KEY_ID_SIZE} bytes of hex")
    try:
        created_at = datetime.fromisoformat(checkpoint["created_at"])
    except ValueError:
        raise CheckpointMalformed("checkpoint created_at is not an ISO 8601 time") from None
    offset = created_at.utcoffset()
    if offset is None or offset:
        raise CheckpointMalformed("checkpoint created_at must be in UTC")
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointMalformed("checkpoint signature is not valid base64") from None
    if len(signature) != _SIGNATURE_SIZE:
        raise CheckpointMalformed(f"checkpoint signature must be {_SIGNATURE_SIZE} bytes")


def verify_checkpoint(checkpoint: dict[str, Any], public_key_b64: str) -> None:
    """Raise ``CheckpointInvalid`` unless ``checkpoint`` is well formed and signed by the key
    given. ``ValueError`` means the key itself is not an Ed25519 public key."""
    public_key = public_key_from_b64(public_key_b64)
    _check_shape(checkpoint)
    expected_key_id = key_id(public_key)
    if checkpoint["key_id"] != expected_key_id:
        raise CheckpointInvalid(
            f"signed by key {checkpoint['key_id']}, not by the given key {expected_key_id}"
        )
    try:
        public_key.verify(base64.b64decode(checkpoint["signature"]), _signed_message(checkpoint))
    except InvalidSignature:
        raise CheckpointInvalid("signature does not verify: the checkpoint was altered") from None
