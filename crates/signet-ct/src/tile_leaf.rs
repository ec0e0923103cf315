//! What the log stores per entry: static-ct-api's `TileLeaf` (c2sp.org/static-ct-api, "Log
//! entries"). A data tile is these concatenated; RFC 6962 get-entries rebuilds `leaf_input`
//! and `extra_data` from one and the issuers it names by fingerprint. The format lives in
//! signet-x509's pure core, where monitors read it too.

pub use signet_x509::static_ct::{decode_data_tile, TileLeaf};
