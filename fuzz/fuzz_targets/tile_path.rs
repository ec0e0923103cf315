//! C2SP tlog-tiles request paths: `TilePath::parse` on arbitrary text. A path that parses is
//! canonical, so `path()` gives back exactly the input; `TileId::parse` and
//! `EntryBundleId::parse` agree with it, and the ids are within the spec's bounds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_tlog::{EntryBundleId, TileId, TilePath, MAX_TILE_LEVEL, TILE_WIDTH};

fuzz_target!(|data: &[u8]| {
    let Some(path) = signet_fuzz::text(data) else {
        return;
    };
    let parsed = TilePath::parse(path);
    match parsed {
        Ok(TilePath::Hash(id)) => {
            assert_eq!(id.path(), path, "hash tile path is not canonical");
            assert_eq!(TileId::parse(path), Ok(id));
            assert!(EntryBundleId::parse(path).is_err());
            assert!(id.level <= MAX_TILE_LEVEL && (1..=TILE_WIDTH).contains(&id.width));
            assert_eq!(TileId::new(id.level, id.index, id.width), Ok(id));
        }
        Ok(TilePath::Entries(id)) => {
            assert_eq!(id.path(), path, "entry bundle path is not canonical");
            assert_eq!(EntryBundleId::parse(path), Ok(id));
            assert!(TileId::parse(path).is_err());
            assert_eq!(EntryBundleId::new(id.index, id.width), Ok(id));
            assert_eq!(id.hash_tile().index, id.index);
        }
        Err(_) => {
            assert!(TileId::parse(path).is_err() && EntryBundleId::parse(path).is_err());
        }
    }
});
