"""RFC 9162 (Certificate Transparency v2, the successor of RFC 6962) Merkle tree over the
audit log's leaf hashes (L9). Pure: no Django, no database.

Hand-rolled rather than imported: no well-kept Python library implements RFC 9162 inclusion
and consistency proofs, and the algorithms are short enough to follow the RFC text line by
line (the section numbers below point at it). Known-answer tests pin the result to the
Certificate Transparency reference vectors, so other implementations agree with ours.

Leaf hashes come from ``audit.chain.leaf_hash`` (``SHA-256(0x00 || ...)``); interior nodes
are ``SHA-256(0x01 || left || right)``; the empty tree's root is ``SHA-256(b"")``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_NODE_PREFIX = b"\x01"


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """RFC 9162 §2.1.1: the largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleAccumulator:
    """The root of a growing tree, one leaf hash at a time, in O(log n) memory.

    Holds the roots of the perfect subtrees that make up the tree so far (one per set bit of
    the size, largest first), so a verifier can stream a 1,000,000-event log and ask for the
    root at every checkpoint's size without ever holding the log.
    """

    __slots__ = ("_size", "_subtrees")

    def __init__(self) -> None:
        self._size = 0
        self._subtrees: list[bytes] = []

    @classmethod
    def resume(
        cls, size: int, subtrees: Sequence[bytes], *, root: bytes | None = None
    ) -> MerkleAccumulator:
        """Continue a tree from a stored frontier (``subtrees`` at ``size``), so a periodic
        checkpoint reads only the events since the previous one (L9). Pass the root that the
        previous checkpoint signed: a frontier altered in the database then fails here
        instead of being built upon."""
        if size < 0 or len(subtrees) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {max(size, 0).bit_count()} subtrees")
        if not all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in subtrees):
            raise ValueError(f"every subtree root is {HASH_SIZE} bytes")
        accumulator = cls()
        accumulator._size = size
        accumulator._subtrees = list(subtrees)
        if root is not None and accumulator.root() != root:
            raise ValueError("the frontier does not produce the given root")
        return accumulator

    @property
    def size(self) -> int:
        return self._size

    @property
    def subtrees(self) -> tuple[bytes, ...]:
        """The roots of the perfect subtrees, largest first: the tree's whole state, for
        ``resume``."""
        return tuple(self._subtrees)

    def append(self, leaf_hash: bytes) -> None:
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}")
        node = leaf_hash
        subtrees = self._subtrees
        # Each trailing 1 bit of the old size is a perfect subtree the same size as the one
        # being carried: merge them, exactly like binary addition.
        size = self._size
        while size & 1:
            node = _node(subtrees.pop(), node)
            size >>= 1
        subtrees.append(node)
        self._size += 1

    def root(self) -> bytes:
        """RFC 9162 §2.1.1 MTH of the leaves appended so far."""
        if not self._subtrees:
            return EMPTY_ROOT
        # The split rule puts the largest perfect subtree on the left at every level, so the
        # root folds the subtree roots from the smallest (rightmost) up.
        node = self._subtrees[-1]
        for left in reversed(self._subtrees[:-1]):
            node = _node(left, node)
        return node


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    accumulator = MerkleAccumulator()
    for leaf_hash in leaf_hashes:
        accumulator.append(leaf_hash)
    return accumulator.root()


def _subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    return root_of(leaf_hashes[i] for i in range(start, end))


def _check_size(leaf_hashes: Sequence[bytes], tree_size: int) -> None:
    if not 0 <= tree_size <= len(leaf_hashes):
        raise ValueError(f"tree size {tree_size} is outside 0..{len(leaf_hashes)}")


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:tree_size]), ordered from the leaf up."""
    _check_size(leaf_hashes, tree_size)
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of size {tree_size}")
    proof: list[bytes] = []
    start, end = 0, tree_size
    # Walk down from the root; each level contributes the sibling subtree's root, and the
    # RFC's recursion appends those on the way back up, so the path is reversed at the end.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            proof.append(_subtree_root(leaf_hashes, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]); empty when there is nothing to prove
    (an empty old tree, or equal sizes)."""
    _check_size(leaf_hashes, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is outside 0..{new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    # SUBPROOF(m, D[start:end], b), unrolled: the recursion only ever descends into one side.
    m, start, end, whole_old_tree = old_size, 0, new_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            proof.append(_subtree_root(leaf_hashes, start, start + k))
            m -= k
            start += k
            whole_old_tree = False
    # SUBPROOF(m, D[m], true) is empty (the verifier knows the old root); with b false the
    # subtree's root is part of the proof.
    if not whole_old_tree:
        proof.append(_subtree_root(leaf_hashes, start, end))
    proof.reverse()
    return proof


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: whether ``proof`` shows ``leaf_hash`` at ``index`` in the tree of
    ``tree_size`` leaves whose root is ``root``."""
    if not _well_formed(leaf_hash, root, *proof):
        return False
    # Step 1.
    if not 0 <= index < tree_size:
        return False
    # Steps 2-3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``proof`` shows the tree of ``new_size`` leaves (root
    ``new_root``) extends the tree of ``old_size`` leaves (root ``old_root``)."""
    if not _well_formed(old_root, new_root, *proof):
        return False
    if not 0 <= old_size <= new_size:
        return False
    # The RFC's algorithm covers 0 < old_size < new_size. Outside it there is nothing to
    # prove, so only an empty proof is accepted: the empty tree precedes every tree, and a
    # tree of equal size must be the same tree.
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    # Step 1.
    if not proof:
        return False
    # Step 2.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    # Steps 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    return fr == old_root and sr == new_root and sn == 0
