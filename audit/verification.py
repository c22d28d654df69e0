"""Verifying an organisation's log in the database (L3, L9): the same walk as the offline
verifier (``audit.verify.ChainVerifier``), fed from the database with the organisation's
keys, plus the chain head, which catches a deleted tail newer than the last checkpoint."""

from __future__ import annotations

from audit.checkpoints import platform_public_key
from audit.models import AuditChainHead, AuditCheckpoint
from audit.selectors import chain_records
from audit.services import chain_key_for
from audit.verify import ChainVerifier, VerificationFailed, VerificationResult
from keys.providers import UnknownDataKeyVersion
from tenants.context import current_organization_id


def _hmac_key(version: int) -> bytes:
    try:
        return chain_key_for(version)[1]
    except UnknownDataKeyVersion as error:
        # A version the organisation never had is a forged event, not a configuration error.
        raise LookupError(str(error)) from error


def verify_organization_log() -> VerificationResult:
    """Walks the current organisation's whole log in seq order, streaming."""
    verifier = ChainVerifier(
        organization=current_organization_id(),
        public_key_b64=platform_public_key(),
        hmac_key=_hmac_key,
    )
    try:
        for checkpoint in AuditCheckpoint.objects.order_by("tree_size"):
            verifier.add_checkpoint(
                f"the checkpoint of {checkpoint.tree_size} events", checkpoint.document
            )
        last_hmac = None
        for fields, prev_hmac, last_hmac in chain_records():
            verifier.add(fields, prev_hmac, last_hmac)
        verifier.finish()
        head = AuditChainHead.objects.first()
        if head is not None and (
            head.last_seq != verifier.events or bytes(head.last_hmac) != (last_hmac or b"")
        ):
            raise VerificationFailed(
                f"the chain head records {head.last_seq} events but the log ends at seq "
                f"{verifier.events}: events after it were deleted, or the head was altered",
                verifier.events + 1,
            )
    except VerificationFailed as failure:
        return verifier.result(failure)
    return verifier.result()
