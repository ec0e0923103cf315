//! What `signet monitor` reads from Rekor v1 and CT logs it does not trust, on the same
//! arbitrary bytes: the v1 API answers (`v1::parse_log_info`, `parse_consistency_proof`,
//! `parse_retrieved`), the RFC 6962 answers (`ct::parse_sth`, `parse_consistency`,
//! `parse_entries`, `parse_proof_by_hash`), static-ct-api data tiles
//! (`signet_x509::static_ct::decode_data_tile`) and checkpoints
//! (`ct::verify_static_ct_checkpoint`), and the entry readers (`entry::read_v1_entry`,
//! `entry::read_ct_entry`).
//!
//! Checked beyond no panic: a data tile's leaves encode back to exactly the tile; reading
//! every fact and only the watch list's agree; a CT entry's digest is the SHA-256 of the
//! certificate it reports; an STH or checkpoint from the fuzzer never verifies with a key
//! made at start-up.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_monitor::entry::{read_ct_entry, read_v1_entry, Signer, Wanted};
use signet_monitor::{ct, v1, CtLogKey, CtProtocol, Rules};

fn key() -> &'static CtLogKey {
    static KEY: OnceLock<CtLogKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let signing = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
        let key = signing.public_key().clone();
        CtLogKey {
            log_id: signet_crypto::sha256(key.spki_der()),
            key,
            protocol: CtProtocol::Auto,
        }
    })
}

fn agree(all: &signet_monitor::entry::EntryFacts, some: &signet_monitor::entry::EntryFacts) {
    assert_eq!((all.kind, &all.digest), (some.kind, &some.digest));
    assert_eq!(all.signers.len(), some.signers.len());
    for (a, s) in all.signers.iter().zip(&some.signers) {
        match (a, s) {
            (Signer::Certificate(a), Signer::Certificate(s)) => {
                assert_eq!((&a.san, &a.issuer, a.not_before), (&s.san, &s.issuer, s.not_before));
                assert!(s.extensions.is_empty());
            }
            (Signer::PublicKey { key_fingerprint }, Signer::PublicKey { .. }) => {
                assert_eq!(key_fingerprint.len(), 64);
            }
            other => panic!("signers differ: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = v1::parse_log_info(data);
    if let Ok(hashes) = v1::parse_consistency_proof(data) {
        assert!(hashes.len() <= data.len() / 64);
    }
    if let Ok(entries) = v1::parse_retrieved(data) {
        for e in entries {
            if let Some(p) = e.inclusion_proof {
                assert!(p.hashes.len() <= data.len() / 64);
            }
        }
    }
    if let Ok(sth) = ct::parse_sth(data) {
        assert!(sth.verify(&key().key).is_err(), "a fuzzer STH verified");
    }
    let _ = ct::parse_consistency(data);
    let _ = ct::parse_entries(data);
    let _ = ct::parse_proof_by_hash(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(ct::verify_static_ct_checkpoint(text, key()).is_err());
    }
    if let Ok(leaves) = signet_x509::static_ct::decode_data_tile(data) {
        let encoded: Vec<u8> = leaves.iter().flat_map(|l| l.encode().expect("a decoded leaf encodes")).collect();
        assert_eq!(encoded, data, "data tile does not round-trip");
    }

    let some = signet_monitor::entry::wanted_for_rules(&Rules::default());
    match (read_v1_entry(data, &Wanted::everything()), read_v1_entry(data, &some)) {
        (Ok(Some(a)), Ok(Some(s))) => agree(&a, &s),
        (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
        (a, s) => panic!("the v1 readings differ: {a:?} / {s:?}"),
    }
    match (read_ct_entry(data, &Wanted::everything()), read_ct_entry(data, &some)) {
        (Ok(a), Ok(s)) => {
            agree(&a, &s);
            let cert = a.certificate.as_deref().expect("a CT entry's certificate");
            assert_eq!(a.digest, format!("sha256:{}", hex_encode(&signet_crypto::sha256(cert))));
        }
        (Err(_), Err(_)) => {}
        (a, s) => panic!("the CT readings differ: {a:?} / {s:?}"),
    }
});

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
