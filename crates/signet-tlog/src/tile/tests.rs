use proptest::prelude::*;

use super::*;
use crate::{leaf_hash, MemoryTree, Prover};

#[test]
fn paths_follow_the_spec_examples() {
    let t = TileId::new(0, 1_234_067, 256).unwrap();
    assert_eq!(t.path(), "tile/0/x001/x234/067");
    assert_eq!(TileId::new(1, 0, 17).unwrap().path(), "tile/1/000.p/17");
    assert_eq!(TileId::new(2, 1000, 1).unwrap().path(), "tile/2/x001/000.p/1");
    assert_eq!(
        EntryBundleId::new(1_234_067, 8).unwrap().path(),
        "tile/entries/x001/x234/067.p/8"
    );
    assert_eq!(
        TileId::new(0, u64::MAX, 256).unwrap().path(),
        "tile/0/x018/x446/x744/x073/x709/x551/615"
    );
    for p in [
        "tile/0/x001/x234/067",
        "tile/63/000",
        "tile/5/x018/x446/x744/x073/x709/x551/615.p/255",
        "tile/entries/000.p/1",
        "tile/entries/x999/999",
    ] {
        assert_eq!(TilePath::parse(p).unwrap().path(), p);
    }
    assert_eq!(
        TileId::parse("tile/1/002.p/9").unwrap(),
        TileId::new(1, 2, 9).unwrap()
    );
    assert!(TileId::parse("tile/entries/002").is_err());
    assert!(EntryBundleId::parse("tile/0/002").is_err());
    assert!(TileId::new(64, 0, 1).is_err());
    assert!(TileId::new(0, 0, 0).is_err());
    assert!(TileId::new(0, 0, 257).is_err());
}

#[test]
fn malformed_paths_are_refused() {
    for p in [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x001",
        "tile/0/001/002",
        "tile/0/x000/001",
        "tile/0/x01/001",
        "tile/0/000/",
        "tile/0//000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p/",
        "tile/0/000.p/1/",
        "tile/0/000.p/1.p/2",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
        "tile/entries/",
        "tile/entries/0",
        "/tile/0/000",
        "tile/0/00a",
        "tile/0/٠٠٠",
    ] {
        assert!(TilePath::parse(p).is_err(), "accepted {p:?}");
    }
}

#[test]
fn tiles_for_size_follow_the_spec_examples() {
    // c2sp.org/tlog-tiles: 70,000 leaves.
    let levels = tiles_for_size(70_000);
    assert_eq!(
        levels,
        vec![
            TileLevel {
                level: 0,
                full_tiles: 273,
                partial_width: 112
            },
            TileLevel {
                level: 1,
                full_tiles: 1,
                partial_width: 17
            },
            TileLevel {
                level: 2,
                full_tiles: 0,
                partial_width: 1
            },
        ]
    );
    assert_eq!(levels[0].tiles().count(), 274);
    // 256 leaves: one full level-0 tile and a level-1 tile of width 1.
    let levels = tiles_for_size(256);
    assert_eq!(levels[0].partial(), None);
    assert_eq!(levels[1].partial(), Some(TileId::new(1, 0, 1).unwrap()));
    assert!(tiles_for_size(0).is_empty());
    assert_eq!(right_edge_tiles(256), vec![TileId::new(1, 0, 1).unwrap()]);
    assert_eq!(TileId::width_in_tree(0, 273, 70_000), Some(112));
    assert_eq!(TileId::width_in_tree(0, 274, 70_000), None);
    assert_eq!(TileId::width_in_tree(3, 0, 70_000), None);
    assert!(TileId::new(1, 1, 17).unwrap().is_in_tree(70_000));
    assert!(TileId::new(1, 0, 256).unwrap().is_in_tree(70_000));
    assert!(!TileId::new(1, 1, 16).unwrap().is_in_tree(70_000));
    assert_eq!(TileId::width_in_tree(7, 0, u64::MAX), Some(255));
    assert_eq!(TileId::width_in_tree(8, 0, u64::MAX), None);
}

#[test]
fn entry_bundles_round_trip_and_reject_garbage() {
    let entries: Vec<Vec<u8>> = vec![vec![], b"a".to_vec(), vec![7; 300]];
    let bytes = encode_entry_bundle(&entries).unwrap();
    assert_eq!(&bytes[..5], &[0, 0, 0, 1, b'a']);
    let back = decode_entry_bundle(&bytes).unwrap();
    assert_eq!(back, entries.iter().map(|e| e.as_slice()).collect::<Vec<_>>());
    let mut incremental = Vec::new();
    for e in &entries {
        push_bundle_entry(&mut incremental, e).unwrap();
    }
    assert_eq!(incremental, bytes);
    assert!(matches!(
        decode_entry_bundle(&bytes[..bytes.len() - 1]),
        Err(TileError::TruncatedBundle { .. })
    ));
    assert!(matches!(
        decode_entry_bundle(&[0]),
        Err(TileError::TruncatedBundle { .. })
    ));
    assert!(matches!(
        encode_entry_bundle(&[vec![0u8; 65_536]]),
        Err(TileError::EntryTooLarge { len: 65_536 })
    ));
    let too_many = vec![[0u8; 0]; 257];
    assert!(encode_entry_bundle(&too_many).is_err());
    assert!(decode_entry_bundle(&[0u8; 2 * 257]).is_err());
    assert_eq!(decode_entry_bundle(&[0u8; 2 * 256]).unwrap().len(), 256);
}

#[test]
fn tile_bytes_round_trip() {
    let id = TileId::new(0, 3, 2).unwrap();
    let tile = Tile {
        id,
        hashes: vec![[1; 32], [2; 32]],
    };
    assert_eq!(Tile::from_bytes(id, &tile.to_bytes()).unwrap(), tile);
    assert!(matches!(
        Tile::from_bytes(id, &[0; 63]),
        Err(TileError::BadTileLength {
            expected: 64,
            got: 63,
            ..
        })
    ));
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

/// The tiles of the tree of `size` leaves, computed from a MemoryTree's nodes.
fn expected_tiles(tree: &MemoryTree, size: u64) -> MemoryTiles {
    let mut out = MemoryTiles::new();
    for level in tiles_for_size(size) {
        for id in level.tiles() {
            let node_level = id.level * 8;
            let hashes = (0..u64::from(id.width))
                .map(|i| tree.node(node_level, id.index * 256 + i).unwrap())
                .collect();
            out.insert(Tile { id, hashes });
        }
    }
    out
}

#[test]
fn appender_matches_memory_tree_across_tile_levels() {
    let all = leaves(70_000);
    let tree = MemoryTree::from_leaf_hashes(all.iter().copied());
    let mut app = TreeAppender::new();
    let mut written = MemoryTiles::new();
    let mut done = 0usize;
    for batch in [1usize, 255, 1, 3000, 65_535, 1208] {
        let r = app.append(&all[done..done + batch]).unwrap();
        done += batch;
        assert_eq!(r.size, done as u64);
        assert_eq!(r.root, tree.root_at(done as u64).unwrap(), "root at {done}");
        for t in &r.tiles {
            assert!(t.id.is_in_tree(done as u64), "{} not in tree of {done}", t.id);
        }
        written.extend(r.tiles);
    }
    assert_eq!(done, 70_000);
    assert_eq!(written, expected_tiles(&tree, 70_000));
    // Restoring from the written tiles gives the same appender.
    let restored = TreeAppender::from_right_edge(70_000, &written).unwrap();
    assert_eq!(restored, app);
    assert_eq!(restored.root(), tree.root());
    assert_eq!(TreeAppender::new().root(), crate::empty_root());
}

#[test]
fn tile_reader_proofs_in_a_big_tree() {
    let size = 70_001u64;
    let tree = MemoryTree::from_leaf_hashes(leaves(size));
    let tiles = expected_tiles(&tree, size);
    let prover = Prover::over_tiles(&tiles, size).unwrap();
    assert_eq!(prover.root(), tree.root());
    for index in [0u64, 1, 255, 256, 65_535, 65_536, 69_999, 70_000] {
        assert_eq!(
            prover.inclusion_proof(index).unwrap(),
            tree.inclusion_proof(index, size).unwrap()
        );
        assert_eq!(
            prover.consistency_proof(index + 1).unwrap(),
            tree.consistency_proof(index + 1, size).unwrap()
        );
    }
    // A source missing a tile is an error, not a panic.
    let empty = MemoryTiles::new();
    assert!(matches!(
        crate::inclusion_proof(5, size, &TileHashReader::new(&empty, size)),
        Err(ProofError::Tile(TileError::Unavailable { .. }))
    ));
}

#[test]
fn closures_are_tile_sources() {
    let tree = MemoryTree::from_leaf_hashes(leaves(300));
    let tiles = expected_tiles(&tree, 300);
    let src = FnTileSource(|id: &TileId| tiles.tile(id));
    let app = TreeAppender::from_right_edge(300, &src).unwrap();
    assert_eq!(app.root(), tree.root());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index: u64, width in 1u16..=256, entries: bool) {
        let p = if entries {
            TilePath::Entries(EntryBundleId::new(index, width).unwrap())
        } else {
            TilePath::Hash(TileId::new(level, index, width).unwrap())
        };
        prop_assert_eq!(TilePath::parse(&p.path()).unwrap(), p);
    }

    #[test]
    fn tile_path_parse_never_panics(s in "\\PC*", t in "tile/(entries|[0-9]{1,3})/(x[0-9]{3}/){0,8}[0-9x]{0,4}(\\.p/[0-9]{0,4})?") {
        for input in [&s, &t] {
            if let Ok(p) = TilePath::parse(input) {
                // Whatever parses is canonical.
                prop_assert_eq!(&p.path(), input);
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batched_and_single_appends_agree(
        start in 0u64..1200,
        batches in proptest::collection::vec(0usize..700, 1..6),
    ) {
        let total = start + batches.iter().sum::<usize>() as u64;
        let all = leaves(total);
        let tree = MemoryTree::from_leaf_hashes(all.iter().copied());

        let mut one = TreeAppender::new();
        let mut one_tiles = MemoryTiles::new();
        for h in &all {
            one_tiles.extend(one.append(std::slice::from_ref(h)).unwrap().tiles);
        }

        // Batched, restored from storage after the first `start` leaves.
        let mut first = TreeAppender::new();
        let mut tiles = MemoryTiles::new();
        tiles.extend(first.append(&all[..start as usize]).unwrap().tiles);
        let mut batched = TreeAppender::from_right_edge(start, &tiles).unwrap();
        prop_assert_eq!(&batched, &first);
        let mut done = start as usize;
        for b in batches {
            let r = batched.append(&all[done..done + b]).unwrap();
            done += b;
            prop_assert_eq!(r.root, tree.root_at(done as u64).unwrap());
            tiles.extend(r.tiles);
        }
        prop_assert_eq!(&batched, &one);
        prop_assert_eq!(batched.root(), tree.root());
        prop_assert_eq!(&tiles, &one_tiles);
        prop_assert_eq!(&tiles, &expected_tiles(&tree, total));
    }

    #[test]
    fn tile_proofs_equal_memory_tree_proofs(size in 1u64..2000, picks in proptest::collection::vec(any::<u64>(), 1..8)) {
        let tree = MemoryTree::from_leaf_hashes(leaves(size));
        let tiles = expected_tiles(&tree, size);
        let reader = TileHashReader::new(&tiles, size);
        prop_assert_eq!(crate::tree_root(size, &reader).unwrap(), tree.root());
        for p in picks {
            let index = p % size;
            prop_assert_eq!(
                crate::inclusion_proof(index, size, &reader).unwrap(),
                tree.inclusion_proof(index, size).unwrap()
            );
            let old = index + 1;
            prop_assert_eq!(
                crate::consistency_proof(old, size, &reader).unwrap(),
                tree.consistency_proof(old, size).unwrap()
            );
        }
    }
}
