"""L9: the Merkle tree under the signed checkpoints is RFC 6962 / RFC 9162's, byte for byte,
and its proofs verify exactly when they should. Pure: no database."""

from __future__ import annotations

import hashlib

import pytest

from audit.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)

PROOF_SIZES = 40


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, transcribed literally (recursive, holds every leaf)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


LEAVES = [leaf(i.to_bytes(2, "big")) for i in range(71)]


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_L9_root_matches_the_rfc6962_reference_for_every_size_0_to_70():
    accumulator = MerkleAccumulator()
    assert accumulator.root() == EMPTY_ROOT == reference_root([])
    for n in range(1, 71):
        accumulator.append(LEAVES[n - 1])
        expected = reference_root(LEAVES[:n])
        assert accumulator.size == n
        assert accumulator.root() == expected, n
        assert root_of(LEAVES[:n]) == expected, n


# Certificate Transparency's published test vectors (transparency-dev/merkle testonly),
# so the tree agrees with other implementations and not only with our own reading.
CT_DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CT_CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_L9_tree_matches_the_certificate_transparency_vectors():
    leaves = [leaf(bytes.fromhex(data)) for data in CT_DATA]
    for size, root in enumerate(CT_ROOTS):
        assert root_of(leaves[:size]).hex() == root, size
    for index, size, proof in CT_INCLUSION:
        assert [h.hex() for h in inclusion_proof(leaves, index, size)] == proof
        assert verify_inclusion(
            leaves[index], index, size, [bytes.fromhex(h) for h in proof], root_of(leaves[:size])
        )
    for old, new, proof in CT_CONSISTENCY:
        assert [h.hex() for h in consistency_proof(leaves, old, new)] == proof
        assert verify_consistency(
            old,
            new,
            root_of(leaves[:old]),
            root_of(leaves[:new]),
            [bytes.fromhex(h) for h in proof],
        )


# The tree size is not varied below: a proof only relates a (size, root) pair it is given,
# and binding the two is the checkpoint signature's job (audit.signing).
def test_L9_every_inclusion_proof_verifies_and_no_tampered_one_does():
    for size in range(1, PROOF_SIZES + 1):
        root = root_of(LEAVES[:size])
        for index in range(size):
            proof = inclusion_proof(LEAVES, index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root), (index, size)

            assert not verify_inclusion(LEAVES[index], index, size, proof, flipped(root))
            assert not verify_inclusion(flipped(LEAVES[index]), index, size, proof, root)
            assert not verify_inclusion(LEAVES[index], index + 1, size, proof, root)
            assert not verify_inclusion(LEAVES[index], index, size, [*proof, root], root)
            for position in range(len(proof)):
                tampered = [*proof]
                tampered[position] = flipped(tampered[position])
                assert not verify_inclusion(LEAVES[index], index, size, tampered, root)
            if proof:
                assert not verify_inclusion(LEAVES[index], index, size, proof[:-1], root)


def test_L9_every_consistency_proof_verifies_and_no_tampered_one_does():
    roots = [root_of(LEAVES[:size]) for size in range(PROOF_SIZES + 1)]
    for new in range(PROOF_SIZES + 1):
        for old in range(new + 1):
            proof = consistency_proof(LEAVES, old, new)
            assert verify_consistency(old, new, roots[old], roots[new], proof), (old, new)

            if old > 0:
                # A different history of the same size is not consistent with the new tree,
                # nor is the old tree with a different new one (anything extends the empty
                # tree, so size 0 has nothing to refuse).
                assert not verify_consistency(old, new, flipped(roots[old]), roots[new], proof)
                assert not verify_consistency(old, new, roots[old], flipped(roots[new]), proof)
            assert not verify_consistency(old, new, roots[old], roots[new], [*proof, roots[new]])
            for position in range(len(proof)):
                tampered = [*proof]
                tampered[position] = flipped(tampered[position])
                assert not verify_consistency(old, new, roots[old], roots[new], tampered)
            if proof:
                assert not verify_consistency(old, new, roots[old], roots[new], proof[:-1])


def test_L9_consistency_refuses_a_shrinking_or_negative_tree():
    roots = [root_of(LEAVES[:size]) for size in range(6)]
    assert not verify_consistency(5, 4, roots[5], roots[4], [])
    assert not verify_consistency(-1, 4, roots[0], roots[4], [])
    assert not verify_consistency(0, 4, roots[1], roots[4], [])


def test_L9_verifiers_refuse_hashes_that_are_not_32_bytes():
    proof = inclusion_proof(LEAVES, 3, 8)
    root = root_of(LEAVES[:8])
    assert not verify_inclusion(LEAVES[3], 3, 8, [*proof[:-1], proof[-1][:31]], root)
    assert not verify_inclusion(LEAVES[3][:31], 3, 8, proof, root)
    assert not verify_consistency(3, 8, root_of(LEAVES[:3])[:16], root, [])


@pytest.mark.parametrize(
    ("index", "size"), [(-1, 4), (4, 4), (0, 0), (0, len(LEAVES) + 1)], ids=str
)
def test_L9_inclusion_proof_of_a_leaf_outside_the_tree_is_refused(index, size):
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(LEAVES, index, size)


@pytest.mark.parametrize(("old", "new"), [(5, 4), (-1, 4), (0, len(LEAVES) + 1)], ids=str)
def test_L9_consistency_proof_between_impossible_sizes_is_refused(old, new):
    with pytest.raises(ValueError, match="outside"):
        consistency_proof(LEAVES, old, new)


def test_L9_accumulator_resumes_from_its_frontier_at_every_size():
    for size in range(71):
        grown = MerkleAccumulator()
        for leaf_hash in LEAVES[:size]:
            grown.append(leaf_hash)
        resumed = MerkleAccumulator.resume(size, grown.subtrees, root=grown.root())
        assert len(grown.subtrees) == size.bit_count()
        for leaf_hash in LEAVES[size:]:
            resumed.append(leaf_hash)
        assert resumed.root() == reference_root(LEAVES), size


def test_L9_resume_refuses_a_frontier_that_does_not_fit():
    grown = MerkleAccumulator()
    for leaf_hash in LEAVES[:11]:
        grown.append(leaf_hash)
    frontier = list(grown.subtrees)
    with pytest.raises(ValueError, match="has 3 subtrees"):
        MerkleAccumulator.resume(11, frontier[:2])
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleAccumulator.resume(11, [*frontier[:2], b"short"])
    # A frontier altered in the database no longer produces the signed root.
    with pytest.raises(ValueError, match="does not produce the given root"):
        MerkleAccumulator.resume(11, [flipped(frontier[0]), *frontier[1:]], root=grown.root())


def test_L9_accumulator_refuses_a_leaf_that_is_not_a_hash():
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleAccumulator().append(b"short")
