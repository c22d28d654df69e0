"""Signed checkpoints of each organisation's log (L9), made by a periodic job."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.chain import GENESIS, canonical, chain_hmac, leaf_hash
from audit.merkle import MerkleAccumulator
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.selectors import chain_records
from audit.services import chain_key_for
from audit.signing import public_key_b64, sign_checkpoint, signing_key_from_seed
from tenants.context import current_organization_id
from tenants.models import Organization


class ChainBroken(Exception):
    """The events since the last checkpoint do not chain: nothing is signed over them."""


@cache
def _signing_key():
    return signing_key_from_seed(settings.PALISADE_AUDIT_SIGNING_KEY)


def platform_public_key() -> str:
    """The Ed25519 public key every checkpoint verifies against (base64)."""
    return public_key_b64(_signing_key())


def _frontier(accumulator: MerkleAccumulator) -> list[str]:
    return [node.hex() for node in accumulator.subtrees]


@transaction.atomic
def checkpoint_create() -> AuditCheckpoint | None:
    """Signs the current organisation's log up to its newest event, if anything is new.

    Only the events since the previous checkpoint are read: their chain is re-checked with the
    organisation's key before anything is signed, and the Merkle tree continues from the
    previous checkpoint's frontier.
    """
    head = AuditChainHead.objects.select_for_update().first()
    previous = AuditCheckpoint.objects.order_by("-tree_size").first()
    covered = previous.tree_size if previous else 0
    if head is None or head.last_seq <= covered:
        return None
    # The previous checkpoint's signed root vouches for its stored frontier: an altered
    # frontier is refused instead of being built upon.
    tree = (
        MerkleAccumulator.resume(
            previous.tree_size,
            [bytes.fromhex(h) for h in previous.frontier],
            root=bytes.fromhex(previous.document["root_hash"]),
        )
        if previous
        else MerkleAccumulator()
    )
    last_hmac = (
        bytes(AuditEvent.objects.values_list("hmac", flat=True).get(seq=covered))
        if covered
        else GENESIS
    )
    new_events = AuditEvent.objects.filter(seq__gt=covered, seq__lte=head.last_seq)
    for fields, prev_hmac, event_hmac in chain_records(new_events):
        canonical_event = canonical(fields)
        _, key = chain_key_for(fields["key_version"])
        expected_seq = tree.size + 1
        if (
            fields["seq"] != expected_seq
            or prev_hmac != last_hmac
            or chain_hmac(key, prev_hmac, canonical_event) != event_hmac
        ):
            raise ChainBroken(f"the chain does not verify at seq {expected_seq}; not signing")
        tree.append(leaf_hash(canonical_event, event_hmac))
        last_hmac = event_hmac
    organization = Organization.objects.get(pk=current_organization_id())
    document = sign_checkpoint(
        _signing_key(),
        organization=organization.pk,
        short_id=organization.short_id,
        tree_size=tree.size,
        root_hash=tree.root(),
        created_at=timezone.now(),
    )
    return AuditCheckpoint.objects.create(
        tree_size=tree.size, document=document, frontier=_frontier(tree)
    )
