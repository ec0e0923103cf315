//! The metadata formats of TUF §4: one type per structure, named as the spec names them, read
//! from strict JSON (no duplicate keys) with the signed part kept as its canonical bytes.
//!
//! Fields the spec does not define are allowed and ignored (they are signed, so they are part
//! of what the signatures cover: `x-tuf-on-ci-*` in Sigstore's metadata, for instance).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::keys::Key;
use crate::time::Expires;
use crate::{canonical, json, TufError};

/// The four top-level roles (TUF §2.1), named by their `_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleType {
    Root,
    Timestamp,
    Snapshot,
    Targets,
}

impl RoleType {
    /// The `_type` value, and the role name in root's `roles`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Root => "root",
            RoleType::Timestamp => "timestamp",
            RoleType::Snapshot => "snapshot",
            RoleType::Targets => "targets",
        }
    }

    /// The metadata file name: `root.json`, ...
    pub fn file_name(self) -> &'static str {
        match self {
            RoleType::Root => "root.json",
            RoleType::Timestamp => "timestamp.json",
            RoleType::Snapshot => "snapshot.json",
            RoleType::Targets => "targets.json",
        }
    }
}

impl fmt::Display for RoleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `signatures` (§4.2): `sig` is the hex of the signature bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

/// A role's keys and threshold, as root (or a delegation) gives them (§4.3 "ROLE").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Role {
    pub keyids: Vec<String>,
    /// At least 1.
    pub threshold: u64,
}

/// `root.json`'s signed part (§4.3).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Root {
    pub spec_version: String,
    pub version: u64,
    pub expires: Expires,
    /// §4.3: when true, snapshot and targets are fetched as `VERSION.NAME.json` and targets as
    /// `HASH.NAME` (§5.5.1, §5.6.1, §5.7.3). Absent means false.
    pub consistent_snapshot: bool,
    /// `keys`: keyid → key. Keyids are taken as given, never recomputed (Sigstore's are not
    /// the hashes §4.2 describes).
    pub keys: BTreeMap<String, Key>,
    pub root: Role,
    pub timestamp: Role,
    pub snapshot: Role,
    pub targets: Role,
}

impl Root {
    /// The keys and threshold root gives `role`.
    pub fn role(&self, role: RoleType) -> &Role {
        match role {
            RoleType::Root => &self.root,
            RoleType::Timestamp => &self.timestamp,
            RoleType::Snapshot => &self.snapshot,
            RoleType::Targets => &self.targets,
        }
    }
}

/// A `METAFILES` entry of timestamp or snapshot (§4.4, §4.5): the version of a metadata file,
/// and optionally its length and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetaFile {
    pub version: u64,
    pub length: Option<u64>,
    /// Algorithm name (`sha256`, ...) → hex digest. When present, not empty.
    pub hashes: Option<BTreeMap<String, String>>,
}

/// `timestamp.json`'s signed part (§4.6).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Timestamp {
    pub spec_version: String,
    pub version: u64,
    pub expires: Expires,
    /// `meta["snapshot.json"]`.
    pub snapshot_meta: MetaFile,
}

/// `snapshot.json`'s signed part (§4.4).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Snapshot {
    pub spec_version: String,
    pub version: u64,
    pub expires: Expires,
    /// File name (`targets.json`, delegated roles' files) → its description.
    pub meta: BTreeMap<String, MetaFile>,
}

/// A `TARGETS` entry (§4.5): the length and hashes of a target file, and the repository's
/// `custom` data about it (Sigstore's `{"sigstore": {"usage", "status", "uri"}}`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TargetFile {
    pub length: u64,
    /// Algorithm name → hex digest; never empty.
    pub hashes: BTreeMap<String, String>,
    pub custom: Option<Value>,
}

/// A delegated targets role (§4.5 "DELEGATIONS"). Parsed so that targets metadata holding
/// delegations (Sigstore's `registry.npmjs.org`) loads; this client does not follow them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DelegatedRole {
    pub name: String,
    pub role: Role,
    pub terminating: bool,
    pub paths: Option<Vec<String>>,
    pub path_hash_prefixes: Option<Vec<String>>,
}

/// `delegations` of targets metadata (§4.5).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    pub roles: Vec<DelegatedRole>,
}

/// `targets.json`'s signed part (§4.5).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Targets {
    pub spec_version: String,
    pub version: u64,
    pub expires: Expires,
    /// Target path → description.
    pub targets: BTreeMap<String, TargetFile>,
    pub delegations: Option<Delegations>,
}

/// A signed role's `signed` part.
pub(crate) trait Signed: Sized {
    const TYPE: RoleType;
    fn from_fields(f: &Fields<'_>) -> Result<Self, TufError>;
    fn version(&self) -> u64;
    fn expires(&self) -> &Expires;
}

/// A parsed metadata file: the typed `signed`, the canonical bytes signatures are over, the
/// signatures, and the file's exact bytes (what gets persisted and hashed).
#[derive(Debug, Clone)]
pub(crate) struct Metadata<T> {
    pub signed: T,
    pub canonical: Vec<u8>,
    pub signatures: Vec<Signature>,
    pub raw: Vec<u8>,
}

/// Reads `bytes` as `T`'s metadata. Checks the shape only: signatures are checked by the
/// caller against the root that is trusted at that step.
pub(crate) fn parse<T: Signed>(bytes: &[u8]) -> Result<Metadata<T>, TufError> {
    let role = T::TYPE;
    let invalid = |reason: String| TufError::InvalidMetadata { role, reason };
    let value = json::parse(bytes).map_err(|e| match e {
        json::StrictJsonError::DuplicateKey(key) => TufError::DuplicateKey { role, key },
        json::StrictJsonError::Syntax(reason) => TufError::Json { role, reason },
    })?;
    let Value::Object(mut top) = value else {
        return Err(TufError::Json {
            role,
            reason: "the top level is not a JSON object".into(),
        });
    };
    let signed = match top.remove("signed") {
        Some(Value::Object(signed)) => signed,
        Some(_) => return Err(invalid("\"signed\" is not an object".into())),
        None => return Err(invalid("no \"signed\"".into())),
    };
    let signatures = match top.get("signatures") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let field = |name: &str| match item.get(name) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    _ => Err(invalid(format!("a signature has no \"{name}\" string: {item}"))),
                };
                Ok(Signature {
                    keyid: field("keyid")?,
                    sig: field("sig")?,
                })
            })
            .collect::<Result<Vec<_>, TufError>>()?,
        Some(_) => return Err(invalid("\"signatures\" is not an array".into())),
        None => return Err(invalid("no \"signatures\"".into())),
    };
    match signed.get("_type") {
        Some(Value::String(t)) if t == role.as_str() => {}
        Some(Value::String(t)) => {
            return Err(TufError::WrongType {
                expected: role,
                found: t.clone(),
            })
        }
        _ => return Err(invalid("no \"_type\" string".into())),
    }
    let fields = Fields { role, map: &signed };
    let spec_version = fields.string("spec_version")?;
    check_spec_version(role, &spec_version)?;
    let canonical = canonical::encode(&Value::Object(signed.clone()))
        .map_err(|source| TufError::NotCanonical { role, source })?;
    let typed = T::from_fields(&fields)?;
    Ok(Metadata {
        signed: typed,
        canonical,
        signatures,
        raw: bytes.to_vec(),
    })
}

/// §4.3 `spec_version`: "MAJOR.MINOR" or "MAJOR.MINOR.PATCH" of decimal numbers; this client
/// implements major version 1 (python-tuf's rule).
fn check_spec_version(role: RoleType, spec_version: &str) -> Result<(), TufError> {
    let parts: Vec<&str> = spec_version.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if (parts.len() == 2 || parts.len() == 3) && numeric && parts[0] == "1" {
        Ok(())
    } else {
        Err(TufError::UnsupportedSpecVersion {
            role,
            found: spec_version.to_string(),
        })
    }
}

/// Typed access to a JSON object's fields, with errors that name the role and the field.
pub(crate) struct Fields<'a> {
    role: RoleType,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn invalid(&self, reason: String) -> TufError {
        TufError::InvalidMetadata {
            role: self.role,
            reason,
        }
    }

    fn nested(&self, map: &'a Map<String, Value>) -> Fields<'a> {
        Fields { role: self.role, map }
    }

    fn get(&self, name: &str) -> Result<&'a Value, TufError> {
        self.map
            .get(name)
            .ok_or_else(|| self.invalid(format!("no \"{name}\"")))
    }

    fn string(&self, name: &str) -> Result<String, TufError> {
        match self.get(name)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.invalid(format!("\"{name}\" is {other}, expected a string"))),
        }
    }

    fn u64(&self, name: &str) -> Result<u64, TufError> {
        as_u64(self.get(name)?).ok_or_else(|| {
            self.invalid(format!(
                "\"{name}\" is {}, expected a non-negative integer",
                self.map.get(name).unwrap_or(&Value::Null)
            ))
        })
    }

    fn object(&self, name: &str) -> Result<&'a Map<String, Value>, TufError> {
        match self.get(name)? {
            Value::Object(m) => Ok(m),
            other => Err(self.invalid(format!("\"{name}\" is {other}, expected an object"))),
        }
    }

    fn optional(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// `version`: an integer, at least 1 (§4.3).
    fn version(&self) -> Result<u64, TufError> {
        match self.u64("version")? {
            0 => Err(self.invalid("\"version\" is 0; versions start at 1".into())),
            v => Ok(v),
        }
    }

    fn expires(&self) -> Result<Expires, TufError> {
        let text = self.string("expires")?;
        Expires::parse(&text).map_err(|reason| TufError::BadExpires {
            role: self.role,
            value: text.clone(),
            reason,
        })
    }

    fn keys(&self, map: &Map<String, Value>) -> Result<BTreeMap<String, Key>, TufError> {
        map.iter()
            .map(|(keyid, value)| {
                Key::from_json(value)
                    .map(|k| (keyid.clone(), k))
                    .map_err(|e| self.invalid(format!("key {keyid}: {e}")))
            })
            .collect()
    }

    fn role(&self, name: &str, map: &Map<String, Value>) -> Result<Role, TufError> {
        let f = self.nested(map);
        let keyids = match f.get("keyids")? {
            Value::Array(items) => items
                .iter()
                .map(|k| {
                    k.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.invalid(format!("role {name:?}: keyid {k} is not a string")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            other => {
                return Err(self.invalid(format!("role {name:?}: \"keyids\" is {other}, expected an array")))
            }
        };
        // python-tuf refuses a role listing a keyid twice: it is a malformed role, and
        // counting must not be able to depend on it.
        if keyids.iter().collect::<BTreeSet<_>>().len() != keyids.len() {
            return Err(self.invalid(format!("role {name:?} lists a keyid more than once")));
        }
        let threshold = f.u64("threshold")?;
        if threshold == 0 {
            return Err(TufError::ZeroThreshold {
                role: self.role,
                name: name.to_string(),
            });
        }
        Ok(Role { keyids, threshold })
    }

    fn meta_file(&self, file: &str, value: &Value) -> Result<MetaFile, TufError> {
        let Value::Object(map) = value else {
            return Err(self.invalid(format!("meta {file:?} is not an object")));
        };
        let f = self.nested(map);
        let version = match f.optional("version").and_then(as_u64) {
            Some(v) if v >= 1 => v,
            _ => {
                return Err(self.invalid(format!(
                    "meta {file:?}: version is {}, expected an integer of at least 1",
                    f.optional("version").unwrap_or(&Value::Null)
                )))
            }
        };
        let length = match f.optional("length") {
            None => None,
            Some(v) => Some(as_u64(v).ok_or_else(|| {
                self.invalid(format!("meta {file:?}: length {v} is not a non-negative integer"))
            })?),
        };
        let hashes = match f.optional("hashes") {
            None => None,
            Some(v) => Some(self.hashes(file, v)?),
        };
        Ok(MetaFile {
            version,
            length,
            hashes,
        })
    }

    fn hashes(&self, file: &str, value: &Value) -> Result<BTreeMap<String, String>, TufError> {
        let Value::Object(map) = value else {
            return Err(self.invalid(format!("{file:?}: hashes is not an object")));
        };
        if map.is_empty() {
            return Err(self.invalid(format!("{file:?}: hashes is empty")));
        }
        map.iter()
            .map(|(alg, digest)| match digest {
                Value::String(s) => Ok((alg.clone(), s.clone())),
                other => Err(self.invalid(format!("{file:?}: hash {alg} is {other}, expected a hex string"))),
            })
            .collect()
    }
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

impl Signed for Root {
    const TYPE: RoleType = RoleType::Root;

    fn from_fields(f: &Fields<'_>) -> Result<Self, TufError> {
        let consistent_snapshot = match f.optional("consistent_snapshot") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(f.invalid(format!("\"consistent_snapshot\" is {other}, expected a boolean")))
            }
        };
        let keys = f.keys(f.object("keys")?)?;
        let roles = f.object("roles")?;
        // python-tuf: root names exactly the four top-level roles.
        if let Some(other) = roles
            .keys()
            .find(|r| !["root", "timestamp", "snapshot", "targets"].contains(&r.as_str()))
        {
            return Err(f.invalid(format!("roles names {other:?}, not a top-level role")));
        }
        let role = |t: RoleType| -> Result<Role, TufError> {
            match roles.get(t.as_str()) {
                Some(Value::Object(m)) => f.role(t.as_str(), m),
                Some(_) => Err(f.invalid(format!("role {:?} is not an object", t.as_str()))),
                None => Err(f.invalid(format!("roles has no {:?}", t.as_str()))),
            }
        };
        Ok(Root {
            spec_version: f.string("spec_version")?,
            version: f.version()?,
            expires: f.expires()?,
            consistent_snapshot,
            keys,
            root: role(RoleType::Root)?,
            timestamp: role(RoleType::Timestamp)?,
            snapshot: role(RoleType::Snapshot)?,
            targets: role(RoleType::Targets)?,
        })
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn expires(&self) -> &Expires {
        &self.expires
    }
}

impl Signed for Timestamp {
    const TYPE: RoleType = RoleType::Timestamp;

    fn from_fields(f: &Fields<'_>) -> Result<Self, TufError> {
        let meta = f.object("meta")?;
        let snapshot = meta.get("snapshot.json").ok_or_else(|| TufError::MissingMeta {
            role: RoleType::Timestamp,
            file: "snapshot.json".into(),
        })?;
        Ok(Timestamp {
            spec_version: f.string("spec_version")?,
            version: f.version()?,
            expires: f.expires()?,
            snapshot_meta: f.meta_file("snapshot.json", snapshot)?,
        })
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn expires(&self) -> &Expires {
        &self.expires
    }
}

impl Signed for Snapshot {
    const TYPE: RoleType = RoleType::Snapshot;

    fn from_fields(f: &Fields<'_>) -> Result<Self, TufError> {
        let meta = f
            .object("meta")?
            .iter()
            .map(|(file, v)| Ok((file.clone(), f.meta_file(file, v)?)))
            .collect::<Result<BTreeMap<_, _>, TufError>>()?;
        Ok(Snapshot {
            spec_version: f.string("spec_version")?,
            version: f.version()?,
            expires: f.expires()?,
            meta,
        })
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn expires(&self) -> &Expires {
        &self.expires
    }
}

impl Signed for Targets {
    const TYPE: RoleType = RoleType::Targets;

    fn from_fields(f: &Fields<'_>) -> Result<Self, TufError> {
        let targets = f
            .object("targets")?
            .iter()
            .map(|(name, v)| {
                let Value::Object(map) = v else {
                    return Err(f.invalid(format!("target {name:?} is not an object")));
                };
                let t = f.nested(map);
                Ok((
                    name.clone(),
                    TargetFile {
                        length: t.optional("length").and_then(as_u64).ok_or_else(|| {
                            f.invalid(format!(
                                "target {name:?}: length is {}, expected a non-negative integer",
                                t.optional("length").unwrap_or(&Value::Null)
                            ))
                        })?,
                        hashes: f.hashes(
                            name,
                            t.get("hashes")
                                .map_err(|_| f.invalid(format!("target {name:?} has no hashes")))?,
                        )?,
                        custom: t.optional("custom").cloned(),
                    },
                ))
            })
            .collect::<Result<BTreeMap<_, _>, TufError>>()?;
        let delegations = match f.optional("delegations") {
            None => None,
            Some(Value::Object(map)) => Some(delegations(&f.nested(map))?),
            Some(other) => return Err(f.invalid(format!("\"delegations\" is {other}, expected an object"))),
        };
        Ok(Targets {
            spec_version: f.string("spec_version")?,
            version: f.version()?,
            expires: f.expires()?,
            targets,
            delegations,
        })
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn expires(&self) -> &Expires {
        &self.expires
    }
}

fn delegations(f: &Fields<'_>) -> Result<Delegations, TufError> {
    let keys = f.keys(f.object("keys")?)?;
    let roles = match f.optional("roles") {
        // TUF 1.0.30 also allows `succinct_roles` instead; it is not read here (targets are
        // never looked up in delegated roles).
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let Value::Object(map) = item else {
                    return Err(f.invalid("a delegated role is not an object".into()));
                };
                let r = f.nested(map);
                let name = r.string("name")?;
                let strings = |field: &str| -> Result<Option<Vec<String>>, TufError> {
                    match r.optional(field) {
                        None => Ok(None),
                        Some(Value::Array(items)) => items
                            .iter()
                            .map(|s| {
                                s.as_str().map(str::to_string).ok_or_else(|| {
                                    f.invalid(format!(
                                        "delegated role {name:?}: {field} holds {s}, expected strings"
                                    ))
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Some),
                        Some(other) => Err(f.invalid(format!(
                            "delegated role {name:?}: {field} is {other}, expected an array"
                        ))),
                    }
                };
                let terminating = match r.optional("terminating") {
                    Some(Value::Bool(b)) => *b,
                    _ => {
                        return Err(f.invalid(format!("delegated role {name:?}: no boolean \"terminating\"")))
                    }
                };
                Ok(DelegatedRole {
                    role: f.role(&name, map)?,
                    terminating,
                    paths: strings("paths")?,
                    path_hash_prefixes: strings("path_hash_prefixes")?,
                    name,
                })
            })
            .collect::<Result<Vec<_>, TufError>>()?,
        Some(other) => return Err(f.invalid(format!("delegations.roles is {other}, expected an array"))),
    };
    Ok(Delegations { keys, roles })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(signed: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"signed": signed, "signatures": []})).unwrap()
    }

    fn root_signed() -> Value {
        let role = json!({"keyids": ["a"], "threshold": 1});
        json!({
            "_type": "root", "spec_version": "1.0.31", "version": 1,
            "expires": "2030-01-01T00:00:00Z", "consistent_snapshot": true,
            "keys": {"a": {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "00"}}},
            "roles": {"root": role, "timestamp": role, "snapshot": role, "targets": role},
            "x-extension": {"anything": [1, 2]}
        })
    }

    #[test]
    fn reads_a_root_with_unknown_fields_and_an_unusable_key() {
        let md = parse::<Root>(&file(root_signed())).unwrap();
        assert_eq!(md.signed.version, 1);
        assert!(md.signed.consistent_snapshot);
        assert!(!md.signed.keys["a"].is_usable());
        assert!(String::from_utf8(md.canonical)
            .unwrap()
            .contains("\"x-extension\":{\"anything\":[1,2]}"));
    }

    #[test]
    fn type_and_spec_version() {
        assert!(matches!(
            parse::<Timestamp>(&file(root_signed())),
            Err(TufError::WrongType { expected: RoleType::Timestamp, found }) if found == "root"
        ));
        for bad in ["2.0", "1", "1.0.0.0", "1.x", "", "01.0", " 1.0"] {
            let mut v = root_signed();
            v["spec_version"] = json!(bad);
            assert!(
                matches!(
                    parse::<Root>(&file(v)),
                    Err(TufError::UnsupportedSpecVersion { .. })
                ),
                "{bad}"
            );
        }
    }

    type Mutation = Box<dyn Fn(&mut Value)>;

    #[test]
    fn malformed_roots() {
        let cases: Vec<(&str, Mutation)> = vec![
            ("version 0", Box::new(|v| v["version"] = json!(0))),
            ("negative version", Box::new(|v| v["version"] = json!(-1))),
            ("string version", Box::new(|v| v["version"] = json!("1"))),
            ("bad expires", Box::new(|v| v["expires"] = json!("tomorrow"))),
            (
                "threshold 0",
                Box::new(|v| v["roles"]["snapshot"]["threshold"] = json!(0)),
            ),
            (
                "duplicate keyid",
                Box::new(|v| v["roles"]["root"]["keyids"] = json!(["a", "a"])),
            ),
            (
                "missing role",
                Box::new(|v| {
                    v["roles"].as_object_mut().unwrap().remove("targets");
                }),
            ),
            (
                "extra role",
                Box::new(|v| v["roles"]["mirrors"] = json!({"keyids": [], "threshold": 1})),
            ),
            (
                "consistent_snapshot string",
                Box::new(|v| v["consistent_snapshot"] = json!("yes")),
            ),
            (
                "key without keyval",
                Box::new(|v| v["keys"]["a"] = json!({"keytype": "ed25519", "scheme": "ed25519"})),
            ),
            ("float", Box::new(|v| v["x-extension"] = json!(1.5))),
        ];
        for (name, mutate) in cases {
            let mut v = root_signed();
            mutate(&mut v);
            assert!(parse::<Root>(&file(v)).is_err(), "{name}");
        }
        let mut v = root_signed();
        v["roles"]["snapshot"]["threshold"] = json!(0);
        assert!(
            matches!(parse::<Root>(&file(v)), Err(TufError::ZeroThreshold { name, .. }) if name == "snapshot")
        );
        let mut v = root_signed();
        v["x"] = json!(0.5);
        assert!(matches!(
            parse::<Root>(&file(v)),
            Err(TufError::NotCanonical { .. })
        ));
    }

    #[test]
    fn envelope_shape() {
        let signed = root_signed();
        for bad in [
            json!([]),
            json!({"signed": signed}),
            json!({"signatures": []}),
            json!({"signed": [], "signatures": []}),
            json!({"signed": signed, "signatures": {}}),
            json!({"signed": signed, "signatures": [{"keyid": "a"}]}),
            json!({"signed": signed, "signatures": [{"keyid": 1, "sig": "00"}]}),
        ] {
            assert!(
                parse::<Root>(&serde_json::to_vec(&bad).unwrap()).is_err(),
                "{bad}"
            );
        }
        // Extra fields in a signature entry and at the top are allowed, as python-tuf allows.
        let ok = json!({"signed": signed, "signatures": [{"keyid": "a", "sig": "00", "x": 1}], "x": 2});
        let md = parse::<Root>(&serde_json::to_vec(&ok).unwrap()).unwrap();
        assert_eq!(
            md.signatures,
            vec![Signature {
                keyid: "a".into(),
                sig: "00".into()
            }]
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let text = String::from_utf8(file(root_signed())).unwrap();
        let dup = text.replacen("\"version\":1", "\"version\":1,\"version\":2", 1);
        assert_ne!(dup, text);
        assert!(matches!(
            parse::<Root>(dup.as_bytes()),
            Err(TufError::DuplicateKey { key, .. }) if key == "version"
        ));
    }

    #[test]
    fn timestamp_snapshot_targets() {
        let ts = json!({"_type": "timestamp", "spec_version": "1.0", "version": 7,
            "expires": "2030-01-01T00:00:00Z",
            "meta": {"snapshot.json": {"version": 3, "length": 10, "hashes": {"sha256": "ab"}}}});
        let md = parse::<Timestamp>(&file(ts.clone())).unwrap();
        assert_eq!(md.signed.snapshot_meta.version, 3);
        assert_eq!(md.signed.snapshot_meta.length, Some(10));
        let mut bad = ts.clone();
        bad["meta"] = json!({});
        assert!(matches!(
            parse::<Timestamp>(&file(bad)),
            Err(TufError::MissingMeta { .. })
        ));
        let mut bad = ts;
        bad["meta"]["snapshot.json"]["hashes"] = json!({});
        assert!(parse::<Timestamp>(&file(bad)).is_err());

        let targets = json!({"_type": "targets", "spec_version": "1.0", "version": 2,
            "expires": "2030-01-01T00:00:00Z",
            "targets": {"a.txt": {"length": 3, "hashes": {"sha256": "00"}, "custom": {"k": "v"}}},
            "delegations": {"keys": {}, "roles": [{"name": "d", "keyids": [], "threshold": 1,
                "terminating": true, "paths": ["d/*"]}]}});
        let md = parse::<Targets>(&file(targets.clone())).unwrap();
        assert_eq!(md.signed.targets["a.txt"].custom, Some(json!({"k": "v"})));
        assert_eq!(md.signed.delegations.unwrap().roles[0].name, "d");
        let mut bad = targets.clone();
        bad["targets"]["a.txt"]["hashes"] = json!({});
        assert!(parse::<Targets>(&file(bad)).is_err());
        let mut bad = targets;
        bad["delegations"]["roles"][0]["threshold"] = json!(0);
        assert!(matches!(
            parse::<Targets>(&file(bad)),
            Err(TufError::ZeroThreshold { .. })
        ));
    }
}
