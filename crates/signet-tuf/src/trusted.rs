//! The verified top-level metadata (python-tuf's `TrustedMetadataSet`): each piece enters only
//! through a method that runs the checks of its step of the client workflow (TUF §5.3–§5.6)
//! against what is already trusted.

use crate::metadata::{
    self, MetaFile, Metadata, RoleType, Root, Signed, Snapshot, TargetFile, Targets, Timestamp,
};
use crate::verify::{check_length_and_hashes, check_signed_by};
use crate::{LocalMetadata, TufError};

/// The verified top-level metadata: a root, and the timestamp, snapshot and targets that
/// verified against it.
///
/// Which guarantees hold depends on how the set was made: after
/// [`crate::Updater::refresh`] all four are present, consistent and unexpired at the time
/// given; [`TrustedSet::verify_offline`] checks signatures and consistency but not expiry;
/// before a refresh, [`crate::Updater::trusted`] holds whatever local metadata still verifies.
#[derive(Debug, Clone)]
pub struct TrustedSet {
    pub(crate) root: Metadata<Root>,
    pub(crate) timestamp: Option<Metadata<Timestamp>>,
    pub(crate) snapshot: Option<Metadata<Snapshot>>,
    pub(crate) targets: Option<Metadata<Targets>>,
}

impl TrustedSet {
    /// Starts from a root obtained out of band (§5.2): it must be signed by a threshold of its
    /// own root keys. Its expiry does not matter here: an expired root can still be the start
    /// of a chain of newer roots; the final root's expiry is checked in §5.3.10.
    pub(crate) fn from_root(bytes: &[u8]) -> Result<Self, TufError> {
        let root = metadata::parse::<Root>(bytes)?;
        check_signed_by(&root, &root.signed)?;
        Ok(TrustedSet {
            root,
            timestamp: None,
            snapshot: None,
            targets: None,
        })
    }

    /// Verifies a persisted set for offline use: the root signs itself; timestamp, snapshot
    /// and targets are each signed by the threshold of the keys root gives their role; the
    /// snapshot is the one the timestamp describes (version, and length/hashes when listed),
    /// and targets the one the snapshot describes. Expiry is NOT checked: this proves that the
    /// files (and, with [`TrustedSet::check_target`], cached targets) are what the
    /// repository's keys signed, not that they are current. Every file must be present.
    pub fn verify_offline(local: &LocalMetadata) -> Result<Self, TufError> {
        let mut set = TrustedSet::from_root(&local.root)?;
        let need = |file: &Option<Vec<u8>>, role| file.clone().ok_or(TufError::NotLoaded { role });
        let timestamp = metadata::parse::<Timestamp>(&need(&local.timestamp, RoleType::Timestamp)?)?;
        check_signed_by(&timestamp, &set.root.signed)?;
        let snapshot = set.snapshot_described_by(
            &timestamp.signed.snapshot_meta,
            &need(&local.snapshot, RoleType::Snapshot)?,
        )?;
        let targets_meta = targets_meta(&snapshot.signed)?;
        let targets = set.targets_described_by(targets_meta, &need(&local.targets, RoleType::Targets)?)?;
        set.timestamp = Some(timestamp);
        set.snapshot = Some(snapshot);
        set.targets = Some(targets);
        Ok(set)
    }

    /// §5.3.4–§5.3.5: `bytes` must be root version N+1, signed by a threshold of root N's
    /// root keys and by a threshold of its own. Does not check expiry (§5.3.10 checks the
    /// final root only).
    pub(crate) fn update_root(&mut self, bytes: &[u8]) -> Result<(), TufError> {
        let new = metadata::parse::<Root>(bytes)?;
        check_signed_by(&new, &self.root.signed)?;
        check_signed_by(&new, &new.signed)?;
        let expected = self.root.signed.version.saturating_add(1);
        if new.signed.version != expected {
            return Err(TufError::RootVersionMismatch {
                expected,
                found: new.signed.version,
            });
        }
        self.root = new;
        Ok(())
    }

    /// Loads local metadata of `T`'s role if it verifies against the current root; drops it
    /// otherwise. Used for the local timestamp, snapshot and targets, which only serve as the
    /// baseline for rollback checks and, when still current, to skip a download.
    pub(crate) fn verified_local<T: Signed>(&self, bytes: &[u8]) -> Option<Metadata<T>> {
        let md = metadata::parse::<T>(bytes).ok()?;
        check_signed_by(&md, &self.root.signed).ok()?;
        Some(md)
    }

    /// Re-checks the local timestamp, snapshot and targets against the current root (after a
    /// root update), dropping what no longer verifies.
    pub(crate) fn reverify_against_root(&mut self) {
        let root = &self.root.signed;
        if self
            .timestamp
            .as_ref()
            .is_some_and(|m| check_signed_by(m, root).is_err())
        {
            self.timestamp = None;
        }
        if self
            .snapshot
            .as_ref()
            .is_some_and(|m| check_signed_by(m, root).is_err())
        {
            self.snapshot = None;
        }
        if self
            .targets
            .as_ref()
            .is_some_and(|m| check_signed_by(m, root).is_err())
        {
            self.targets = None;
        }
    }

    /// §5.4: a new timestamp. Returns false when its version equals the trusted one's: the
    /// trusted timestamp is kept and nothing changes (python-tuf's rule; the caller does not
    /// persist it).
    pub(crate) fn update_timestamp(&mut self, bytes: &[u8], now: i64) -> Result<bool, TufError> {
        let new = metadata::parse::<Timestamp>(bytes)?;
        // §5.4.2
        check_signed_by(&new, &self.root.signed)?;
        if let Some(trusted) = &self.timestamp {
            // §5.4.3.1
            if new.signed.version < trusted.signed.version {
                return Err(TufError::TimestampRollback {
                    trusted: trusted.signed.version,
                    new: new.signed.version,
                });
            }
            if new.signed.version == trusted.signed.version {
                // Nothing new: the trusted timestamp stays the final one (§5.4.4 on it).
                check_not_expired(trusted, now)?;
                return Ok(false);
            }
            // §5.4.3.2
            if new.signed.snapshot_meta.version < trusted.signed.snapshot_meta.version {
                return Err(TufError::SnapshotVersionRollback {
                    trusted: trusted.signed.snapshot_meta.version,
                    new: new.signed.snapshot_meta.version,
                });
            }
        }
        // §5.4.4
        check_not_expired(&new, now)?;
        self.timestamp = Some(new);
        Ok(true)
    }

    /// True when the trusted snapshot is the one the trusted timestamp describes and is not
    /// expired: python-tuf then uses it without downloading.
    pub(crate) fn snapshot_is_final(&self, now: i64) -> bool {
        let (Some(ts), Some(snapshot)) = (&self.timestamp, &self.snapshot) else {
            return false;
        };
        let meta = &ts.signed.snapshot_meta;
        snapshot.signed.version == meta.version
            && !snapshot.signed.expires.is_expired_at(now)
            && check_length_and_hashes("snapshot.json", &snapshot.raw, meta.length, meta.hashes.as_ref())
                .is_ok()
    }

    /// §5.5: a new snapshot, as the trusted timestamp describes it.
    pub(crate) fn update_snapshot(&mut self, bytes: &[u8], now: i64) -> Result<(), TufError> {
        let ts = self.timestamp.as_ref().ok_or(TufError::NotLoaded {
            role: RoleType::Timestamp,
        })?;
        // §5.5.2–§5.5.4
        let new = self.snapshot_described_by(&ts.signed.snapshot_meta, bytes)?;
        // §5.5.5: no file the trusted snapshot lists may vanish or go back.
        if let Some(trusted) = &self.snapshot {
            for (file, old) in &trusted.signed.meta {
                let Some(now_listed) = new.signed.meta.get(file) else {
                    return Err(TufError::SnapshotMetaRemoved { file: file.clone() });
                };
                if now_listed.version < old.version {
                    return Err(TufError::SnapshotMetaRollback {
                        file: file.clone(),
                        trusted: old.version,
                        new: now_listed.version,
                    });
                }
            }
        }
        // §5.5.6
        check_not_expired(&new, now)?;
        self.snapshot = Some(new);
        Ok(())
    }

    /// True when the trusted targets are the ones the trusted snapshot describes and are not
    /// expired.
    pub(crate) fn targets_is_final(&self, now: i64) -> bool {
        let (Some(snapshot), Some(targets)) = (&self.snapshot, &self.targets) else {
            return false;
        };
        let Ok(meta) = targets_meta(&snapshot.signed) else {
            return false;
        };
        targets.signed.version == meta.version
            && !targets.signed.expires.is_expired_at(now)
            && check_length_and_hashes("targets.json", &targets.raw, meta.length, meta.hashes.as_ref())
                .is_ok()
    }

    /// §5.6: new top-level targets, as the trusted snapshot describes them.
    pub(crate) fn update_targets(&mut self, bytes: &[u8], now: i64) -> Result<(), TufError> {
        let snapshot = self.snapshot.as_ref().ok_or(TufError::NotLoaded {
            role: RoleType::Snapshot,
        })?;
        let meta = targets_meta(&snapshot.signed)?;
        // §5.6.2–§5.6.4
        let new = self.targets_described_by(meta, bytes)?;
        // §5.6.5
        check_not_expired(&new, now)?;
        self.targets = Some(new);
        Ok(())
    }

    /// §5.5.2–§5.5.4 without rollback or expiry: the length and hashes the timestamp lists (if
    /// any), a threshold of root's snapshot keys, and the version the timestamp lists.
    fn snapshot_described_by(&self, meta: &MetaFile, bytes: &[u8]) -> Result<Metadata<Snapshot>, TufError> {
        check_length_and_hashes("snapshot.json", bytes, meta.length, meta.hashes.as_ref())?;
        let new = metadata::parse::<Snapshot>(bytes)?;
        check_signed_by(&new, &self.root.signed)?;
        if new.signed.version != meta.version {
            return Err(TufError::SnapshotVersionMismatch {
                expected: meta.version,
                found: new.signed.version,
            });
        }
        Ok(new)
    }

    /// §5.6.2–§5.6.4 without expiry.
    fn targets_described_by(&self, meta: &MetaFile, bytes: &[u8]) -> Result<Metadata<Targets>, TufError> {
        check_length_and_hashes("targets.json", bytes, meta.length, meta.hashes.as_ref())?;
        let new = metadata::parse::<Targets>(bytes)?;
        check_signed_by(&new, &self.root.signed)?;
        if new.signed.version != meta.version {
            return Err(TufError::TargetsVersionMismatch {
                expected: meta.version,
                found: new.signed.version,
            });
        }
        Ok(new)
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root.signed
    }

    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref().map(|m| &m.signed)
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref().map(|m| &m.signed)
    }

    pub fn targets(&self) -> Option<&Targets> {
        self.targets.as_ref().map(|m| &m.signed)
    }

    pub fn root_version(&self) -> u64 {
        self.root.signed.version
    }

    pub fn timestamp_version(&self) -> Option<u64> {
        self.timestamp().map(|t| t.version)
    }

    pub fn snapshot_version(&self) -> Option<u64> {
        self.snapshot().map(|s| s.version)
    }

    pub fn targets_version(&self) -> Option<u64> {
        self.targets().map(|t| t.version)
    }

    /// The exact bytes of a loaded role's metadata, as verified (what a store should hold).
    pub fn raw(&self, role: RoleType) -> Option<&[u8]> {
        match role {
            RoleType::Root => Some(&self.root.raw),
            RoleType::Timestamp => self.timestamp.as_ref().map(|m| m.raw.as_slice()),
            RoleType::Snapshot => self.snapshot.as_ref().map(|m| m.raw.as_slice()),
            RoleType::Targets => self.targets.as_ref().map(|m| m.raw.as_slice()),
        }
    }

    /// The earliest expiry of the loaded roles, as Unix seconds, and which role it is (the
    /// first of root, timestamp, snapshot, targets on a tie).
    pub fn expires(&self) -> (i64, RoleType) {
        let mut earliest = (self.root.signed.expires.unix_seconds(), RoleType::Root);
        let others = [
            self.timestamp()
                .map(|t| (t.expires.unix_seconds(), RoleType::Timestamp)),
            self.snapshot()
                .map(|s| (s.expires.unix_seconds(), RoleType::Snapshot)),
            self.targets()
                .map(|t| (t.expires.unix_seconds(), RoleType::Targets)),
        ];
        for candidate in others.into_iter().flatten() {
            if candidate.0 < earliest.0 {
                earliest = candidate;
            }
        }
        earliest
    }

    /// The description of target `name` in the top-level targets metadata. Delegated roles are
    /// not searched.
    pub fn target(&self, name: &str) -> Option<&TargetFile> {
        self.targets()?.targets.get(name)
    }

    /// Checks `bytes` against the length and hashes the top-level targets metadata gives
    /// target `name` (every listed hash this client knows; at least one must be known).
    pub fn check_target(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        let targets = self.targets().ok_or(TufError::NotLoaded {
            role: RoleType::Targets,
        })?;
        let target = targets.targets.get(name).ok_or_else(|| TufError::UnknownTarget {
            name: name.to_string(),
        })?;
        check_length_and_hashes(name, bytes, Some(target.length), Some(&target.hashes))
    }
}

/// `meta["targets.json"]` of a snapshot.
fn targets_meta(snapshot: &Snapshot) -> Result<&MetaFile, TufError> {
    snapshot
        .meta
        .get("targets.json")
        .ok_or_else(|| TufError::MissingMeta {
            role: RoleType::Snapshot,
            file: "targets.json".into(),
        })
}

pub(crate) fn check_not_expired<T: Signed>(md: &Metadata<T>, now: i64) -> Result<(), TufError> {
    let expires = md.signed.expires();
    if expires.is_expired_at(now) {
        return Err(TufError::Expired {
            role: T::TYPE,
            version: md.signed.version(),
            expires: expires.to_string(),
            now,
        });
    }
    Ok(())
}
