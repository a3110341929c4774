//! Known-answer and mutation tests of the audit tree's proofs.
//!
//! The audit tree (RFC 6962 with SHA-256) must reproduce the published
//! RFC 6962 / RFC 9162 vectors of transparency-dev/merkle
//! (`proof/verify_test.go`): the roots of the first eight standard leaves,
//! and its inclusion and consistency proofs. Then every single-bit flip of a
//! proof (path, index, sizes) and of what it is checked against (leaf hash,
//! trusted head's size and root) must be rejected, for those vectors and for
//! trees of many sizes; and so must every single-bit flip of a signed
//! checkpoint.

use fleetgov::audit::{
    Checkpoint, CheckpointSigner, CheckpointVerifier, ConsistencyProof, InclusionProof, MerkleTree, Rfc6962, TreeHash,
    TreeHasher, TreeHead, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

fn h(hex: &str) -> TreeHash {
    TreeHash::from_hex(hex).unwrap()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// The standard test leaves of RFC 6962 implementations.
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots of the trees of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, audit path).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn sha_tree() -> MerkleTree {
    let mut tree = MerkleTree::new();
    for leaf in LEAVES {
        tree.push_leaf(&unhex(leaf));
    }
    tree
}

fn hashes(hex: &[&str]) -> Vec<TreeHash> {
    hex.iter().map(|x| h(x)).collect()
}

fn flip(hash: &TreeHash, bit: usize) -> TreeHash {
    let mut out = *hash;
    out.0[bit / 8] ^= 1 << (bit % 8);
    out
}

/// Every single-bit flip of the proof (path, leaf index, tree size) and of
/// the trusted inputs (leaf hash, head size, head root), and every added or
/// removed path element, is rejected.
fn assert_inclusion_mutants_fail<H: TreeHasher>(leaf: &TreeHash, proof: &InclusionProof, head: &TreeHead) {
    proof.verify_with::<H>(leaf, head).unwrap();
    let what = format!("leaf {} of {}", proof.leaf_index, proof.tree_size);
    let rejects = |l: &TreeHash, p: &InclusionProof, hd: &TreeHead, mutant: &str| {
        assert!(p.verify_with::<H>(l, hd).is_err(), "accepted {mutant} ({what})");
    };
    for k in 0..proof.path.len() {
        for bit in 0..256 {
            let mut p = proof.clone();
            p.path[k] = flip(&p.path[k], bit);
            rejects(leaf, &p, head, &format!("path[{k}] bit {bit}"));
        }
    }
    for bit in 0..256 {
        rejects(&flip(leaf, bit), proof, head, &format!("leaf bit {bit}"));
        rejects(leaf, proof, &TreeHead { root: flip(&head.root, bit), ..*head }, &format!("root bit {bit}"));
    }
    for bit in 0..64 {
        let p = InclusionProof { leaf_index: proof.leaf_index ^ (1 << bit), ..proof.clone() };
        rejects(leaf, &p, head, &format!("index bit {bit}"));
        let p = InclusionProof { tree_size: proof.tree_size ^ (1 << bit), ..proof.clone() };
        rejects(leaf, &p, head, &format!("proof size bit {bit}"));
        rejects(leaf, proof, &TreeHead { size: head.size ^ (1 << bit), ..*head }, &format!("head size bit {bit}"));
    }
    let with_path = |path: Vec<TreeHash>| InclusionProof { path, ..proof.clone() };
    rejects(leaf, &with_path([&proof.path[..], &[head.root]].concat()), head, "a trailing hash");
    rejects(leaf, &with_path([&[*leaf], &proof.path[..]].concat()), head, "a leading hash");
    if let Some((_, shorter)) = proof.path.split_last() {
        rejects(leaf, &with_path(shorter.to_vec()), head, "a removed hash");
    }
}

fn assert_consistency_mutants_fail<H: TreeHasher>(proof: &ConsistencyProof, old: &TreeHead, new: &TreeHead) {
    proof.verify_with::<H>(old, new).unwrap();
    let what = format!("{} -> {}", proof.old_size, proof.new_size);
    let rejects = |p: &ConsistencyProof, a: &TreeHead, b: &TreeHead, mutant: &str| {
        assert!(p.verify_with::<H>(a, b).is_err(), "accepted {mutant} ({what})");
    };
    for k in 0..proof.path.len() {
        for bit in 0..256 {
            let mut p = proof.clone();
            p.path[k] = flip(&p.path[k], bit);
            rejects(&p, old, new, &format!("path[{k}] bit {bit}"));
        }
    }
    for bit in 0..256 {
        rejects(proof, &TreeHead { root: flip(&old.root, bit), ..*old }, new, &format!("old root bit {bit}"));
        rejects(proof, old, &TreeHead { root: flip(&new.root, bit), ..*new }, &format!("new root bit {bit}"));
    }
    for bit in 0..64 {
        let p = ConsistencyProof { old_size: proof.old_size ^ (1 << bit), ..proof.clone() };
        rejects(&p, old, new, &format!("proof old size bit {bit}"));
        let p = ConsistencyProof { new_size: proof.new_size ^ (1 << bit), ..proof.clone() };
        rejects(&p, old, new, &format!("proof new size bit {bit}"));
        rejects(proof, &TreeHead { size: old.size ^ (1 << bit), ..*old }, new, &format!("old head size bit {bit}"));
        rejects(proof, old, &TreeHead { size: new.size ^ (1 << bit), ..*new }, &format!("new head size bit {bit}"));
        // The free function alone binds the old size too (the new size is
        // bound by the proof's own size check above).
        let old_size = proof.old_size ^ (1 << bit);
        assert!(
            verify_consistency::<H>(old_size, proof.new_size, &proof.path, &old.root, &new.root).is_err(),
            "free function accepted old size bit {bit} ({what})"
        );
    }
    rejects(proof, new, old, "swapped heads");
    let with_path = |path: Vec<TreeHash>| ConsistencyProof { path, ..proof.clone() };
    rejects(&with_path([&proof.path[..], &[new.root]].concat()), old, new, "a trailing hash");
    rejects(&with_path([&proof.path[..1], &proof.path[..]].concat()), old, new, "a repeated first hash");
    rejects(&with_path(proof.path[..proof.path.len() - 1].to_vec()), old, new, "a removed hash");
    rejects(&with_path(Vec::new()), old, new, "an empty proof");
}

fn head_of<H: TreeHasher>(tree: &MerkleTree<H>, size: u64) -> TreeHead {
    TreeHead { size, root: tree.root_at(size).unwrap() }
}

#[test]
fn sha256_roots_match_the_rfc6962_vectors() {
    let tree = sha_tree();
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64 + 1).unwrap(), h(root), "size {}", size + 1);
    }
    assert_eq!(tree.root_at(0).unwrap(), h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

#[test]
fn sha256_inclusion_proofs_match_the_vectors_and_every_mutant_fails() {
    let tree = sha_tree();
    for (index, size, path) in INCLUSION {
        let want = hashes(path);
        assert_eq!(tree.inclusion_path(index, size).unwrap(), want, "leaf {index} of {size}");
        let leaf = Rfc6962::leaf(&unhex(LEAVES[index as usize]));
        let head = TreeHead { size, root: h(ROOTS[size as usize - 1]) };
        let proof = InclusionProof { leaf_index: index, tree_size: size, path: want };
        assert_inclusion_mutants_fail::<Rfc6962>(&leaf, &proof, &head);
    }
}

#[test]
fn sha256_consistency_proofs_match_the_vectors_and_every_mutant_fails() {
    let tree = sha_tree();
    for (old, new, path) in CONSISTENCY {
        let want = hashes(path);
        assert_eq!(tree.consistency_path(old, new).unwrap(), want, "{old} -> {new}");
        let old_head = TreeHead { size: old, root: h(ROOTS[old as usize - 1]) };
        let new_head = TreeHead { size: new, root: h(ROOTS[new as usize - 1]) };
        let proof = ConsistencyProof { old_size: old, new_size: new, path: want };
        assert_consistency_mutants_fail::<Rfc6962>(&proof, &old_head, &new_head);
    }
}

#[test]
fn proofs_of_every_small_tree_reject_every_mutant() {
    let mut tree = MerkleTree::new();
    for i in 0..13u32 {
        tree.push_leaf(&i.to_be_bytes());
    }
    for size in 1..=13 {
        let head = head_of(&tree, size);
        for index in 0..size {
            let proof =
                InclusionProof { leaf_index: index, tree_size: size, path: tree.inclusion_path(index, size).unwrap() };
            assert_inclusion_mutants_fail::<Rfc6962>(&tree.leaf_hash(index).unwrap(), &proof, &head);
        }
        for old in 1..size {
            let proof =
                ConsistencyProof { old_size: old, new_size: size, path: tree.consistency_path(old, size).unwrap() };
            assert_consistency_mutants_fail::<Rfc6962>(&proof, &head_of(&tree, old), &head);
        }
    }
}

/// Why proofs carry their tree size and are checked against a trusted head:
/// an RFC 9162 path alone does not bind the size. Leaf 0's path has the
/// same shape in the trees of 5 and of 7 leaves.
#[test]
fn the_tree_size_is_bound_by_the_trusted_head_not_by_the_path() {
    let tree = sha_tree();
    let leaf = tree.leaf_hash(0).unwrap();
    let path = tree.inclusion_path(0, 5).unwrap();
    let root5 = tree.root_at(5).unwrap();
    assert!(verify_inclusion::<Rfc6962>(&leaf, 0, 7, &path, &root5).is_ok());
    let proof = InclusionProof { leaf_index: 0, tree_size: 5, path };
    proof.verify_with::<Rfc6962>(&leaf, &TreeHead { size: 5, root: root5 }).unwrap();
    assert!(proof.verify_with::<Rfc6962>(&leaf, &TreeHead { size: 7, root: root5 }).is_err());
    let lying = InclusionProof { tree_size: 7, ..proof };
    assert!(lying.verify_with::<Rfc6962>(&leaf, &TreeHead { size: 5, root: root5 }).is_err());
}

/// MTH over leaf hashes straight from the RFC's recursion, as an oracle.
fn reference_root(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => Rfc6962::empty_root(),
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            Rfc6962::node(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn proofs_of_random_trees_verify_against_the_reference_root(
        size in 1u64..300, picks in prop::collection::vec((any::<u64>(), any::<u64>()), 4)
    ) {
        let mut tree = MerkleTree::new();
        let leaves: Vec<TreeHash> = (0..size).map(|i| tree.push_leaf(&i.to_le_bytes())).collect();
        prop_assert_eq!(tree.root(), reference_root(&leaves));
        for (a, b) in picks {
            let at = 1 + a % size;
            let index = b % at;
            let root = reference_root(&leaves[..at as usize]);
            let path = tree.inclusion_path(index, at).unwrap();
            prop_assert!(verify_inclusion::<Rfc6962>(&leaves[index as usize], index, at, &path, &root).is_ok());
            let old = b % (at + 1);
            let proof = tree.consistency_path(old, at).unwrap();
            let old_root = reference_root(&leaves[..old as usize]);
            prop_assert!(verify_consistency::<Rfc6962>(old, at, &proof, &old_root, &root).is_ok());
        }
    }
}

#[test]
fn every_single_bit_flip_of_a_signed_checkpoint_is_rejected() {
    let signer = CheckpointSigner::from_seed("fleetgov.test/audit", [42; 32]).unwrap();
    let checkpoint = Checkpoint { origin: signer.name().to_string(), size: 1234, root: TreeHash([0x5a; 32]) };
    let note = checkpoint.sign(&signer).unwrap();
    let verifier: CheckpointVerifier = signer.verifier().to_string().parse().unwrap();
    assert_eq!(Checkpoint::open(&note, &verifier).unwrap(), checkpoint);
    for i in 0..note.len() {
        for bit in 0..8 {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 1 << bit;
            // A flip that breaks UTF-8 cannot even be handed over as text.
            if let Ok(mutant) = String::from_utf8(bytes) {
                assert!(Checkpoint::open(&mutant, &verifier).is_err(), "accepted byte {i} bit {bit}: {mutant:?}");
            }
        }
    }
}
