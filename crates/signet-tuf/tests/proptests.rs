//! Properties over generated input: no byte string or JSON value makes the parsers panic, and
//! canonical JSON round-trips.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Map, Value};
use signet_crypto::KeyKind;
use signet_tuf::repo::{RepoBuilder, RoleKeys, TargetSpec, Versions};
use signet_tuf::{canonical, LocalMetadata, TrustedSet, Updater, UpdaterConfig};

/// A string without U+0000–U+001F: canonical JSON writes control characters raw (as
/// securesystemslib does), which RFC 8259 parsers refuse, so only these strings can
/// round-trip through a JSON parser (`canonical`'s unit tests cover control characters).
fn json_string() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..12).prop_map(|chars| {
        chars
            .into_iter()
            .filter(|c| !('\u{0}'..='\u{1f}').contains(c))
            .collect()
    })
}

/// Any JSON value without floats.
fn integer_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        json_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(json_string(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Any JSON value, floats included.
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        integer_json(),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// A valid repository's four files, made once.
fn valid() -> &'static LocalMetadata {
    static FILES: OnceLock<LocalMetadata> = OnceLock::new();
    FILES.get_or_init(|| {
        let b = RepoBuilder::new(RoleKeys::generate(KeyKind::Ed25519).unwrap(), 2_000_000_000);
        let files = b
            .repository(
                Versions {
                    root: 1,
                    timestamp: 1,
                    snapshot: 1,
                    targets: 1,
                },
                &[TargetSpec::new("t", b"t".to_vec())],
            )
            .unwrap();
        let get = |name: &str| files.iter().find(|(n, _)| n == name).unwrap().1.clone();
        LocalMetadata {
            root: get("1.root.json"),
            timestamp: Some(get("timestamp.json")),
            snapshot: Some(get("1.snapshot.json")),
            targets: Some(get("1.targets.json")),
        }
    })
}

/// Feeds `bytes` to every entry point that parses metadata: as the root, and in place of
/// each other file of a valid set.
fn parse_everywhere(bytes: &[u8]) {
    let _ = Updater::new(
        &LocalMetadata {
            root: bytes.to_vec(),
            ..LocalMetadata::default()
        },
        "https://r/",
        "https://r/t/",
        UpdaterConfig::default(),
    );
    for i in 0..4 {
        let mut local = valid().clone();
        match i {
            0 => local.root = bytes.to_vec(),
            1 => local.timestamp = Some(bytes.to_vec()),
            2 => local.snapshot = Some(bytes.to_vec()),
            _ => local.targets = Some(bytes.to_vec()),
        }
        // Loading a set with one file replaced: the local loader drops what does not verify.
        let _ = Updater::new(&local, "https://r/", "https://r/t/", UpdaterConfig::default());
        // Only the valid file itself (as a document: the mutation tests re-serialise it, and a
        // replacement may put back the value that was there) may verify.
        assert!(TrustedSet::verify_offline(&local).is_err() || same_document(bytes, valid_file(i)));
    }
}

/// Whether two files hold the same JSON document.
fn same_document(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn valid_file(i: usize) -> &'static [u8] {
    let v = valid();
    match i {
        0 => &v.root,
        1 => v.timestamp.as_deref().unwrap_or_default(),
        2 => v.snapshot.as_deref().unwrap_or_default(),
        _ => v.targets.as_deref().unwrap_or_default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_everywhere(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(signed in any_json(), signatures in any_json(),
                                   kind in 0..5usize) {
        // Give `_type` a chance to be right so the typed parsers run.
        let mut signed = signed;
        if let Value::Object(m) = &mut signed {
            let t = ["root", "timestamp", "snapshot", "targets", "other"][kind];
            m.insert("_type".into(), Value::from(t));
            m.insert("spec_version".into(), Value::from("1.0"));
        }
        let doc = serde_json::json!({"signed": signed, "signatures": signatures});
        parse_everywhere(&serde_json::to_vec(&doc).unwrap());
    }

    #[test]
    fn mutated_valid_metadata_never_panics_nor_verifies(file in 0..4usize, path_seed in any::<u64>(),
                                                        replacement in any_json()) {
        let original: Value = serde_json::from_slice(valid_file(file)).unwrap();
        let mut doc = original.clone();
        replace_somewhere(&mut doc["signed"], path_seed, replacement);
        let bytes = serde_json::to_vec(&doc).unwrap();
        parse_everywhere(&bytes);
        // Any change to `signed` breaks the signatures.
        let mut local = valid().clone();
        match file {
            0 => local.root = bytes,
            1 => local.timestamp = Some(bytes),
            2 => local.snapshot = Some(bytes),
            _ => local.targets = Some(bytes),
        }
        if doc != original {
            prop_assert!(TrustedSet::verify_offline(&local).is_err());
        }
    }

    #[test]
    fn canonical_json_round_trips(value in integer_json()) {
        let encoded = canonical::encode(&value).unwrap();
        let parsed: Value = serde_json::from_slice(&encoded).unwrap();
        prop_assert_eq!(&parsed, &value);
        // And it is a fixed point: encoding the parsed value gives the same bytes.
        prop_assert_eq!(canonical::encode(&parsed).unwrap(), encoded);
    }

    #[test]
    fn canonical_json_refuses_every_float(value in integer_json(), f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let doc = serde_json::json!({"a": [value, f]});
        prop_assert!(canonical::encode(&doc).is_err());
    }
}

/// Replaces one node of `value`, chosen by `seed`, with `replacement`.
fn replace_somewhere(value: &mut Value, mut seed: u64, replacement: Value) {
    let mut node = value;
    loop {
        let children = match node {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        // One chance in three to stop at each level.
        let stop = seed % 3;
        if children == 0 || stop == 0 {
            *node = replacement;
            return;
        }
        let index = (seed / 3) as usize % children;
        seed /= 3 * children as u64 + 1;
        node = match node {
            Value::Object(m) => m.values_mut().nth(index).unwrap(),
            Value::Array(a) => &mut a[index],
            _ => unreachable!(),
        };
    }
}
