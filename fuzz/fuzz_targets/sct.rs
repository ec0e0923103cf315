//! RFC 6962 TLS structures: `SignedCertificateTimestamp::decode`, `decode_sct_list` and
//! `decode_merkle_tree_leaf` on the same arbitrary bytes. TLS vectors have one encoding, so
//! whatever decodes must encode back to exactly the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_x509::sct::{
    decode_merkle_tree_leaf, decode_sct_list, encode_sct_list, SignedCertificateTimestamp,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(sct) = SignedCertificateTimestamp::decode(data) {
        assert_eq!(sct.version, 0);
        assert_eq!(
            sct.encode().expect("a decoded SCT encodes"),
            data,
            "SCT does not round-trip"
        );
    }
    if let Ok(scts) = decode_sct_list(data) {
        assert!(!scts.is_empty());
        assert_eq!(
            encode_sct_list(&scts).expect("a decoded list encodes"),
            data,
            "SCT list does not round-trip"
        );
    }
    if let Ok(entry) = decode_merkle_tree_leaf(data) {
        assert_eq!(
            entry.merkle_tree_leaf(),
            data,
            "MerkleTreeLeaf does not round-trip"
        );
        let encoded = entry.encode().expect("a decoded entry encodes");
        assert_eq!(
            &data[2..],
            encoded.as_slice(),
            "TimestampedEntry does not round-trip"
        );
        assert_eq!(
            decode_merkle_tree_leaf(&entry.merkle_tree_leaf()).ok(),
            Some(entry)
        );
    }
});
