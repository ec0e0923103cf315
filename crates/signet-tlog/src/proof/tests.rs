//! RFC 6962 reference vectors (the 8-leaf tree used by certificate-transparency and
//! transparency-dev/merkle) and property tests.

use proptest::prelude::*;

use super::*;
use crate::leaf_hash;

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

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

/// (leaf index, tree size, proof)
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof)
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn reference_tree() -> MemoryTree {
    MemoryTree::from_leaf_hashes(LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())))
}

#[test]
fn reference_roots_for_every_size() {
    let t = reference_tree();
    assert_eq!(t.root_at(0).unwrap(), empty_root());
    for (i, root) in ROOTS.iter().enumerate() {
        assert_eq!(t.root_at(i as u64 + 1).unwrap(), h(root), "size {}", i + 1);
    }
    assert_eq!(t.root(), h(ROOTS[7]));
}

#[test]
fn reference_inclusion_proofs() {
    let t = reference_tree();
    for (index, size, proof) in inclusion_vectors() {
        assert_eq!(t.inclusion_proof(index, size).unwrap(), proof, "{index}/{size}");
        let leaf = t.leaf_hash(index).unwrap();
        let root = h(ROOTS[size as usize - 1]);
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
        for bad in corrupt_inclusion(index, size, &proof) {
            assert!(
                verify_inclusion(&leaf, bad.0, bad.1, &bad.2, &root).is_err(),
                "accepted corrupted {index}/{size}: {:?}",
                (bad.0, bad.1)
            );
        }
        assert!(verify_inclusion(&leaf_hash(b"WrongLeaf"), index, size, &proof, &root).is_err());
        assert!(verify_inclusion(&leaf, index, size, &proof, &empty_root()).is_err());
    }
}

#[test]
fn reference_consistency_proofs() {
    let t = reference_tree();
    for (old, new, proof) in consistency_vectors() {
        assert_eq!(t.consistency_proof(old, new).unwrap(), proof, "{old}->{new}");
        let r1 = h(ROOTS[old as usize - 1]);
        let r2 = h(ROOTS[new as usize - 1]);
        verify_consistency(old, new, &r1, &r2, &proof).unwrap();
        if proof.is_empty() {
            continue;
        }
        assert!(
            verify_consistency(old, new, &r2, &r1, &proof).is_err(),
            "swapped roots"
        );
        assert!(
            verify_consistency(old, new, &r1, &r2, &[]).is_err(),
            "empty proof"
        );
        for bad in corrupt_consistency(old, new, &proof) {
            assert!(
                verify_consistency(bad.0, bad.1, &r1, &r2, &bad.2).is_err(),
                "accepted corrupted {old}->{new}: {:?}",
                (bad.0, bad.1)
            );
        }
    }
}

#[test]
fn edge_cases_are_strict() {
    let t = reference_tree();
    let r = t.root();
    assert_eq!(
        t.inclusion_proof(8, 8),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert_eq!(
        verify_inclusion(&r, 0, 0, &[], &r),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        verify_consistency(0, 8, &empty_root(), &r, &[]),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(t.consistency_proof(0, 8), Err(ProofError::EmptyOldTree));
    assert_eq!(
        verify_consistency(8, 7, &r, &r, &[]),
        Err(ProofError::OldSizeAfterNew {
            old_size: 8,
            new_size: 7
        })
    );
    // Equal sizes: empty proof and equal roots.
    verify_consistency(8, 8, &r, &r, &[]).unwrap();
    assert!(verify_consistency(8, 8, &r, &empty_root(), &[]).is_err());
    assert!(matches!(
        verify_consistency(8, 8, &r, &r, &[r]),
        Err(ProofError::WrongProofLength { expected: 0, got: 1 })
    ));
    assert!(t.inclusion_proof(0, 9).is_err(), "beyond the stored tree");
}

/// Go's transparency-dev/merkle plan tests for node positions, checked by length.
#[test]
fn proof_lengths_match_known_plans() {
    for (index, size, len) in [
        (0u64, 7u64, 3usize),
        (4, 7, 3),
        (6, 7, 2),
        (10, 15, 4),
        (24, 31, 5),
        (81, 95, 6),
    ] {
        assert_eq!(inclusion_plan_len(index, size), len, "{index}/{size}");
        assert_eq!(inclusion_plan(index, size).len(), len);
    }
    for (old, new, len) in [
        (1u64, 2u64, 1usize),
        (3, 7, 4),
        (4, 7, 1),
        (5, 7, 4),
        (7, 8, 4),
        (24, 31, 3),
        (81, 95, 7),
    ] {
        assert_eq!(consistency_plan(old, new).len(), len, "{old}->{new}");
    }
}

type Probe = (u64, u64, Vec<Hash>);

fn corrupt_inclusion(index: u64, size: u64, proof: &[Hash]) -> Vec<Probe> {
    let mut out = vec![
        (index.wrapping_sub(1), size, proof.to_vec()),
        (index + 1, size, proof.to_vec()),
        (index ^ 2, size, proof.to_vec()),
        (index, size * 2, proof.to_vec()),
        (index, size / 2, proof.to_vec()),
    ];
    let mut ext = proof.to_vec();
    ext.push([0; 32]);
    out.push((index, size, ext));
    let mut pre = vec![[0; 32]];
    pre.extend_from_slice(proof);
    out.push((index, size, pre));
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i][0] ^= 8;
        out.push((index, size, p));
    }
    if !proof.is_empty() {
        out.push((index, size, proof[..proof.len() - 1].to_vec()));
    }
    // A wrong index whose proof happens to have the same shape would verify only if the leaf
    // sits at both positions; drop probes that are the original.
    out.retain(|p| !(p.0 == index && p.1 == size && p.2 == proof));
    out
}

fn corrupt_consistency(old: u64, new: u64, proof: &[Hash]) -> Vec<Probe> {
    let mut out = vec![
        (old - 1, new, proof.to_vec()),
        (old + 1, new, proof.to_vec()),
        (old ^ 2, new, proof.to_vec()),
        (old, new * 2, proof.to_vec()),
        (old, new / 2, proof.to_vec()),
    ];
    let mut ext = proof.to_vec();
    ext.push([0; 32]);
    out.push((old, new, ext));
    let mut pre = vec![proof[0]];
    pre.extend_from_slice(proof);
    out.push((old, new, pre));
    out.push((old, new, proof[..proof.len() - 1].to_vec()));
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i][0] ^= 16;
        out.push((old, new, p));
    }
    out.retain(|p| !(p.0 == old && p.1 == new && p.2 == proof));
    out
}

fn tree_of(size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_be_bytes())))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_corruptions_fail(size in 1u64..700, index_seed: u64, bit in 0usize..256) {
        let t = tree_of(size);
        let index = index_seed % size;
        let root = t.root();
        let leaf = t.leaf_hash(index).unwrap();
        let proof = t.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(root_from_inclusion_proof(&leaf, index, size, &proof).unwrap(), root);
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
        // Any flipped bit in any proof hash fails.
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
        }
        // Wrong index, wrong size, truncated and extended proofs fail.
        for wrong in [index + 1, index.wrapping_sub(1), index ^ 1] {
            if wrong != index && wrong < size {
                prop_assert!(verify_inclusion(&leaf, wrong, size, &proof, &root).is_err());
            }
        }
        // A wrong size fails unless it hashes the path exactly as the right size does (then
        // the proof says nothing about the size; the signed root binds it). Detect "exactly
        // as" with an unrelated proof.
        for wrong in [size + 1, size - 1, size * 2, size / 2] {
            if wrong == size || index >= wrong {
                continue;
            }
            let other: Vec<Hash> = (0..proof.len()).map(|i| leaf_hash(&[i as u8, 0xee])).collect();
            let same_shape = root_from_inclusion_proof(&leaf, index, wrong, &other).ok()
                == root_from_inclusion_proof(&leaf, index, size, &other).ok();
            if !same_shape {
                prop_assert!(verify_inclusion(&leaf, index, wrong, &proof, &root).is_err());
            }
        }
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err());
        }
        let mut ext = proof.clone();
        ext.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &ext, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_corruptions_fail(new in 1u64..700, old_seed: u64, bit in 0usize..256) {
        let t = tree_of(new);
        let old = old_seed % new + 1;
        let (r1, r2) = (t.root_at(old).unwrap(), t.root());
        let proof = t.consistency_proof(old, new).unwrap();
        verify_consistency(old, new, &r1, &r2, &proof).unwrap();
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(old, new, &r1, &r2, &p).is_err());
        }
        if !proof.is_empty() {
            prop_assert!(verify_consistency(old, new, &r1, &r2, &proof[1..]).is_err());
            prop_assert!(verify_consistency(old, new, &r1, &r2, &proof[..proof.len() - 1]).is_err());
            prop_assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());
        }
        let mut ext = proof.clone();
        ext.push(r2);
        prop_assert!(verify_consistency(old, new, &r1, &r2, &ext).is_err());
        for wrong_old in [old + 1, old - 1] {
            if wrong_old != old && wrong_old >= 1 && wrong_old <= new {
                prop_assert!(verify_consistency(wrong_old, new, &r1, &r2, &proof).is_err());
            }
        }
        for wrong_new in [new + 1, new * 2, new - 1] {
            if wrong_new == new || wrong_new <= old {
                continue;
            }
            let other: Vec<Hash> = (0..proof.len()).map(|i| leaf_hash(&[i as u8, 0xee])).collect();
            let same_shape = old < new
                && roots_from_consistency_proof(old, wrong_new, &r1, &other).ok()
                    == roots_from_consistency_proof(old, new, &r1, &other).ok();
            if !same_shape {
                prop_assert!(verify_consistency(old, wrong_new, &r1, &r2, &proof).is_err());
            }
        }
    }

    #[test]
    fn prover_batches_match_single_proofs(size in 1u64..600, idx in proptest::collection::vec(any::<u64>(), 1..20)) {
        let t = tree_of(size);
        let prover = Prover::new(&t, size).unwrap();
        prop_assert_eq!(prover.root(), t.root());
        for i in idx {
            let i = i % size;
            prop_assert_eq!(prover.inclusion_proof(i).unwrap(), inclusion_proof(i, size, &t).unwrap());
            let old = i + 1;
            prop_assert_eq!(prover.consistency_proof(old).unwrap(), consistency_proof(old, size, &t).unwrap());
        }
    }
}
