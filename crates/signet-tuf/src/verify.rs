//! The two checks every metadata file and target goes through: a threshold of a role's keys
//! signed it (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3), and its bytes match the length and hashes
//! its trusted description gives (§5.5.2, §5.6.2, §5.7.3).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::keys::Key;
use crate::metadata::{Metadata, Role, Root, Signature, Signed};
use crate::TufError;

/// The number of distinct keys of `role` that have a valid signature over `canonical`.
///
/// - Only keyids the role lists count; a keyid outside it counts zero, even if `keys` holds it.
/// - Keyids are compared as given: they are never recomputed from the keys (Sigstore's
///   keyids are not the hashes TUF §4.2 describes, and the spec does not require it).
/// - A keyid counts once however many entries carry it. Only its first entry is checked, so
///   repeated entries cannot make a verifier check more signatures than the role has keys.
/// - A key counts once however many keyids name it ("each KEY MUST only contribute one
///   SIGNATURE", §5.3.4): a root listing one key under two keyids, in the same or another
///   encoding, does not lower the role's threshold.
/// - An unusable key (unknown type or scheme, bad public value) or a `sig` that is not hex
///   counts zero; neither is an error.
pub(crate) fn count_valid(
    canonical: &[u8],
    signatures: &[Signature],
    role: &Role,
    keys: &BTreeMap<String, Key>,
) -> usize {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut counted = BTreeSet::new();
    for signature in signatures {
        if !role.keyids.contains(&signature.keyid) || !seen.insert(&signature.keyid) {
            continue;
        }
        let Some(key) = keys.get(&signature.keyid) else {
            continue;
        };
        let Some(identity) = key.identity() else {
            continue;
        };
        if counted.contains(&identity) {
            continue;
        }
        let Ok(bytes) = hex::decode(&signature.sig) else {
            continue;
        };
        if key.verifies(canonical, &bytes) {
            counted.insert(identity);
        }
    }
    counted.len()
}

/// Checks that `metadata` is signed by the threshold of keys `root` gives its role.
pub(crate) fn check_signed_by<T: Signed>(metadata: &Metadata<T>, root: &Root) -> Result<(), TufError> {
    let role = root.role(T::TYPE);
    let valid = count_valid(&metadata.canonical, &metadata.signatures, role, &root.keys);
    if (valid as u64) < role.threshold {
        return Err(TufError::ThresholdNotMet {
            role: T::TYPE,
            version: metadata.signed.version(),
            signing_root: root.version,
            valid,
            threshold: role.threshold,
        });
    }
    Ok(())
}

/// The digest of `bytes` under a TUF hash algorithm name, or None for a name this client does
/// not compute.
fn digest(algorithm: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    match algorithm {
        "sha256" => Some(Sha256::digest(bytes).to_vec()),
        "sha384" => Some(Sha384::digest(bytes).to_vec()),
        "sha512" => Some(Sha512::digest(bytes).to_vec()),
        _ => None,
    }
}

/// True for a hash algorithm name [`check_length_and_hashes`] computes.
pub(crate) fn is_known_hash(algorithm: &str) -> bool {
    matches!(algorithm, "sha256" | "sha384" | "sha512")
}

/// Checks `bytes` against a trusted length and hashes. Every listed hash this client knows is
/// checked; an algorithm it does not know is skipped, but at least one must be known (a file
/// whose only hashes are unknown cannot be checked, so it is refused).
pub(crate) fn check_length_and_hashes(
    file: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), TufError> {
    if let Some(expected) = length {
        if bytes.len() as u64 != expected {
            return Err(TufError::LengthMismatch {
                file: file.to_string(),
                expected,
                found: bytes.len() as u64,
            });
        }
    }
    let Some(hashes) = hashes else {
        return Ok(());
    };
    let mut checked = 0;
    for (algorithm, expected) in hashes {
        let Some(found) = digest(algorithm, bytes) else {
            continue;
        };
        // Compare as bytes so that upper-case hex is accepted; an expected value that is not
        // hex can never match.
        if hex::decode(expected).ok().as_deref() != Some(found.as_slice()) {
            return Err(TufError::HashMismatch {
                file: file.to_string(),
                algorithm: algorithm.clone(),
                expected: expected.clone(),
                found: hex::encode(found),
            });
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(TufError::NoKnownHash {
            file: file.to_string(),
            algorithms: hashes.keys().cloned().collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use signet_crypto::{KeyKind, SigningKey};

    struct Fixture {
        signers: Vec<SigningKey>,
        keys: BTreeMap<String, Key>,
        ids: Vec<String>,
    }

    fn fixture() -> Fixture {
        let signers: Vec<SigningKey> = vec![
            SigningKey::generate(KeyKind::Ed25519).unwrap(),
            SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
            SigningKey::generate(KeyKind::EcdsaP384).unwrap(),
        ];
        let mut keys = BTreeMap::new();
        let mut ids = Vec::new();
        for s in &signers {
            let (id, json) = crate::repo::key_json(s.public_key()).unwrap();
            keys.insert(id.clone(), Key::from_json(&json).unwrap());
            ids.push(id);
        }
        Fixture { signers, keys, ids }
    }

    fn sig(f: &Fixture, i: usize, msg: &[u8]) -> Signature {
        Signature {
            keyid: f.ids[i].clone(),
            sig: hex::encode(f.signers[i].sign(msg).unwrap()),
        }
    }

    fn role(f: &Fixture, threshold: u64) -> Role {
        Role {
            keyids: f.ids.clone(),
            threshold,
        }
    }

    #[test]
    fn counts_each_valid_key_once() {
        let f = fixture();
        let msg = b"canonical";
        let all: Vec<Signature> = (0..3).map(|i| sig(&f, i, msg)).collect();
        assert_eq!(count_valid(msg, &all, &role(&f, 3), &f.keys), 3);
        // The same keyid three times (even three distinct valid signatures) counts once.
        let dup = vec![sig(&f, 1, msg), sig(&f, 1, msg), sig(&f, 1, msg)];
        assert_eq!(count_valid(msg, &dup, &role(&f, 2), &f.keys), 1);
        assert_eq!(count_valid(msg, &[], &role(&f, 1), &f.keys), 0);
    }

    #[test]
    fn keyids_outside_the_role_count_zero() {
        let f = fixture();
        let msg = b"canonical";
        let all: Vec<Signature> = (0..3).map(|i| sig(&f, i, msg)).collect();
        let only_first = Role {
            keyids: vec![f.ids[0].clone()],
            threshold: 1,
        };
        assert_eq!(count_valid(msg, &all, &only_first, &f.keys), 1);
        // A keyid the role lists but root has no key for counts zero.
        let unknown = Role {
            keyids: vec!["ffff".into()],
            threshold: 1,
        };
        let s = Signature {
            keyid: "ffff".into(),
            sig: all[0].sig.clone(),
        };
        assert_eq!(count_valid(msg, &[s], &unknown, &f.keys), 0);
        // A valid signature filed under another key's keyid does not count.
        let swapped = Signature {
            keyid: f.ids[1].clone(),
            sig: all[0].sig.clone(),
        };
        assert_eq!(count_valid(msg, &[swapped], &role(&f, 1), &f.keys), 0);
    }

    #[test]
    fn bad_signatures_count_zero() {
        let f = fixture();
        let msg = b"canonical";
        let mut s = sig(&f, 1, msg);
        let last = s.sig.len() - 2;
        let flipped = u8::from_str_radix(&s.sig[last..], 16).unwrap() ^ 1;
        s.sig.replace_range(last.., &format!("{flipped:02x}"));
        let other_msg = sig(&f, 0, b"other");
        let not_hex = Signature {
            keyid: f.ids[2].clone(),
            sig: "zz".into(),
        };
        let empty = Signature {
            keyid: f.ids[2].clone(),
            sig: String::new(),
        };
        assert_eq!(
            count_valid(msg, &[s, other_msg, not_hex, empty], &role(&f, 1), &f.keys),
            0
        );
    }

    #[test]
    fn first_entry_of_a_keyid_decides() {
        let f = fixture();
        let msg = b"canonical";
        let bad = Signature {
            keyid: f.ids[0].clone(),
            sig: "00".into(),
        };
        assert_eq!(
            count_valid(msg, &[bad.clone(), sig(&f, 0, msg)], &role(&f, 1), &f.keys),
            0
        );
        assert_eq!(
            count_valid(msg, &[sig(&f, 0, msg), bad], &role(&f, 1), &f.keys),
            1
        );
    }

    #[test]
    fn unknown_key_types_never_count() {
        let f = fixture();
        let msg = b"canonical";
        let mut keys = f.keys.clone();
        let unknown =
            Key::from_json(&json!({"keytype": "ed448", "scheme": "ed448", "keyval": {"public": "00"}}))
                .unwrap();
        keys.insert("u".into(), unknown);
        let role = Role {
            keyids: vec!["u".into(), f.ids[0].clone()],
            threshold: 1,
        };
        let s = Signature {
            keyid: "u".into(),
            sig: sig(&f, 0, msg).sig,
        };
        assert_eq!(count_valid(msg, std::slice::from_ref(&s), &role, &keys), 0);
        assert_eq!(count_valid(msg, &[s, sig(&f, 0, msg)], &role, &keys), 1);
    }

    #[test]
    fn length_and_hashes() {
        let data = b"hello";
        let sha256 = hex::encode(Sha256::digest(data));
        let sha512 = hex::encode(Sha512::digest(data));
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(a, h)| (a.to_string(), h.to_string()))
                .collect()
        };
        let both = map(&[("sha256", &sha256), ("sha512", &sha512)]);
        check_length_and_hashes("f", data, Some(5), Some(&both)).unwrap();
        check_length_and_hashes("f", data, None, None).unwrap();
        check_length_and_hashes("f", data, None, Some(&map(&[("sha256", &sha256.to_uppercase())]))).unwrap();
        assert!(matches!(
            check_length_and_hashes("f", data, Some(6), Some(&both)),
            Err(TufError::LengthMismatch {
                expected: 6,
                found: 5,
                ..
            })
        ));
        // sha256 right, sha512 wrong: every listed hash is checked.
        let wrong512 = map(&[("sha256", &sha256), ("sha512", &sha256)]);
        assert!(matches!(
            check_length_and_hashes("f", data, None, Some(&wrong512)),
            Err(TufError::HashMismatch { algorithm, .. }) if algorithm == "sha512"
        ));
        // Unknown algorithms alone are refused; beside a known one they are skipped.
        assert!(matches!(
            check_length_and_hashes("f", data, None, Some(&map(&[("blake2b", "00")]))),
            Err(TufError::NoKnownHash { .. })
        ));
        check_length_and_hashes(
            "f",
            data,
            None,
            Some(&map(&[("blake2b", "00"), ("sha256", &sha256)])),
        )
        .unwrap();
        assert!(check_length_and_hashes("f", data, None, Some(&map(&[("sha256", "not hex")]))).is_err());
    }
}
