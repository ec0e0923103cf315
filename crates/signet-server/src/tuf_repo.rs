//! The server's TUF repository, served at `/tuf`: how Sigstore clients (`sigstore --instance`,
//! sigstore-js's `--tuf-mirror-url`, `signet trust init --instance`) learn this instance's
//! trusted root and signing config, the way they learn the public instance's from
//! tuf-repo-cdn.sigstore.dev. The metadata is made and signed by `signet_tuf::repo`; this
//! module keeps the keys and files and decides when to publish.
//!
//! ```text
//! <data dir>/tuf/keys/{root,targets,snapshot,timestamp}.pem   one P-256 key per role (0600)
//! <data dir>/tuf/root.json          the newest root, to hand to clients out of band
//! <data dir>/tuf/repo/              what /tuf serves (consistent snapshots):
//!     N.root.json (every version ever published), timestamp.json, N.snapshot.json,
//!     N.targets.json, targets/<sha256>.trusted_root.json, targets/<sha256>.signing_config.v0.2.json
//! ```
//!
//! All four keys are online, in the data directory beside the other services' keys: this
//! repository is as trustworthy as that directory, which suits one machine's instance. An
//! instance whose clients must survive the loss of that machine keeps its root key offline
//! and signs roots elsewhere (as Sigstore's root-signing ceremonies do).
//!
//! Lifetimes: root 365 days, targets and snapshot 90 days, timestamp 7 days. At every start,
//! and hourly while running, a role closer to its expiry than a quarter of its lifetime is
//! re-signed as a new version (a new root is signed by the same root key, so it chains), and
//! changed trust files make new targets. Files are written in the order a client reads them
//! backwards (targets, then targets.json, snapshot, and timestamp.json last, each atomically),
//! so a client never sees metadata naming a file that is not there yet.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use signet_crypto::{KeyKind, Signer, SigningKey};
use signet_tuf::repo::{MetaFileSpec, RepoBuilder, RoleKeys, TargetSpec};

const DAY: i64 = 86_400;
const ROOT_LIFETIME: i64 = 365 * DAY;
const TARGETS_LIFETIME: i64 = 90 * DAY;
const TIMESTAMP_LIFETIME: i64 = 7 * DAY;
/// How often the running server checks whether the timestamp needs re-signing.
pub const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

const ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

/// The repository: its directory and keys. Publishing is serialised by a mutex.
pub struct TufRepo {
    dir: PathBuf,
    keys: Mutex<RoleKeys>,
}

/// What is published now, read back from the files.
#[derive(Debug, Default)]
struct Published {
    root: Option<(u64, i64)>,
    targets: Option<(u64, i64, serde_json::Value)>,
    /// Version, expiry, and the targets version it lists.
    snapshot: Option<(u64, i64, u64)>,
    timestamp: Option<(u64, i64, u64)>,
}

impl TufRepo {
    /// Opens `dir` (`<data dir>/tuf`), creating the keys on first use. A directory with some
    /// keys but not all is refused (half-written).
    #[cfg(test)]
    pub fn open_or_create(dir: &Path) -> anyhow::Result<Self> {
        TufRepo::open_with_key(dir, None)
    }

    /// [`TufRepo::open_or_create`], or with `token` (a PKCS#11 key, `--tuf-key-uri`) as the
    /// key of all four roles: no key files then (TUF lets one key serve several roles).
    pub fn open_with_key(dir: &Path, token: Option<Arc<dyn Signer>>) -> anyhow::Result<Self> {
        let keys = match token {
            Some(key) => RoleKeys {
                root: vec![key.clone()],
                targets: vec![key.clone()],
                snapshot: vec![key.clone()],
                timestamp: vec![key],
            },
            None => TufRepo::file_keys(dir)?,
        };
        std::fs::create_dir_all(dir.join("repo").join("targets"))
            .with_context(|| format!("creating {}", dir.join("repo").display()))?;
        Ok(TufRepo {
            dir: dir.to_path_buf(),
            keys: Mutex::new(keys),
        })
    }

    fn file_keys(dir: &Path) -> anyhow::Result<RoleKeys> {
        let keys_dir = dir.join("keys");
        let files: Vec<String> = ROLES.iter().map(|r| format!("{r}.pem")).collect();
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        let state = signet_keyfile::inspect_dir(&keys_dir, &names)?;
        if state == signet_keyfile::DirState::Empty {
            for name in &names {
                signet_keyfile::write_private_key(
                    &keys_dir.join(name),
                    &SigningKey::generate(KeyKind::EcdsaP256)?,
                )?;
            }
        }
        let load = |role: &str| -> anyhow::Result<Vec<Arc<dyn Signer>>> {
            Ok(vec![Arc::new(signet_keyfile::read_private_key(
                &keys_dir.join(format!("{role}.pem")),
            )?)])
        };
        Ok(RoleKeys {
            root: load("root")?,
            targets: load("targets")?,
            snapshot: load("snapshot")?,
            timestamp: load("timestamp")?,
        })
    }

    /// The TUF keyids of the root role's keys, sorted and comma-separated: what every front
    /// end on one database must agree on (pinned there, like the CA and TSA certificates).
    pub fn root_key_ids(&self) -> anyhow::Result<String> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let mut ids = keys
            .root
            .iter()
            .map(|k| Ok(signet_tuf::repo::key_json(k.public_key())?.0))
            .collect::<anyhow::Result<Vec<String>>>()?;
        ids.sort();
        Ok(ids.join(","))
    }

    /// The newest root, for `signet trust init --root` and `sigstore trust-instance`.
    pub fn root_path(&self) -> PathBuf {
        self.dir.join("root.json")
    }

    fn repo_dir(&self) -> PathBuf {
        self.dir.join("repo")
    }

    /// Publishes what needs publishing at `now`: a first repository, new targets when the
    /// trust files changed, and any role near its expiry.
    pub fn publish(&self, trusted_root: &[u8], signing_config: &[u8], now: i64) -> anyhow::Result<()> {
        let keys = self
            .keys
            .lock()
            .map_err(|_| anyhow!("the TUF publisher panicked earlier"))?;
        let current = self.published()?;
        let mut builder = RepoBuilder::new(keys.clone(), now + ROOT_LIFETIME);
        builder.root_expires = now + ROOT_LIFETIME;
        builder.targets_expires = now + TARGETS_LIFETIME;
        builder.snapshot_expires = now + TARGETS_LIFETIME;
        builder.timestamp_expires = now + TIMESTAMP_LIFETIME;
        let due = |expires: i64, lifetime: i64| expires - now < lifetime / 4;
        let repo = self.repo_dir();

        // Root: the first, or a new version before the old one expires.
        let root_version = match current.root {
            Some((v, expires)) if !due(expires, ROOT_LIFETIME) => v,
            Some((v, _)) => self.write_root(&builder, v + 1)?,
            None => self.write_root(&builder, 1)?,
        };
        let root_path = repo.join(format!("{root_version}.root.json"));
        if !self.root_path().exists()
            || std::fs::read(self.root_path()).ok() != std::fs::read(&root_path).ok()
        {
            let bytes =
                std::fs::read(&root_path).with_context(|| format!("reading {}", root_path.display()))?;
            write(&self.root_path(), &bytes)?;
        }

        // Targets: new when the trust files differ from the listed ones, or near expiry.
        let targets = [
            TargetSpec::new(signet_formats::trust::TRUSTED_ROOT_TARGET, trusted_root.to_vec()),
            TargetSpec::new(
                signet_formats::trust::SIGNING_CONFIG_TARGET,
                signing_config.to_vec(),
            ),
        ];
        let listed_same = |listed: &serde_json::Value| {
            targets.iter().all(|t| {
                let want = hex::encode(signet_crypto::sha256(&t.bytes));
                listed
                    .get(&t.name)
                    .and_then(|e| e.get("hashes")?.get("sha256")?.as_str())
                    == Some(want.as_str())
                    && listed.get(&t.name).and_then(|e| e.get("length")?.as_u64())
                        == Some(t.bytes.len() as u64)
            }) && listed.as_object().map(|o| o.len()) == Some(targets.len())
        };
        let targets_version = match &current.targets {
            Some((_, expires, listed)) if !due(*expires, TARGETS_LIFETIME) && listed_same(listed) => None,
            Some((v, ..)) => Some(v + 1),
            None => Some(1),
        };
        let (targets_version, targets_bytes) = match targets_version {
            Some(v) => {
                for t in &targets {
                    let digest = hex::encode(signet_crypto::sha256(&t.bytes));
                    write(
                        &repo.join("targets").join(format!("{digest}.{}", t.name)),
                        &t.bytes,
                    )?;
                }
                let bytes = builder.targets(v, &targets)?;
                write(&repo.join(format!("{v}.targets.json")), &bytes)?;
                (v, Some(bytes))
            }
            None => (current.targets.as_ref().map_or(0, |t| t.0), None),
        };

        // Snapshot: new with new targets (also targets a crash left unlisted), or near expiry.
        let snapshot_version = match (&targets_bytes, current.snapshot) {
            (None, Some((_, expires, listed)))
                if !due(expires, TARGETS_LIFETIME) && listed == targets_version =>
            {
                None
            }
            (_, Some((v, ..))) => Some(v + 1),
            (_, None) => Some(1),
        };
        let (snapshot_version, snapshot_bytes) = match snapshot_version {
            Some(v) => {
                let targets_json = std::fs::read(repo.join(format!("{targets_version}.targets.json")))
                    .context("reading the published targets.json")?;
                let bytes = builder.snapshot(v, &MetaFileSpec::describing(targets_version, &targets_json))?;
                write(&repo.join(format!("{v}.snapshot.json")), &bytes)?;
                (v, Some(bytes))
            }
            None => (current.snapshot.map_or(0, |s| s.0), None),
        };

        // Timestamp: new with a new snapshot, or near expiry.
        let timestamp_version = match (&snapshot_bytes, current.timestamp) {
            (None, Some((_, expires, listed)))
                if !due(expires, TIMESTAMP_LIFETIME) && listed == snapshot_version =>
            {
                None
            }
            (_, Some((v, ..))) => Some(v + 1),
            (_, None) => Some(1),
        };
        if let Some(v) = timestamp_version {
            let snapshot = match snapshot_bytes {
                Some(bytes) => bytes,
                None => std::fs::read(repo.join(format!("{snapshot_version}.snapshot.json")))
                    .context("reading the published snapshot.json")?,
            };
            let bytes = builder.timestamp(v, &MetaFileSpec::describing(snapshot_version, &snapshot))?;
            write(&repo.join("timestamp.json"), &bytes)?;
        }
        Ok(())
    }

    fn write_root(&self, builder: &RepoBuilder, version: u64) -> anyhow::Result<u64> {
        let bytes = builder.root(version)?;
        write(&self.repo_dir().join(format!("{version}.root.json")), &bytes)?;
        Ok(version)
    }

    /// Reads back the newest published version of each role.
    fn published(&self) -> anyhow::Result<Published> {
        let repo = self.repo_dir();
        let mut newest: [Option<u64>; 3] = [None; 3];
        for entry in std::fs::read_dir(&repo).with_context(|| format!("reading {}", repo.display()))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let mut parts = name.splitn(2, '.');
            let (Some(n), Some(rest)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            let slot = match rest {
                "root.json" => 0,
                "targets.json" => 1,
                "snapshot.json" => 2,
                _ => continue,
            };
            newest[slot] = newest[slot].max(Some(n));
        }
        let read = |name: String| -> anyhow::Result<(u64, i64, serde_json::Value)> {
            let path = repo.join(&name);
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?;
            let signed = &value["signed"];
            let version = signed["version"]
                .as_u64()
                .with_context(|| format!("{} has no version", path.display()))?;
            let expires = signed["expires"]
                .as_str()
                .and_then(|e| signet_tuf::Expires::parse(e).ok())
                .with_context(|| format!("{} has no valid expiry", path.display()))?;
            Ok((version, expires.unix_seconds(), signed.clone()))
        };
        let mut published = Published::default();
        if let Some(v) = newest[0] {
            let (_, expires, _) = read(format!("{v}.root.json"))?;
            published.root = Some((v, expires));
        }
        if let Some(v) = newest[1] {
            let (_, expires, signed) = read(format!("{v}.targets.json"))?;
            published.targets = Some((v, expires, signed["targets"].clone()));
        }
        if let Some(v) = newest[2] {
            let (_, expires, signed) = read(format!("{v}.snapshot.json"))?;
            let listed = signed["meta"]["targets.json"]["version"].as_u64().unwrap_or(0);
            published.snapshot = Some((v, expires, listed));
        }
        if repo.join("timestamp.json").exists() {
            let (v, expires, signed) = read("timestamp.json".into())?;
            let listed = signed["meta"]["snapshot.json"]["version"].as_u64().unwrap_or(0);
            published.timestamp = Some((v, expires, listed));
        }
        if published.root.is_none() && (published.targets.is_some() || published.timestamp.is_some()) {
            bail!(
                "{} has metadata but no root: half-written TUF repository",
                repo.display()
            );
        }
        Ok(published)
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    signet_keyfile::write_atomically(path, bytes, false).map_err(Into::into)
}

/// `GET /tuf/<file>` and `GET /tuf/targets/<file>`: the repository's files. Names are checked
/// before any file is opened, so a request cannot leave the repository directory.
pub fn router(repo: Arc<TufRepo>) -> axum::Router {
    axum::Router::new()
        .route("/{file}", axum::routing::get(metadata_file))
        .route("/targets/{file}", axum::routing::get(target_file))
        .with_state(repo)
}

async fn metadata_file(State(repo): State<Arc<TufRepo>>, UrlPath(file): UrlPath<String>) -> Response {
    serve_file(repo.repo_dir(), file).await
}

async fn target_file(State(repo): State<Arc<TufRepo>>, UrlPath(file): UrlPath<String>) -> Response {
    serve_file(repo.repo_dir().join("targets"), file).await
}

async fn serve_file(dir: PathBuf, file: String) -> Response {
    let safe = !file.is_empty()
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !safe {
        return not_found(&file);
    }
    match tokio::fs::read(dir.join(&file)).await {
        Ok(bytes) => {
            // timestamp.json changes in place; every other name is immutable once published.
            let cache = if file == "timestamp.json" {
                "no-cache"
            } else {
                "public, max-age=31536000, immutable"
            };
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, cache),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => not_found(&file),
    }
}

fn not_found(file: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"code": 404, "message": format!("no TUF file {file:?}")})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_tuf::{FetchError, Fetcher, LocalMetadata, MetadataStore, StoreError, Updater, UpdaterConfig};

    /// Serves the repository directory as the HTTP routes would.
    struct DirFetcher(PathBuf);

    impl Fetcher for DirFetcher {
        fn fetch(&mut self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
            let path = url.strip_prefix("https://tuf.test/").unwrap_or(url);
            match std::fs::read(self.0.join(path)) {
                Ok(b) if b.len() as u64 > max_len => Err(FetchError::TooLong {
                    url: url.into(),
                    max_len,
                }),
                Ok(b) => Ok(Some(b)),
                Err(_) => Ok(None),
            }
        }
    }

    #[derive(Default)]
    struct MemStore;

    impl MetadataStore for MemStore {
        fn persist(&mut self, _: &str, _: &[u8]) -> Result<(), StoreError> {
            Ok(())
        }
        fn remove(&mut self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn versions(repo: &TufRepo) -> (u64, u64, u64, u64) {
        let p = repo.published().unwrap();
        (
            p.root.unwrap().0,
            p.targets.unwrap().0,
            p.snapshot.unwrap().0,
            p.timestamp.unwrap().0,
        )
    }

    /// A client holding the first root reaches the published state and gets `trusted_root`.
    fn client_sees(repo: &TufRepo, now: i64, trusted_root: &[u8]) {
        let root = std::fs::read(repo.repo_dir().join("1.root.json")).unwrap();
        let mut updater = Updater::new(
            &LocalMetadata {
                root,
                ..LocalMetadata::default()
            },
            "https://tuf.test/",
            "https://tuf.test/targets/",
            UpdaterConfig::default(),
        )
        .unwrap();
        let mut fetcher = DirFetcher(repo.repo_dir());
        updater.refresh(&mut fetcher, &mut MemStore, now).unwrap();
        let got = updater
            .download_target(&mut fetcher, "trusted_root.json")
            .unwrap();
        assert_eq!(got, trusted_root);
    }

    #[test]
    fn publishes_only_what_is_due_and_clients_follow() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = TufRepo::open_or_create(tmp.path()).unwrap();
        let t0 = 1_800_000_000;
        repo.publish(b"{\"a\":1}", b"{}", t0).unwrap();
        assert_eq!(versions(&repo), (1, 1, 1, 1));
        client_sees(&repo, t0, b"{\"a\":1}");

        // Nothing changed, nothing due.
        repo.publish(b"{\"a\":1}", b"{}", t0 + 3600).unwrap();
        assert_eq!(versions(&repo), (1, 1, 1, 1));
        // The timestamp (7 days) is due with less than a quarter of its life left.
        repo.publish(b"{\"a\":1}", b"{}", t0 + 6 * DAY).unwrap();
        assert_eq!(versions(&repo), (1, 1, 1, 2));
        client_sees(&repo, t0 + 6 * DAY, b"{\"a\":1}");
        // New trust files: targets, snapshot and timestamp move together.
        repo.publish(b"{\"a\":2}", b"{}", t0 + 6 * DAY).unwrap();
        assert_eq!(versions(&repo), (1, 2, 2, 3));
        client_sees(&repo, t0 + 6 * DAY, b"{\"a\":2}");
        // Targets and snapshot (90 days) near expiry; then the root (365 days).
        repo.publish(b"{\"a\":2}", b"{}", t0 + 80 * DAY).unwrap();
        assert_eq!(versions(&repo), (1, 3, 3, 4));
        repo.publish(b"{\"a\":2}", b"{}", t0 + 300 * DAY).unwrap();
        assert_eq!(versions(&repo), (2, 4, 4, 5));
        client_sees(&repo, t0 + 300 * DAY, b"{\"a\":2}");
        assert_eq!(
            std::fs::read(repo.root_path()).unwrap(),
            std::fs::read(repo.repo_dir().join("2.root.json")).unwrap()
        );

        // A crash after new targets were written but before the snapshot: the disk holds
        // the new targets.json, the old snapshot and the old timestamp. The next start lists
        // the new targets even though the trust files it is given are the same.
        let saved_timestamp = std::fs::read(repo.repo_dir().join("timestamp.json")).unwrap();
        let (_, _, snapshot_before, timestamp_before) = versions(&repo);
        repo.publish(b"{\"a\":3}", b"{}", t0 + 300 * DAY).unwrap();
        std::fs::remove_file(
            repo.repo_dir()
                .join(format!("{}.snapshot.json", snapshot_before + 1)),
        )
        .unwrap();
        std::fs::write(repo.repo_dir().join("timestamp.json"), &saved_timestamp).unwrap();
        assert_eq!(versions(&repo), (2, 5, 4, timestamp_before));
        repo.publish(b"{\"a\":3}", b"{}", t0 + 300 * DAY).unwrap();
        assert_eq!(versions(&repo), (2, 5, 5, timestamp_before + 1));
        client_sees(&repo, t0 + 300 * DAY, b"{\"a\":3}");
    }

    #[test]
    fn keys_are_private_and_half_written_key_dirs_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        TufRepo::open_or_create(tmp.path()).unwrap();
        for role in ROLES {
            let mode = std::fs::metadata(tmp.path().join(format!("keys/{role}.pem")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{role}");
        }
        std::fs::remove_file(tmp.path().join("keys/snapshot.pem")).unwrap();
        assert!(TufRepo::open_or_create(tmp.path()).is_err());
    }
}
