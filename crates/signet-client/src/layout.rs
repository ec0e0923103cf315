//! OCI image layouts on disk (the image-spec's `image-layout.md`): `oci-layout`, `index.json`
//! and `blobs/<algorithm>/<hex>`. `signet save IMAGE --dir DIR` writes one holding the image and
//! everything attached to it; `signet verify --local-image DIR` reads it with no network at all,
//! through the same [`ImageStore`] reads a registry answers, so the verification is the very
//! one done against a registry.
//!
//! What stands for a registry's tags is the `org.opencontainers.image.ref.name` annotation of
//! `index.json`'s entries (as skopeo's and umoci's `oci:DIR:tag` write it): the image's own tag,
//! the referrers fallback index `sha256-<hex>`, and cosign's legacy `sha256-<hex>.sig`/`.att`/
//! `.sbom`. Each entry also carries cosign's `kind` annotation where one applies
//! (`dev.cosignproject.cosign/image`, `…/imageIndex`, `…/sigs`, `…/atts`), and a layout `cosign
//! save` wrote (kinds, no names) is read as well. A layout has no referrers API; referrers are
//! found through the fallback index, which `save` writes whichever way the registry listed them.
//!
//! Everything read is bounded and checked against its digest, as from a registry: a layout
//! copied from elsewhere is as untrusted as a registry.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use signet_oci::manifest::{MAX_MANIFEST_BYTES, MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::{Descriptor, Digest, ImageIndex, Manifest};

use crate::oci::{FetchedManifest, ImageStore};

/// The annotation naming an `index.json` entry, as a tag names a manifest in a registry.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// signet's annotation on the saved image's `index.json` entry: the reference it was saved
/// from (`registry/repository:tag`), so `verify --local-image` can name it as `verify` would.
pub const ANNOTATION_SAVED_FROM: &str = "dev.signet.image.reference";
/// cosign's annotation saying what an `index.json` entry of `cosign save` is.
pub const ANNOTATION_KIND: &str = "kind";
/// cosign's `kind` of the saved image (an image manifest).
pub const KIND_IMAGE: &str = "dev.cosignproject.cosign/image";
/// cosign's `kind` of the saved image (an index).
pub const KIND_IMAGE_INDEX: &str = "dev.cosignproject.cosign/imageIndex";
/// cosign's `kind` of the saved `.sig` manifest.
pub const KIND_SIGNATURES: &str = "dev.cosignproject.cosign/sigs";
/// cosign's `kind` of the saved `.att` manifest.
pub const KIND_ATTESTATIONS: &str = "dev.cosignproject.cosign/atts";

/// The `oci-layout` file's content.
const LAYOUT_MARKER: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// The largest `index.json` read.
const MAX_INDEX_BYTES: u64 = 4 << 20;

/// An OCI image layout, read.
pub struct OciLayout {
    dir: PathBuf,
    index: ImageIndex,
}

impl OciLayout {
    /// Opens the layout at `dir`: `oci-layout` must say version 1.0.0 and `index.json` must
    /// be an image index.
    pub fn open(dir: &Path) -> anyhow::Result<OciLayout> {
        let shown = dir.display();
        let marker = read_bounded(&dir.join("oci-layout"), 4096)
            .with_context(|| format!("{shown} is not an OCI image layout"))?;
        let version = serde_json::from_slice::<serde_json::Value>(&marker)
            .ok()
            .and_then(|v| {
                v.get("imageLayoutVersion")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
        if version.as_deref() != Some("1.0.0") {
            bail!("{shown}/oci-layout does not say imageLayoutVersion 1.0.0");
        }
        let bytes = read_bounded(&dir.join("index.json"), MAX_INDEX_BYTES)
            .with_context(|| format!("{shown} is not an OCI image layout"))?;
        let index = match Manifest::parse(Some(MEDIA_TYPE_IMAGE_INDEX), &bytes)
            .with_context(|| format!("{shown}/index.json"))?
        {
            Manifest::Index(index) => *index,
            Manifest::Image(_) => bail!("{shown}/index.json is an image manifest, not an index"),
        };
        Ok(OciLayout {
            dir: dir.to_path_buf(),
            index,
        })
    }

    /// The entries of `index.json`.
    pub fn entries(&self) -> &[Descriptor] {
        &self.index.manifests
    }

    /// The image the layout holds: the entry cosign marked as the image, else the one entry
    /// that is not an attachment, signature index or fallback index.
    pub fn image(&self) -> anyhow::Result<&Descriptor> {
        let marked: Vec<&Descriptor> = self
            .entries()
            .iter()
            .filter(|d| {
                d.annotations
                    .get(ANNOTATION_KIND)
                    .is_some_and(|k| k == KIND_IMAGE || k == KIND_IMAGE_INDEX)
            })
            .collect();
        let candidates: Vec<&Descriptor> = if marked.is_empty() {
            self.entries()
                .iter()
                .filter(|d| !d.annotations.contains_key(ANNOTATION_KIND))
                .filter(|d| {
                    d.annotations
                        .get(ANNOTATION_REF_NAME)
                        .is_none_or(|name| !is_attachment_name(name))
                })
                .collect()
        } else {
            marked
        };
        match candidates.as_slice() {
            [one] => Ok(one),
            [] => bail!("{}: the layout holds no image", self.dir.display()),
            many => bail!(
                "{}: the layout holds {} images ({}); signet verifies a layout holding one",
                self.dir.display(),
                many.len(),
                many.iter()
                    .map(|d| d
                        .annotations
                        .get(ANNOTATION_REF_NAME)
                        .map_or_else(|| d.digest.to_string(), Clone::clone))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        blob_dir(&self.dir, digest).join(digest.hex())
    }

    /// The entry a tag names: by `ref.name`, or for cosign's `.sig`/`.att` by its `kind`.
    fn tagged(&self, tag: &str) -> Option<&Descriptor> {
        let by_name = self
            .entries()
            .iter()
            .find(|d| d.annotations.get(ANNOTATION_REF_NAME).is_some_and(|n| n == tag));
        let kind = if tag.ends_with(".sig") {
            Some(KIND_SIGNATURES)
        } else if tag.ends_with(".att") {
            Some(KIND_ATTESTATIONS)
        } else {
            None
        };
        by_name.or_else(|| {
            let kind = kind?;
            // cosign's layout names neither: its one `.sig` belongs to its one image.
            self.entries().iter().find(|d| {
                !d.annotations.contains_key(ANNOTATION_REF_NAME)
                    && d.annotations.get(ANNOTATION_KIND).is_some_and(|k| k == kind)
            })
        })
    }
}

/// Whether `name` is one of the tags signet and cosign keep attachments under.
fn is_attachment_name(name: &str) -> bool {
    let base = name
        .strip_suffix(".sig")
        .or_else(|| name.strip_suffix(".att"))
        .or_else(|| name.strip_suffix(".sbom"))
        .unwrap_or(name);
    base.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl ImageStore for OciLayout {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn find_manifest(&self, _repository: &str, reference: &str) -> anyhow::Result<Option<FetchedManifest>> {
        let (digest, listed_type) = match reference.parse::<Digest>() {
            Ok(d) => {
                let listed = self
                    .entries()
                    .iter()
                    .find(|e| e.digest == d)
                    .map(|e| e.media_type.clone());
                (d, listed)
            }
            Err(_) => match self.tagged(reference) {
                Some(entry) => (entry.digest.clone(), Some(entry.media_type.clone())),
                None => return Ok(None),
            },
        };
        let path = self.blob_path(&digest);
        let shown = format!("{}: {reference}", self.dir.display());
        let bytes = match read_bounded(&path, MAX_MANIFEST_BYTES as u64) {
            Ok(b) => b,
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e.context(shown)),
        };
        if !digest.matches(&bytes) {
            bail!("{shown}: the blob {} does not have that digest", path.display());
        }
        let manifest = Manifest::parse(listed_type.as_deref(), &bytes).with_context(|| shown.clone())?;
        let media_type = match &manifest {
            Manifest::Image(m) => m.media_type.clone(),
            Manifest::Index(i) => i.media_type.clone(),
        }
        .or(listed_type)
        .unwrap_or_else(|| MEDIA_TYPE_IMAGE_MANIFEST.to_string());
        Ok(Some(FetchedManifest {
            digest,
            media_type,
            bytes,
            manifest,
        }))
    }

    fn blob(&self, _repository: &str, descriptor: &Descriptor, max_len: u64) -> anyhow::Result<Vec<u8>> {
        let path = self.blob_path(&descriptor.digest);
        let shown = format!("{}: the blob {}", self.dir.display(), descriptor.digest);
        if descriptor.size > max_len {
            bail!(
                "{shown} is {} bytes, more than the {max_len} signet reads",
                descriptor.size
            );
        }
        let bytes = read_bounded(&path, max_len).with_context(|| shown.clone())?;
        if !descriptor.describes(&bytes) {
            bail!(
                "{shown}: {} does not hold that blob (size or digest differ)",
                path.display()
            );
        }
        Ok(bytes)
    }

    fn referrers(&self, _repository: &str, _digest: &Digest) -> anyhow::Result<Option<ImageIndex>> {
        Ok(None)
    }

    fn requests(&self) -> u32 {
        0
    }
}

/// The directory of a layout at `dir` holding blobs of `digest`'s algorithm.
fn blob_dir(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs").join(digest.algorithm().name())
}

/// Reads at most `max_len` bytes of `path`; a longer file is an error.
fn read_bounded(path: &Path, max_len: u64) -> anyhow::Result<Vec<u8>> {
    let file =
        File::open(path).map_err(|e| anyhow::Error::new(e).context(format!("opening {}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(max_len + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > max_len {
        bail!(
            "{} is larger than the {max_len} bytes signet reads",
            path.display()
        );
    }
    Ok(bytes)
}

/// Writes an OCI image layout: blobs as they come (each written to a temporary file and
/// renamed into place once its digest is checked, so a blob file is never partial), then
/// `index.json` last, atomically. An existing layout in the directory is added to: entries
/// with the same name are replaced, others kept.
pub struct LayoutWriter {
    dir: PathBuf,
    entries: Vec<Descriptor>,
}

impl LayoutWriter {
    /// Creates `dir` (and its `blobs/sha256`) if needed; reads the entries of a layout already
    /// there.
    pub fn create(dir: &Path) -> anyhow::Result<LayoutWriter> {
        let shown = dir.display();
        let entries = if dir.join("index.json").exists() {
            OciLayout::open(dir)?.index.manifests
        } else {
            if dir.exists()
                && fs::read_dir(dir)
                    .with_context(|| format!("reading {shown}"))?
                    .next()
                    .is_some()
            {
                bail!("{shown} exists and is not an OCI image layout; give an empty or new directory");
            }
            Vec::new()
        };
        fs::create_dir_all(dir.join("blobs").join("sha256"))
            .with_context(|| format!("creating {shown}/blobs"))?;
        write_atomic(&dir.join("oci-layout"), LAYOUT_MARKER)?;
        Ok(LayoutWriter {
            dir: dir.to_path_buf(),
            entries,
        })
    }

    /// Whether the layout has the blob already.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        blob_dir(&self.dir, digest).join(digest.hex())
    }

    /// Stores `content` (already checked against `digest` by whoever read it).
    pub fn put_blob(&self, digest: &Digest, content: &[u8]) -> anyhow::Result<()> {
        if !digest.matches(content) {
            bail!("refusing to store {digest}: the content has another digest");
        }
        let dir = blob_dir(&self.dir, digest);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_atomic(&self.blob_path(digest), content)
    }

    /// Stores a blob that `fill` writes (streamed from a registry, which checks its digest);
    /// the file appears only if `fill` succeeds.
    pub fn put_blob_with(
        &self,
        digest: &Digest,
        fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let path = self.blob_path(digest);
        let dir = blob_dir(&self.dir, digest);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut temp = tempfile_in(&dir)?;
        fill(&mut temp)?;
        temp.sync_all()
            .with_context(|| format!("writing {}", temp.path.display()))?;
        fs::rename(&temp.path, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Names `descriptor` in `index.json` with `annotations` (a `ref.name`, a `kind`),
    /// replacing an entry of the same name.
    pub fn add_entry(&mut self, mut descriptor: Descriptor, annotations: &[(&str, &str)]) {
        for (k, v) in annotations {
            descriptor.annotations.insert((*k).to_string(), (*v).to_string());
        }
        let name = descriptor.annotations.get(ANNOTATION_REF_NAME).cloned();
        let kind = descriptor.annotations.get(ANNOTATION_KIND).cloned();
        self.entries.retain(|e| {
            let same_name = name.is_some() && e.annotations.get(ANNOTATION_REF_NAME) == name.as_ref();
            // cosign's unnamed entries of a kind are replaced by a named one of that kind.
            let same_kind = kind.is_some()
                && !e.annotations.contains_key(ANNOTATION_REF_NAME)
                && e.annotations.get(ANNOTATION_KIND) == kind.as_ref();
            !(same_name || same_kind)
        });
        self.entries.push(descriptor);
    }

    /// Writes `index.json`, atomically; the layout is complete.
    pub fn finish(self) -> anyhow::Result<PathBuf> {
        let mut index = ImageIndex::new();
        index.manifests = self.entries;
        write_atomic(&self.dir.join("index.json"), &index.to_json())?;
        Ok(self.dir)
    }
}

/// A new temporary file in `dir`, with a random name (removed on drop unless renamed away).
fn tempfile_in(dir: &Path) -> anyhow::Result<TempFile> {
    let mut random = [0u8; 8];
    crate::os_random(&mut random)?;
    let path = dir.join(format!(".blob.{}.tmp", hex::encode(random)));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(TempFile { path, file })
}

/// A temporary file that is removed when dropped, unless it was renamed away first.
struct TempFile {
    path: PathBuf,
    file: File,
}

impl TempFile {
    fn sync_all(&self) -> std::io::Result<()> {
        self.file.sync_all()
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Gone already when it was renamed into place.
        let _ = fs::remove_file(&self.path);
    }
}

fn write_atomic(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    crate::files::write_atomic(path, content).map_err(|e| anyhow!("{e:#}"))
}

/// The largest blob `save` copies (an image layer); larger ones are refused, not truncated.
pub const MAX_SAVED_BLOB_BYTES: u64 = 16 << 30;
/// How deep `save` follows indexes within indexes.
const MAX_INDEX_DEPTH: usize = 3;

/// What `save_image` wrote.
#[derive(Debug, Clone)]
pub struct SavedImage {
    /// The image, pinned to the digest saved.
    pub image: signet_oci::ImageReference,
    /// The layout's directory.
    pub dir: PathBuf,
    /// Manifests and blobs written (not counting those the layout had already).
    pub blobs_written: usize,
    /// Referrers (Sigstore bundles and other artifacts) saved with the image.
    pub referrers: usize,
    /// cosign's legacy attachment tags (`.sig`, `.att`, `.sbom`) saved with the image.
    pub legacy: Vec<String>,
}

/// `signet save IMAGE --dir DIR` (cosign's `save`): writes the image (its manifests, config
/// and layers; for an index, every platform's) and everything attached to it (its referrers,
/// listed in a fallback index, and cosign's legacy `.sig`/`.att`/`.sbom`) to an OCI image
/// layout, for `signet verify --local-image DIR` to verify with no network. Every blob is
/// checked against its digest as it is copied, and `index.json` is written last: a layout is
/// complete or not updated.
pub fn save_image(
    image: &str,
    registry_options: &crate::oci::RegistryOptions,
    dir: &Path,
) -> anyhow::Result<SavedImage> {
    use signet_oci::cosign::{attachment_tag, Attachment};
    use signet_oci::referrers::{add_to_fallback_index, fallback_tag};
    let reference = signet_oci::ImageReference::parse(image)?;
    let http = registry_options.http()?;
    let registry = crate::oci::Registry::new(&http, reference.api_host(), registry_options)?;
    let repo = reference.repository.as_str();
    let top = registry
        .manifest(repo, &reference.manifest_reference())
        .with_context(|| format!("resolving {reference}"))?;
    let pinned = reference.with_digest(top.digest.clone());
    let (elsewhere, sig_repo) = crate::image::signature_registry(&http, registry_options, &reference)?;
    let sigs = elsewhere.as_ref().unwrap_or(&registry);

    let mut writer = LayoutWriter::create(dir)?;
    let mut copier = Copier {
        writer: &writer,
        written: 0,
    };
    let mut digests = vec![top.digest.clone()];
    if let Manifest::Index(index) = &top.manifest {
        digests.extend(index.manifests.iter().map(|d| d.digest.clone()));
    }
    copier
        .manifest(&registry, repo, &top, 0)
        .with_context(|| format!("saving {pinned}"))?;

    let mut referrers = 0;
    let mut legacy = Vec::new();
    let mut entries: Vec<(Descriptor, Vec<(String, String)>)> = Vec::new();
    for digest in &digests {
        let listed = match sigs.referrers(&sig_repo, digest)? {
            Some(index) => Some(index),
            None => match sigs.find_manifest(&sig_repo, &fallback_tag(digest))? {
                Some(FetchedManifest {
                    manifest: Manifest::Index(index),
                    ..
                }) => Some(*index),
                _ => None,
            },
        };
        if let Some(listed) = listed.filter(|l| !l.manifests.is_empty()) {
            let mut saved_index: Option<ImageIndex> = None;
            for descriptor in &listed.manifests {
                let fetched = sigs
                    .manifest(&sig_repo, &descriptor.digest.to_string())
                    .with_context(|| {
                        format!("saving the referrers of {}", pinned.with_digest(digest.clone()))
                    })?;
                copier.manifest(sigs, &sig_repo, &fetched, 0)?;
                saved_index = Some(add_to_fallback_index(saved_index, descriptor.clone()));
                referrers += 1;
            }
            let index = saved_index.unwrap_or_default();
            let bytes = index.to_json();
            let digest_of_index = Digest::sha256(&bytes);
            copier.put(&digest_of_index, &bytes)?;
            entries.push((
                Descriptor::of(MEDIA_TYPE_IMAGE_INDEX, &bytes),
                vec![(ANNOTATION_REF_NAME.to_string(), fallback_tag(digest))],
            ));
        }
        for (attachment, kind) in [
            (Attachment::Signature, Some(KIND_SIGNATURES)),
            (Attachment::Attestation, Some(KIND_ATTESTATIONS)),
            (Attachment::Sbom, None),
        ] {
            let Some(tag) = attachment_tag(digest, attachment) else {
                continue;
            };
            let Some(fetched) = sigs.find_manifest(&sig_repo, &tag)? else {
                continue;
            };
            copier.manifest(sigs, &sig_repo, &fetched, 0)?;
            let mut annotations = vec![(ANNOTATION_REF_NAME.to_string(), tag.clone())];
            // cosign's kind marks the top image's attachments only (its layout has one image).
            if let Some(kind) = kind.filter(|_| *digest == top.digest) {
                annotations.push((ANNOTATION_KIND.to_string(), kind.to_string()));
            }
            entries.push((fetched.descriptor(), annotations));
            legacy.push(tag);
        }
    }
    let kind = match top.manifest {
        Manifest::Index(_) => KIND_IMAGE_INDEX,
        Manifest::Image(_) => KIND_IMAGE,
    };
    let mut image_annotations = vec![
        (ANNOTATION_KIND.to_string(), kind.to_string()),
        (ANNOTATION_SAVED_FROM.to_string(), reference.to_string()),
    ];
    if let Some(tag) = &reference.tag {
        image_annotations.push((ANNOTATION_REF_NAME.to_string(), tag.clone()));
    }
    let blobs_written = copier.written;
    // The image replaces whatever image the layout held (it holds one).
    writer.entries.retain(|e| {
        !e.annotations
            .get(ANNOTATION_KIND)
            .is_some_and(|k| k == KIND_IMAGE || k == KIND_IMAGE_INDEX)
    });
    entries.insert(0, (top.descriptor(), image_annotations));
    for (descriptor, annotations) in entries {
        let pairs: Vec<(&str, &str)> = annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        writer.add_entry(descriptor, &pairs);
    }
    let dir = writer.finish()?;
    Ok(SavedImage {
        image: pinned,
        dir,
        blobs_written,
        referrers,
        legacy,
    })
}

/// Copies manifests and the blobs they name into a layout, skipping what it has.
struct Copier<'w> {
    writer: &'w LayoutWriter,
    written: usize,
}

impl Copier<'_> {
    fn put(&mut self, digest: &Digest, bytes: &[u8]) -> anyhow::Result<()> {
        if !self.writer.has_blob(digest) {
            self.writer.put_blob(digest, bytes)?;
            self.written += 1;
        }
        Ok(())
    }

    /// The manifest, its config and layers, and for an index every manifest it lists.
    fn manifest(
        &mut self,
        registry: &crate::oci::Registry,
        repo: &str,
        fetched: &FetchedManifest,
        depth: usize,
    ) -> anyhow::Result<()> {
        match &fetched.manifest {
            Manifest::Image(m) => {
                for blob in std::iter::once(&m.config).chain(&m.layers) {
                    if self.writer.has_blob(&blob.digest) {
                        continue;
                    }
                    self.writer.put_blob_with(&blob.digest, |sink| {
                        registry.blob_into(repo, blob, sink, MAX_SAVED_BLOB_BYTES)
                    })?;
                    self.written += 1;
                }
            }
            Manifest::Index(index) => {
                if depth >= MAX_INDEX_DEPTH {
                    bail!(
                        "{}/{repo}@{}: indexes nested more than {MAX_INDEX_DEPTH} deep",
                        registry.host(),
                        fetched.digest
                    );
                }
                for child in &index.manifests {
                    if self.writer.has_blob(&child.digest) {
                        continue;
                    }
                    let child = registry.manifest(repo, &child.digest.to_string())?;
                    self.manifest(registry, repo, &child, depth + 1)?;
                }
            }
        }
        // The manifest last: a manifest in the layout has all it names.
        self.put(&fetched.digest, &fetched.bytes)
    }
}
