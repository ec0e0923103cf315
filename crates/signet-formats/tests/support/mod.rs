//! Finding the shared conformance vectors: `$SIGNET_VECTORS`, or `../shared/vectors` beside
//! the workspace. Tests print one skip line and pass when they are absent.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn vectors(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIP {test}: no vectors at {} (set SIGNET_VECTORS)",
            dir.display()
        );
        None
    }
}

pub fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
