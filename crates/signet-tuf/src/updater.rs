//! The TUF client workflow (TUF §5.3–§5.7) over two narrow traits: a [`Fetcher`] for the
//! network and a [`MetadataStore`] for persistence. The updater owns neither a socket, a file
//! nor a clock; the caller passes the time.

use crate::metadata::{Role, RoleType, Root, Snapshot, Targets, Timestamp};
use crate::trusted::{check_not_expired, TrustedSet};
use crate::verify::is_known_hash;
use crate::{FetchError, StoreError, TufError};

/// Raw bytes of the metadata a client has persisted (TUF §5.2: the trusted root shipped out of
/// band, and the last verified top-level metadata).
#[derive(Debug, Clone, Default)]
pub struct LocalMetadata {
    pub root: Vec<u8>,
    pub timestamp: Option<Vec<u8>>,
    pub snapshot: Option<Vec<u8>>,
    pub targets: Option<Vec<u8>>,
}

/// Fetches bytes over the network (the caller's HTTP). `Ok(None)` means the file does not
/// exist (HTTP 404, or 403 as S3/GCS answer for a missing object).
///
/// An implementation must stop reading after `max_len` bytes and return
/// [`FetchError::TooLong`]; the updater also refuses a longer answer itself.
pub trait Fetcher {
    fn fetch(&mut self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError>;
}

/// Persists verified metadata as soon as each piece is verified (TUF §5.3.8, §5.4.5, §5.5.7,
/// §5.6.6). File names are `root.json`, `timestamp.json`, `snapshot.json`, `targets.json`.
/// The implementation writes atomically (a crash must leave the old or the new file).
pub trait MetadataStore {
    fn persist(&mut self, file: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Removes a file; removing a file that does not exist is not an error.
    fn remove(&mut self, file: &str) -> Result<(), StoreError>;
}

/// Limits of the updater.
#[derive(Debug, Clone)]
pub struct UpdaterConfig {
    /// Root versions fetched in one refresh at most (python-tuf's `max_root_rotations`, 32).
    /// After that many the refresh goes on with the root reached, as python-tuf does; the
    /// next refresh continues from there.
    pub max_root_rotations: u32,
    /// Longest root file accepted (512 KiB).
    pub root_max_len: u64,
    /// Longest timestamp file accepted (16 KiB).
    pub timestamp_max_len: u64,
    /// Longest snapshot file accepted when the timestamp gives no length (2 MiB).
    pub snapshot_max_len: u64,
    /// Longest targets file accepted when the snapshot gives no length (5 MiB).
    pub targets_max_len: u64,
}

impl Default for UpdaterConfig {
    fn default() -> Self {
        UpdaterConfig {
            max_root_rotations: 32,
            root_max_len: 512 * 1024,
            timestamp_max_len: 16 * 1024,
            snapshot_max_len: 2 * 1024 * 1024,
            targets_max_len: 5 * 1024 * 1024,
        }
    }
}

/// A TUF client for one repository: brings the trusted metadata up to date
/// ([`Updater::refresh`]) and downloads targets the top-level targets metadata lists.
///
/// Only the top-level `targets` role is searched for targets. Delegations are parsed but never
/// followed: a target that only a delegated role lists is [`TufError::UnknownTarget`] (fail
/// closed). Sigstore's trust material (`trusted_root.json`, `signing_config.v0.2.json`) is
/// listed at the top level.
#[derive(Debug)]
pub struct Updater {
    trusted: TrustedSet,
    metadata_url: String,
    targets_url: String,
    config: UpdaterConfig,
    /// True once a refresh has completed, until the next one starts.
    refreshed: bool,
}

impl Updater {
    /// Starts from the persisted metadata. `metadata_url` and `targets_url` are base URLs
    /// ending in '/'.
    ///
    /// The root must be signed by a threshold of its own root keys; its expiry does not matter
    /// yet (a refresh may bring newer roots). The local timestamp, snapshot and targets are
    /// loaded only where a threshold of the keys this root gives their role signed them; one
    /// that does not verify is dropped, not an error (as python-tuf's `TrustedMetadataSet`):
    /// they only serve as the baseline for rollback checks (§5.4.3, §5.5.5) and, when still
    /// current at refresh, to skip a download.
    pub fn new(
        local: &LocalMetadata,
        metadata_url: &str,
        targets_url: &str,
        config: UpdaterConfig,
    ) -> Result<Self, TufError> {
        for url in [metadata_url, targets_url] {
            if !url.ends_with('/') {
                return Err(TufError::InvalidBaseUrl { url: url.to_string() });
            }
        }
        let mut trusted = TrustedSet::from_root(&local.root)?;
        trusted.timestamp = local
            .timestamp
            .as_deref()
            .and_then(|b| trusted.verified_local::<Timestamp>(b));
        trusted.snapshot = local
            .snapshot
            .as_deref()
            .and_then(|b| trusted.verified_local::<Snapshot>(b));
        trusted.targets = local
            .targets
            .as_deref()
            .and_then(|b| trusted.verified_local::<Targets>(b));
        Ok(Updater {
            trusted,
            metadata_url: metadata_url.to_string(),
            targets_url: targets_url.to_string(),
            config,
            refreshed: false,
        })
    }

    /// The trusted metadata. Complete, consistent and unexpired (at the time given) only
    /// after a successful [`Updater::refresh`].
    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// Runs the client workflow at `now_unix` (Unix seconds):
    ///
    /// 1. §5.3 root: fetch `N+1.root.json` while it exists (at most `max_root_rotations`),
    ///    each signed by a threshold of root N's keys and of its own, with version exactly
    ///    N+1, each persisted as `root.json` once verified. Then the final root must not be
    ///    expired (§5.3.10, freeze attack). If the timestamp or snapshot keys changed, the
    ///    trusted timestamp and snapshot are deleted (§5.3.11, fast-forward attack recovery).
    /// 2. §5.4 timestamp: signed by root's timestamp keys, version and snapshot version not
    ///    lower than the trusted timestamp's (an equal version keeps the trusted one), not
    ///    expired.
    /// 3. §5.5 snapshot (`V.snapshot.json` with consistent snapshots): length and hashes as
    ///    the timestamp lists them, signed by root's snapshot keys, the version the timestamp
    ///    lists, no file the trusted snapshot lists removed or rolled back, not expired.
    /// 4. §5.6 targets (`V.targets.json`): length and hashes as the snapshot lists them,
    ///    signed by root's targets keys, the version the snapshot lists, not expired.
    ///
    /// A local snapshot or targets that is already the one described (and unexpired) is used
    /// without downloading, as python-tuf does. On error, whatever verified before the failing
    /// step stays persisted (a new root, a new timestamp), and targets cannot be downloaded
    /// until a refresh succeeds.
    pub fn refresh(
        &mut self,
        fetcher: &mut dyn Fetcher,
        store: &mut dyn MetadataStore,
        now_unix: i64,
    ) -> Result<(), TufError> {
        self.refreshed = false;
        self.update_root(fetcher, store, now_unix)?;
        self.update_timestamp(fetcher, store, now_unix)?;
        self.update_snapshot(fetcher, store, now_unix)?;
        self.update_targets(fetcher, store, now_unix)?;
        self.refreshed = true;
        Ok(())
    }

    fn update_root(
        &mut self,
        fetcher: &mut dyn Fetcher,
        store: &mut dyn MetadataStore,
        now: i64,
    ) -> Result<(), TufError> {
        let before_version = self.trusted.root_version();
        for _ in 0..self.config.max_root_rotations {
            let Some(next) = self.trusted.root_version().checked_add(1) else {
                break;
            };
            // §5.3.3: roots are always fetched by version, consistent snapshots or not.
            let url = format!("{}{next}.root.json", self.metadata_url);
            let Some(bytes) = fetch(fetcher, &url, self.config.root_max_len)? else {
                break;
            };
            let previous: Root = self.trusted.root.signed.clone();
            self.trusted.update_root(&bytes)?;
            // §5.3.11: new timestamp or snapshot keys mean the old files may be a fast-forward
            // attack's leftovers: forget both, so they cannot block the repository's recovery.
            // Decided at every hop and done before the new root is persisted: were it decided
            // once at the end, a refresh cut off after persisting a rotated root would leave
            // the next refresh starting from that root, seeing no rotation, and keeping them.
            if role_keys_changed(&previous, &self.trusted.root.signed, RoleType::Timestamp)
                || role_keys_changed(&previous, &self.trusted.root.signed, RoleType::Snapshot)
            {
                self.trusted.timestamp = None;
                self.trusted.snapshot = None;
                remove(store, RoleType::Timestamp)?;
                remove(store, RoleType::Snapshot)?;
            }
            persist(store, RoleType::Root, &bytes)?;
        }
        // §5.3.10
        check_not_expired(&self.trusted.root, now)?;
        if self.trusted.root_version() != before_version {
            // Whatever else no longer verifies under the new root is dropped (not deleted:
            // the next verified file overwrites it).
            self.trusted.reverify_against_root();
        }
        Ok(())
    }

    fn update_timestamp(
        &mut self,
        fetcher: &mut dyn Fetcher,
        store: &mut dyn MetadataStore,
        now: i64,
    ) -> Result<(), TufError> {
        // §5.4.1: the timestamp is never fetched by version.
        let url = format!("{}timestamp.json", self.metadata_url);
        let bytes =
            fetch(fetcher, &url, self.config.timestamp_max_len)?.ok_or(TufError::MetadataNotFound { url })?;
        if self.trusted.update_timestamp(&bytes, now)? {
            persist(store, RoleType::Timestamp, &bytes)?;
        }
        Ok(())
    }

    fn update_snapshot(
        &mut self,
        fetcher: &mut dyn Fetcher,
        store: &mut dyn MetadataStore,
        now: i64,
    ) -> Result<(), TufError> {
        if self.trusted.snapshot_is_final(now) {
            return Ok(());
        }
        let meta = self
            .trusted
            .timestamp()
            .map(|t| t.snapshot_meta.clone())
            .ok_or(TufError::NotLoaded {
                role: RoleType::Timestamp,
            })?;
        // §5.5.1
        let url = if self.trusted.root().consistent_snapshot {
            format!("{}{}.snapshot.json", self.metadata_url, meta.version)
        } else {
            format!("{}snapshot.json", self.metadata_url)
        };
        let max_len = meta.length.unwrap_or(self.config.snapshot_max_len);
        let bytes = fetch(fetcher, &url, max_len)?.ok_or(TufError::MetadataNotFound { url })?;
        self.trusted.update_snapshot(&bytes, now)?;
        persist(store, RoleType::Snapshot, &bytes)
    }

    fn update_targets(
        &mut self,
        fetcher: &mut dyn Fetcher,
        store: &mut dyn MetadataStore,
        now: i64,
    ) -> Result<(), TufError> {
        if self.trusted.targets_is_final(now) {
            return Ok(());
        }
        let meta = self
            .trusted
            .snapshot()
            .and_then(|s| s.meta.get("targets.json"))
            .cloned()
            .ok_or(TufError::MissingMeta {
                role: RoleType::Snapshot,
                file: "targets.json".into(),
            })?;
        // §5.6.1
        let url = if self.trusted.root().consistent_snapshot {
            format!("{}{}.targets.json", self.metadata_url, meta.version)
        } else {
            format!("{}targets.json", self.metadata_url)
        };
        let max_len = meta.length.unwrap_or(self.config.targets_max_len);
        let bytes = fetch(fetcher, &url, max_len)?.ok_or(TufError::MetadataNotFound { url })?;
        self.trusted.update_targets(&bytes, now)?;
        persist(store, RoleType::Targets, &bytes)
    }

    /// The URLs target `name` may be fetched from (§5.7.3): `targets_url` + name, or with
    /// consistent snapshots `dir/HASH.basename`, one per listed hash, sha256 first.
    pub fn target_urls(&self, name: &str) -> Result<Vec<String>, TufError> {
        let target = self.trusted.target(name).ok_or_else(|| TufError::UnknownTarget {
            name: name.to_string(),
        })?;
        let path = encode_path(name);
        if !self.trusted.root().consistent_snapshot {
            return Ok(vec![format!("{}{path}", self.targets_url)]);
        }
        let (dir, base) = match path.rfind('/') {
            Some(i) => path.split_at(i + 1),
            None => ("", path.as_str()),
        };
        let mut hashes: Vec<(&String, &String)> = target.hashes.iter().collect();
        // sha256 first, then the other known algorithms, then the rest (sorted by name).
        hashes.sort_by_key(|(alg, _)| (alg.as_str() != "sha256", !is_known_hash(alg), alg.to_string()));
        Ok(hashes
            .into_iter()
            .map(|(_, digest)| format!("{}{dir}{}.{base}", self.targets_url, encode_path(digest)))
            .collect())
    }

    /// Downloads target `name`, listed in the top-level targets metadata, after a successful
    /// refresh: reads at most its listed length and checks the length and every listed hash
    /// (at least one of sha256, sha384, sha512 must be listed). With consistent snapshots each
    /// listed hash's file name is tried in turn (sha256 first) until one exists.
    pub fn download_target(&self, fetcher: &mut dyn Fetcher, name: &str) -> Result<Vec<u8>, TufError> {
        if !self.refreshed {
            return Err(TufError::NotRefreshed);
        }
        let urls = self.target_urls(name)?;
        let length = self.trusted.target(name).map_or(0, |t| t.length);
        for url in &urls {
            if let Some(bytes) = fetch(fetcher, url, length)? {
                self.trusted.check_target(name, &bytes)?;
                return Ok(bytes);
            }
        }
        Err(TufError::TargetNotFound {
            name: name.to_string(),
            urls,
        })
    }

    /// Checks bytes cached earlier against the trusted targets metadata (length and hashes),
    /// after a successful refresh.
    pub fn check_target(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        if !self.refreshed {
            return Err(TufError::NotRefreshed);
        }
        self.trusted.check_target(name, bytes)
    }
}

/// §5.3.11 "rotated": the role's keyids, or the keys behind them, changed.
fn role_keys_changed(before: &Root, after: &Root, role: RoleType) -> bool {
    let keys = |root: &Root, r: &Role| -> Vec<(String, String, String, String)> {
        let mut v: Vec<_> = r
            .keyids
            .iter()
            .map(|id| {
                let k = root.keys.get(id);
                (
                    id.clone(),
                    k.map(|k| k.keytype.clone()).unwrap_or_default(),
                    k.map(|k| k.scheme.clone()).unwrap_or_default(),
                    k.map(|k| k.public.clone()).unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    };
    keys(before, before.role(role)) != keys(after, after.role(role))
}

fn fetch(fetcher: &mut dyn Fetcher, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, TufError> {
    let fetched = fetcher.fetch(url, max_len).map_err(|source| TufError::Fetch {
        url: url.to_string(),
        source,
    })?;
    // The fetcher promised to stop at max_len; do not rely on it.
    if let Some(bytes) = &fetched {
        if bytes.len() as u64 > max_len {
            return Err(TufError::Fetch {
                url: url.to_string(),
                source: FetchError::TooLong {
                    url: url.to_string(),
                    max_len,
                },
            });
        }
    }
    Ok(fetched)
}

fn persist(store: &mut dyn MetadataStore, role: RoleType, bytes: &[u8]) -> Result<(), TufError> {
    store
        .persist(role.file_name(), bytes)
        .map_err(|source| TufError::Store {
            file: role.file_name().to_string(),
            source,
        })
}

fn remove(store: &mut dyn MetadataStore, role: RoleType) -> Result<(), TufError> {
    store.remove(role.file_name()).map_err(|source| TufError::Store {
        file: role.file_name().to_string(),
        source,
    })
}

/// Percent-encodes what may not appear raw in a URL path (RFC 3986 `pchar` less the
/// sub-delimiters, keeping '/'), so a target name is always one path under the base URL.
fn encode_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode_path("trusted_root.json"), "trusted_root.json");
        assert_eq!(
            encode_path("registry.npmjs.org/keys.json"),
            "registry.npmjs.org/keys.json"
        );
        assert_eq!(encode_path("a b?#é"), "a%20b%3F%23%C3%A9");
    }
}
