//! Container images, cosign's main job: `signet sign` / `verify` and `attest` /
//! `verify-attestation` of images in the bundle format cosign 3 writes by default. The image
//! is resolved once and its digest is what is signed: an in-toto v1 statement about that digest with predicate type
//! `https://sigstore.dev/cosign/sign/v1`, in a DSSE envelope, in a Sigstore bundle v0.3 attached
//! to the image as an OCI 1.1 referrer; where the registry has no referrers API, signet updates
//! the `sha256-<hex>` fallback index itself, in one PUT of the whole new index.
//!
//! Verification finds the image's bundles (the fallback index, else the referrers API, which
//! is also asked when nothing in a fallback index verifies), verifies each against the trusted
//! root and the expected signer with the image's digest as the artifact, and tells "no
//! signatures" apart from "signatures, none of which verifies" (saying why the first one
//! failed). Attestations are the same with the statement's own predicate
//! type and predicate. An image with no bundle signature has its cosign 1/2 `sha256-<hex>.sig`
//! signatures verified instead (cosign's fallback), and one with no bundle attestation of the
//! type its `.att` attestations ([`crate::legacy_image`], which also writes the legacy format:
//! `--legacy-format`).
//!
//! Reads go through [`ImageStore`]: a registry, or an OCI image layout on disk that `signet
//! save` wrote ([`crate::layout`]), so `verify --local-image` is the very verification done
//! online. Signatures may live in another repository than the image (`--signature-repository`,
//! cosign's `COSIGN_REPOSITORY`). With `recursive`, every platform manifest of an index is
//! signed (one certificate for all) or verified (the lookups in parallel) as well as the index.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use signet_formats::bundle::{Bundle, BundleContent as Content};
use signet_formats::intoto::{ResourceDescriptor, Statement, PAYLOAD_TYPE};
use signet_oci::cosign::SimpleSigning;
use signet_oci::manifest::{EMPTY_CONTENT, MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::referrers::{
    add_to_fallback_index, bundle_referrer, fallback_tag, is_bundle_manifest, may_be_bundle, BundleContent,
};
use signet_oci::{Digest, ImageIndex, ImageReference, Manifest};
use signet_verify::{Artifact, ArtifactDigest, PreparedTrust, VerifiedSigner};

use crate::layout::OciLayout;
use crate::oci::{FetchedManifest, ImageStore, Registry, RegistryOptions};
use crate::sign::Payload;
use crate::trust::{TrustArgs, TrustEnv};
use crate::verify::IdentityArgs;
use crate::{files, unix_now, SignOptions};

/// The predicate type of cosign 3's image signatures.
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

impl VerifiedImageSignature {
    /// The DSSE envelope as JSON (what `cosign verify-attestation` prints, one per line).
    pub fn envelope_json(&self) -> Option<String> {
        match &self.bundle.content {
            Content::DsseEnvelope(envelope) => serde_json::to_string(envelope).ok(),
            Content::MessageSignature(_) => None,
        }
    }
}

/// What `sign_image` did.
#[derive(Debug, Clone)]
pub struct SignedImage {
    /// The image, pinned to the digest that was signed.
    pub image: ImageReference,
    /// The digest of the referrer manifest holding the bundle.
    pub referrer: Digest,
    /// Whether the fallback index was written (the registry has no referrers API).
    pub fallback_index: bool,
    /// With `--recursive`, each platform manifest of the index, signed as well.
    pub platforms: Vec<SignedImage>,
    /// Registry requests made (for the benchmark; on the top image only).
    pub requests: u32,
}

/// Signs the image `image` (cosign 3's `cosign sign`): resolves it once, signs its digest, and
/// attaches the bundle as a referrer; with `recursive`, each platform manifest of an index too.
pub fn sign_image(
    options: &SignOptions,
    image: &str,
    registry_options: &RegistryOptions,
    annotations: &Annotations,
    recursive: bool,
) -> anyhow::Result<SignedImage> {
    attest_image(
        options,
        image,
        registry_options,
        COSIGN_SIGN_PREDICATE_TYPE,
        json!({}),
        annotations,
        recursive,
    )
}

/// `-a key=value` annotations: on the statement's subject when signing (as cosign 3 writes
/// them), required of a signature when verifying.
pub type Annotations = BTreeMap<String, String>;

/// Reads `key=value` arguments.
pub fn parse_annotations(args: &[String]) -> anyhow::Result<Annotations> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| anyhow!("annotation {a:?} is not key=value"))
        })
        .collect()
}

/// Where an image's signatures and attestations are kept: beside it, or in the signature
/// repository the options name (`--signature-repository`, cosign's `COSIGN_REPOSITORY`),
/// which may be on another registry.
pub(crate) fn signature_place(
    options: &RegistryOptions,
    image: &ImageReference,
) -> anyhow::Result<(String, String)> {
    match options.signature_repository.as_deref() {
        None => Ok((image.api_host().to_string(), image.repository.clone())),
        Some(text) => {
            let parsed =
                ImageReference::parse(text).with_context(|| format!("the signature repository {text:?}"))?;
            if parsed.digest.is_some() || text.rsplit('/').next().is_some_and(|last| last.contains(':')) {
                bail!("the signature repository {text:?} must be a repository, without a tag or digest");
            }
            Ok((parsed.api_host().to_string(), parsed.repository))
        }
    }
}

/// The registry the signatures are in when it is not the image's own (`None` when it is), and
/// the repository there: [`signature_place`], with a client for the other registry.
pub(crate) fn signature_registry<'h>(
    http: &'h crate::http::Http,
    options: &RegistryOptions,
    image: &ImageReference,
) -> anyhow::Result<(Option<Registry<'h>>, String)> {
    let (host, repository) = signature_place(options, image)?;
    let elsewhere = if host == image.api_host() {
        None
    } else {
        Some(Registry::new(http, &host, options)?)
    };
    Ok((elsewhere, repository))
}

/// Attests to the image `image` (cosign 3's `cosign attest`): an in-toto statement about its
/// digest with `predicate` of `predicate_type`, signed and attached as a referrer; with
/// `recursive` and an index, one for each platform manifest too, all with one certificate.
pub fn attest_image(
    options: &SignOptions,
    image: &str,
    registry_options: &RegistryOptions,
    predicate_type: &str,
    predicate: Value,
    annotations: &Annotations,
    recursive: bool,
) -> anyhow::Result<SignedImage> {
    let reference = ImageReference::parse(image)?;
    let http = registry_options.http()?;
    let registry = Registry::new(&http, reference.api_host(), registry_options)?;
    let repo = reference.repository.as_str();
    let target = registry
        .manifest(repo, &reference.manifest_reference())
        .with_context(|| format!("resolving {reference}"))?;
    let mut subjects = vec![target.descriptor()];
    if recursive {
        if let Manifest::Index(index) = &target.manifest {
            subjects.extend(index.manifests.iter().cloned());
        }
    }
    let statements = subjects.iter().map(|subject| {
        Statement::new(
            vec![ResourceDescriptor {
                name: String::new(),
                digest: BTreeMap::from([("sha256".to_string(), subject.digest.hex())]),
                annotations: annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            }],
            predicate_type,
            Some(predicate.clone()),
        )
    });
    let payloads = statements
        .map(|statement| Payload::Dsse {
            payload_type: PAYLOAD_TYPE.to_string(),
            payload: statement.to_json(),
        })
        .collect();
    let bundles = crate::sign_payloads(options, payloads)?;

    let (elsewhere, sig_repo) = signature_registry(&http, registry_options, &reference)?;
    let sigs = elsewhere.as_ref().unwrap_or(&registry);
    // Whether the registry lists referrers itself: asked once, for every manifest signed.
    let has_api = sigs.referrers(&sig_repo, &subjects[0].digest)?.is_some();
    let mut signed = subjects
        .into_iter()
        .zip(bundles)
        .map(|(subject, bundle)| {
            let pinned = reference.with_digest(subject.digest.clone());
            let (referrer, fallback_index) = attach_bundle(
                sigs,
                &sig_repo,
                subject,
                &bundle.to_json(),
                predicate_type,
                has_api,
            )
            .with_context(|| format!("attaching the signature to {pinned}"))?;
            Ok(SignedImage {
                image: pinned,
                referrer,
                fallback_index,
                platforms: Vec::new(),
                requests: 0,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut top = signed.remove(0);
    top.platforms = signed;
    top.requests = registry.requests() + elsewhere.as_ref().map_or(0, Registry::requests);
    Ok(top)
}

/// Attaches `bundle_json` to `subject` as a referrer in `repo` of `registry`: the blobs, then
/// the manifest by digest (unreferenced if anything after fails), then, where the registry has
/// no referrers API (`has_api` false), the fallback index that lists it, whole, in one PUT.
/// Returns the referrer's digest and whether the fallback index was written.
fn attach_bundle(
    registry: &Registry,
    repo: &str,
    subject: signet_oci::Descriptor,
    bundle_json: &[u8],
    predicate_type: &str,
    has_api: bool,
) -> anyhow::Result<(Digest, bool)> {
    let subject_digest = subject.digest.clone();
    let referrer = bundle_referrer(
        bundle_json,
        subject,
        BundleContent::DsseEnvelope,
        Some(predicate_type),
        &signet_formats::common::Timestamp::from_unix(unix_now()?).to_string(),
    );
    registry
        .push_blob(repo, EMPTY_CONTENT)
        .context("the empty config")?;
    registry.push_new_blob(repo, bundle_json).context("the bundle")?;
    registry
        .push_manifest(
            repo,
            &referrer.descriptor.digest.to_string(),
            MEDIA_TYPE_IMAGE_MANIFEST,
            &referrer.manifest,
        )
        .context("the referrer manifest")?;
    if !has_api {
        let tag = fallback_tag(&subject_digest);
        let existing = fallback_index(registry, repo, &tag)?;
        let index = add_to_fallback_index(existing, referrer.descriptor.clone());
        registry
            .push_manifest(repo, &tag, MEDIA_TYPE_IMAGE_INDEX, &index.to_json())
            .context("the fallback index")?;
    }
    Ok((referrer.descriptor.digest, !has_api))
}

/// The image's digest: the one in the reference (no request), else the one the registry
/// serves for the tag now, with the manifest (so it is not fetched twice).
pub(crate) fn image_digest(
    store: &dyn ImageStore,
    reference: &ImageReference,
) -> anyhow::Result<(Digest, Option<FetchedManifest>)> {
    match &reference.digest {
        Some(d) => Ok((d.clone(), None)),
        None => {
            let fetched = store
                .manifest(&reference.repository, &reference.manifest_reference())
                .with_context(|| format!("resolving {reference}"))?;
            Ok((fetched.digest.clone(), Some(fetched)))
        }
    }
}

/// The fallback index at `tag`, if there is one.
pub(crate) fn fallback_index(
    store: &dyn ImageStore,
    repo: &str,
    tag: &str,
) -> anyhow::Result<Option<ImageIndex>> {
    match store.find_manifest(repo, tag) {
        Ok(Some(FetchedManifest {
            manifest: Manifest::Index(index),
            ..
        })) => Ok(Some(*index)),
        Ok(Some(_)) => bail!(
            "{}/{repo}:{tag} should be the referrers fallback index, but is an image manifest",
            store.location()
        ),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One verified image signature or attestation.
#[derive(Debug, Clone)]
pub struct VerifiedImageSignature {
    /// The referrer manifest it came from.
    pub referrer: Digest,
    /// Who signed.
    pub signer: VerifiedSigner,
    /// The verified in-toto statement.
    pub statement: Option<Statement>,
    /// The bundle (its DSSE envelope is what `verify-attestation` prints).
    pub bundle: Bundle,
    /// What was signed about the image, as cosign's simple-signing claims: a legacy
    /// signature's payload, or for a bundle the image and the annotations on its subject.
    pub claims: SimpleSigning,
}

/// What `verify_image` found.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    /// The image, pinned to the digest verified.
    pub image: ImageReference,
    /// The signatures that verified (at least one).
    pub signatures: Vec<VerifiedImageSignature>,
    /// With `--recursive`, each platform manifest of the index, verified as well.
    pub platforms: Vec<VerifiedImage>,
    /// Registry requests made (for the benchmark).
    pub requests: u32,
}

impl VerifiedImage {
    /// The image and, with `--recursive`, each platform after it.
    pub fn each(&self) -> impl Iterator<Item = &VerifiedImage> {
        std::iter::once(self).chain(&self.platforms)
    }
}

impl SignedImage {
    /// The image and, with `--recursive`, each platform after it.
    pub fn each(&self) -> impl Iterator<Item = &SignedImage> {
        std::iter::once(self).chain(&self.platforms)
    }
}

/// Verifies the image's signatures (cosign 3's `cosign verify`): at least one bundle attached
/// to it must verify for the expected signer, over the image's digest; with `recursive` and an
/// index, also over each platform manifest's digest.
pub fn verify_image(
    trust_args: &TrustArgs,
    image: &str,
    identity: &IdentityArgs,
    registry_options: &RegistryOptions,
    annotations: &Annotations,
    recursive: bool,
) -> anyhow::Result<VerifiedImage> {
    verify_image_attestations(
        trust_args,
        image,
        identity,
        registry_options,
        COSIGN_SIGN_PREDICATE_TYPE,
        annotations,
        recursive,
    )
}

/// Verifies the image's attestations of `predicate_type` (cosign 3's `cosign
/// verify-attestation`): at least one must verify for the expected signer, about the image's
/// digest. The verified statements are in the result.
pub fn verify_image_attestations(
    trust_args: &TrustArgs,
    image: &str,
    identity: &IdentityArgs,
    registry_options: &RegistryOptions,
    predicate_type: &str,
    annotations: &Annotations,
    recursive: bool,
) -> anyhow::Result<VerifiedImage> {
    let checker = Checker::new(trust_args, identity, predicate_type, annotations)?;
    let reference = ImageReference::parse(image)?;
    let http = registry_options.http()?;
    let registry = Registry::new(&http, reference.api_host(), registry_options)?;
    let (elsewhere, sig_repo) = signature_registry(&http, registry_options, &reference)?;
    let sigs = elsewhere.as_ref().unwrap_or(&registry);
    let (digest, fetched) = image_digest(&registry, &reference)?;
    let place = Place {
        image: &registry,
        sigs,
        sig_repo: &sig_repo,
        reference: &reference,
    };
    let mut verified = checker.verify_tree(&place, digest, fetched, recursive)?;
    verified.requests = registry.requests() + elsewhere.as_ref().map_or(0, Registry::requests);
    Ok(verified)
}

/// Verifies the attestations of `predicate_type` (the signatures, for cosign's sign type) of
/// the image held in the OCI image layout `dir` (as `signet save` writes it), with no network:
/// the same verification as against a registry, with the layout standing for the registry.
pub fn verify_local_image_attestations(
    trust_args: &TrustArgs,
    dir: &std::path::Path,
    identity: &IdentityArgs,
    predicate_type: &str,
    annotations: &Annotations,
    recursive: bool,
) -> anyhow::Result<VerifiedImage> {
    let checker = Checker::new(trust_args, identity, predicate_type, annotations)?;
    let layout = OciLayout::open(dir)?;
    let entry = layout.image()?;
    // The layout names the image by the name it was saved under, if any; the digest is what
    // is verified.
    let name = entry
        .annotations
        .get(crate::layout::ANNOTATION_SAVED_FROM)
        .and_then(|n| ImageReference::parse(n).ok())
        .unwrap_or_else(|| ImageReference {
            // A layout that does not say where its image came from.
            registry: "localhost".into(),
            repository: "local-image".into(),
            tag: None,
            digest: None,
        });
    let reference = name.with_digest(entry.digest.clone());
    let place = Place {
        image: &layout,
        sigs: &layout,
        sig_repo: &reference.repository,
        reference: &reference,
    };
    checker.verify_tree(&place, entry.digest.clone(), None, recursive)
}

/// Where an image is read and where its attachments are.
struct Place<'a> {
    image: &'a dyn ImageStore,
    sigs: &'a dyn ImageStore,
    sig_repo: &'a str,
    reference: &'a ImageReference,
}

/// What a signature must satisfy, prepared once for every digest checked.
struct Checker<'a> {
    predicate_type: &'a str,
    annotations: &'a Annotations,
    signer: signet_verify::SignerPolicy,
    trust: PreparedTrust,
    now: i64,
    hint: Option<String>,
    one: String,
    many: String,
}

impl<'a> Checker<'a> {
    fn new(
        trust_args: &TrustArgs,
        identity: &IdentityArgs,
        predicate_type: &'a str,
        annotations: &'a Annotations,
    ) -> anyhow::Result<Checker<'a>> {
        let (one, many) = if predicate_type == COSIGN_SIGN_PREDICATE_TYPE {
            ("signature".to_string(), "signatures".to_string())
        } else {
            (
                format!("attestation of type {predicate_type}"),
                format!("attestations of type {predicate_type}"),
            )
        };
        let material = crate::trust::load(trust_args, &TrustEnv::from_process())?;
        let signer = identity.signer_policy()?;
        Ok(Checker {
            predicate_type,
            annotations,
            signer,
            trust: material.prepared_trust(),
            now: unix_now()?,
            hint: material.source.staleness_hint(),
            one,
            many,
        })
    }

    /// Verifies `digest`, and with `recursive` each platform manifest of it if it is an index
    /// (read in parallel: the platforms' lookups are independent round trips).
    fn verify_tree(
        &self,
        place: &Place,
        digest: Digest,
        fetched: Option<FetchedManifest>,
        recursive: bool,
    ) -> anyhow::Result<VerifiedImage> {
        let repo = place.reference.repository.as_str();
        let children = if recursive {
            let manifest = match fetched {
                Some(m) => m,
                None => place.image.manifest(repo, &digest.to_string())?,
            };
            match manifest.manifest {
                Manifest::Index(index) => index.manifests.into_iter().map(|d| d.digest).collect(),
                Manifest::Image(_) => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let mut all = vec![digest];
        all.extend(children);
        // At most this many lookups at once, so a 100-platform index does not open 100
        // connections to one registry; each worker takes the next digest when it is done.
        const PARALLEL: usize = 8;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<anyhow::Result<Vec<VerifiedImageSignature>>>>> =
            all.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let work = || loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(digest) = all.get(i) else { break };
            let result = self.verify_digest(place, digest);
            *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        };
        if all.len() == 1 {
            work();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..PARALLEL.min(all.len()) {
                    scope.spawn(work);
                }
            });
        }
        let results = slots.into_iter().map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| Err(anyhow!("a verification thread failed")))
        });
        let mut images = all
            .into_iter()
            .zip(results)
            .map(|(d, r)| {
                r.map(|signatures| VerifiedImage {
                    image: place.reference.with_digest(d),
                    signatures,
                    platforms: Vec::new(),
                    requests: 0,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut top = images.remove(0);
        top.platforms = images;
        top.requests = place.image.requests();
        Ok(top)
    }

    /// Finds and verifies the signatures (or attestations) attached to `digest`.
    fn verify_digest(&self, place: &Place, digest: &Digest) -> anyhow::Result<Vec<VerifiedImageSignature>> {
        let pinned = place.reference.with_digest(digest.clone());
        let sigs = place.sigs;
        let repo = place.sig_repo;
        let (one, many, predicate_type) = (&self.one, &self.many, self.predicate_type);
        // The fallback index first: where a registry has no referrers API (distribution 2.8,
        // and today Docker Hub and GHCR) it is the listing, and asking the API first would cost
        // every verification a request. Where it has the API, the fallback tag is usually
        // absent (one 404), and a fallback index some client wrote anyway may be stale: when
        // nothing in it verifies, the API is asked as well (below), so nothing is missed.
        let (first, from_fallback) = match fallback_index(sigs, repo, &fallback_tag(digest))? {
            Some(index) => (index, true),
            None => (sigs.referrers(repo, digest)?.unwrap_or_default(), false),
        };
        // The statement's subject names the image by its SHA-256, as cosign writes it.
        let artifact_digest: [u8; 32] = digest.bytes().try_into().map_err(|_| {
            anyhow!(
                "{pinned}: signet verifies images named by their sha256 digest, not {}",
                digest.algorithm().name()
            )
        })?;
        let mut verified = Vec::new();
        let mut failures = Vec::new();
        // Listed referrers that could not be read: not counted as signatures, but said when none
        // is found.
        let mut unreadable = Vec::new();
        let mut found = 0;
        // A listing that names the predicate type (the referrers API copies the annotations; the
        // fallback index may not) spares fetching the others.
        let listed_type = |d: &&signet_oci::Descriptor| {
            d.annotations
                .get(signet_oci::referrers::ANNOTATION_BUNDLE_PREDICATE_TYPE)
                .is_none_or(|t| t == predicate_type)
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut listing = Some(first);
        let mut asked_api = !from_fallback;
        while let Some(listed) = listing.take() {
            for candidate in listed
                .manifests
                .iter()
                .filter(|d| may_be_bundle(d))
                .filter(listed_type)
                .filter(|d| seen.insert(d.digest.clone()))
            {
                // A listed referrer that cannot be read (gone, corrupt, too large) is one failure
                // among the others, not the end of the verification: another may verify.
                let bundle = match read_referrer_bundle(sigs, repo, candidate, digest) {
                    ReferrerBundle::NotOne => continue,
                    ReferrerBundle::Unreadable(e) => {
                        unreadable.push(e);
                        continue;
                    }
                    ReferrerBundle::Broken(e) => {
                        found += 1;
                        failures.push(e);
                        continue;
                    }
                    ReferrerBundle::Bundle(bundle) => bundle,
                };
                // Other bundles attached to the image (an attestation of another type, a signature
                // when attestations are asked for) are passed over, not counted as failures.
                if !is_statement_of(&bundle, predicate_type) {
                    continue;
                }
                found += 1;
                let artifact = Artifact::Digest(ArtifactDigest::sha256(artifact_digest));
                let result = crate::verify::verify_prepared(
                    &bundle,
                    artifact,
                    self.signer.clone(),
                    &self.trust,
                    self.now,
                    self.hint.as_deref(),
                )
                .and_then(|v| {
                    let carried: BTreeMap<String, Value> = v
                        .statement
                        .iter()
                        .flat_map(|s| &s.subject)
                        .filter(|s| s.digest.get("sha256") == Some(&digest.hex()))
                        .flat_map(|s| &s.annotations)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    check_annotations(self.annotations, &carried)?;
                    // The claims as cosign prints them for a bundle signature.
                    let claims = SimpleSigning::new(&pinned.repository_name(), digest, carried);
                    Ok((v, claims))
                });
                match result {
                    Ok((v, claims)) => verified.push(VerifiedImageSignature {
                        referrer: candidate.digest.clone(),
                        signer: v.signer,
                        statement: v.statement,
                        bundle,
                        claims,
                    }),
                    Err(e) => failures.push(format!("{e:#}")),
                }
            }
            if verified.is_empty() && !asked_api {
                asked_api = true;
                listing = sigs.referrers(repo, digest)?;
            }
        }
        // No bundle signature (attestation): cosign 1 and 2's `sha256-<hex>.sig` (`.att`), as
        // cosign falls back to it.
        if verified.is_empty() {
            let legacy = if predicate_type == COSIGN_SIGN_PREDICATE_TYPE {
                self.verify_legacy_signatures(sigs, repo, digest)?
            } else {
                crate::legacy_image::verify_legacy_attestations(
                    sigs,
                    repo,
                    &pinned,
                    digest,
                    &self.signer,
                    &self.trust,
                    self.now,
                    self.hint.as_deref(),
                    predicate_type,
                )?
            };
            found += legacy.found;
            verified.extend(legacy.verified);
            failures.extend(legacy.failures);
        }
        if verified.is_empty() {
            if found == 0 {
                match unreadable.first() {
                    None => bail!("no {many} found for {pinned}"),
                    Some(first) => {
                        bail!("no {many} found for {pinned}; a listed referrer could not be read: {first}")
                    }
                }
            }
            let (what, verb) = if found == 1 {
                (one, "it does not verify")
            } else {
                (many, "none of them verifies")
            };
            bail!(
                "{found} {what} found for {pinned}, but {verb}; the first: {}",
                failures.first().map_or("", String::as_str)
            );
        }
        Ok(verified)
    }

    /// Verifies the layers of the image's `sha256-<hex>.sig` (cosign's legacy format): each is
    /// read as the bundle it amounts to ([`signet_oci::cosign::legacy_signature_bundle`]) and
    /// verified over its simple-signing payload, which must then name this image's digest.
    fn verify_legacy_signatures(
        &self,
        sigs: &dyn ImageStore,
        repo: &str,
        digest: &Digest,
    ) -> anyhow::Result<LegacyOutcome> {
        use signet_oci::cosign::{
            attachment_tag, legacy_signature_bundle, Attachment, SIMPLE_SIGNING_MEDIA_TYPE,
        };
        let mut outcome = LegacyOutcome::default();
        let Some(tag) = attachment_tag(digest, Attachment::Signature) else {
            return Ok(outcome);
        };
        let Some(manifest) = sigs.find_manifest(repo, &tag)? else {
            return Ok(outcome);
        };
        let Manifest::Image(signatures) = manifest.manifest else {
            return Ok(outcome);
        };
        for layer in signatures
            .layers
            .iter()
            .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
        {
            outcome.found += 1;
            let result = sigs
                .blob(repo, layer, MAX_PAYLOAD_BYTES)
                .and_then(|payload| {
                    let bundle = legacy_signature_bundle(&payload, &layer.annotations)
                        .map_err(|e| anyhow!("the signature in {tag} ({}): {e}", layer.digest))?;
                    Ok((payload, bundle))
                })
                .and_then(|(payload, bundle)| {
                    let verified = crate::verify::verify_prepared(
                        &bundle,
                        Artifact::Bytes(&payload),
                        self.signer.clone(),
                        &self.trust,
                        self.now,
                        self.hint.as_deref(),
                    )?;
                    let claims = SimpleSigning::parse_for(&payload, digest).map_err(|e| anyhow!("{e}"))?;
                    check_annotations(
                        self.annotations,
                        claims.optional.as_ref().unwrap_or(&BTreeMap::new()),
                    )?;
                    Ok((verified, bundle, claims))
                });
            match result {
                Ok((v, bundle, claims)) => outcome.verified.push(VerifiedImageSignature {
                    referrer: manifest.digest.clone(),
                    signer: v.signer,
                    statement: None,
                    bundle,
                    claims,
                }),
                Err(e) => outcome.failures.push(format!("{e:#}")),
            }
        }
        Ok(outcome)
    }
}

/// Every required annotation must be among those the signature carries, with that value.
fn check_annotations(required: &Annotations, carried: &BTreeMap<String, Value>) -> anyhow::Result<()> {
    let missing: Vec<String> = required
        .iter()
        .filter(|(k, v)| carried.get(*k).and_then(Value::as_str) != Some(v.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let has: Vec<String> = carried
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    bail!(
        "the signature does not carry the annotation(s) {} (it carries {})",
        missing.join(", "),
        if has.is_empty() {
            "none".to_string()
        } else {
            has.join(", ")
        }
    )
}

/// What a listed referrer turned out to be.
pub(crate) enum ReferrerBundle {
    /// Not a Sigstore bundle about this image (another artifact, another subject).
    NotOne,
    /// The referrer manifest could not be read (gone, corrupt, too large).
    Unreadable(String),
    /// A bundle referrer whose bundle could not be read or does not parse.
    Broken(String),
    /// The bundle.
    Bundle(Bundle),
}

/// Reads the referrer `candidate` of `subject` as cosign does: a manifest with one Sigstore
/// bundle layer and that subject, its layer (bounded, digest-checked) a bundle.
pub(crate) fn read_referrer_bundle(
    store: &dyn ImageStore,
    repo: &str,
    candidate: &signet_oci::Descriptor,
    subject: &Digest,
) -> ReferrerBundle {
    let manifest = match store.manifest(repo, &candidate.digest.to_string()) {
        Ok(m) => m,
        Err(e) => return ReferrerBundle::Unreadable(format!("the referrer {}: {e:#}", candidate.digest)),
    };
    let Manifest::Image(artifact) = &manifest.manifest else {
        return ReferrerBundle::NotOne;
    };
    if !is_bundle_manifest(artifact) || artifact.subject.as_ref().map(|s| &s.digest) != Some(subject) {
        return ReferrerBundle::NotOne;
    }
    let bytes = match store.blob(repo, &artifact.layers[0], files::MAX_BUNDLE_BYTES) {
        Ok(b) => b,
        Err(e) => {
            return ReferrerBundle::Broken(format!("the bundle of referrer {}: {e:#}", candidate.digest))
        }
    };
    match Bundle::from_json(&bytes) {
        Ok(bundle) => ReferrerBundle::Bundle(bundle),
        Err(e) => ReferrerBundle::Broken(format!(
            "the bundle in referrer {} does not parse: {e}",
            candidate.digest
        )),
    }
}

/// What a legacy `.sig` or `.att` attachment held.
#[derive(Default)]
pub(crate) struct LegacyOutcome {
    pub(crate) found: usize,
    pub(crate) verified: Vec<VerifiedImageSignature>,
    pub(crate) failures: Vec<String>,
}

/// The largest simple-signing payload read (they are a few hundred bytes).
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

/// Whether the bundle is a DSSE envelope whose in-toto statement has `predicate_type` (an
/// image signature is cosign's sign type; an attestation, its own).
pub(crate) fn is_statement_of(bundle: &Bundle, predicate_type: &str) -> bool {
    let Content::DsseEnvelope(envelope) = &bundle.content else {
        return false;
    };
    Statement::from_json(&envelope.payload).is_ok_and(|s| s.predicate_type == predicate_type)
}

/// What is attached to an image (`signet tree`): its Sigstore bundle referrers with what each
/// holds, and cosign's legacy attachments with their layers' media types.
#[derive(Debug, Clone)]
pub struct ImageTree {
    /// The image, pinned to its digest.
    pub image: ImageReference,
    /// Where the referrers were listed: the registry's referrers API, or the fallback tag.
    pub listed_by: String,
    /// Each referrer: its digest, artifact type and predicate type (if it says).
    pub referrers: Vec<(Digest, Option<String>, Option<String>)>,
    /// cosign's legacy attachments that exist: the tag and its layers' media types (with an
    /// attestation's predicate type).
    pub legacy: Vec<(String, Vec<String>)>,
}

/// Lists what is attached to `image`, without verifying any of it.
pub fn tree_image(image: &str, registry_options: &RegistryOptions) -> anyhow::Result<ImageTree> {
    use signet_oci::cosign::{attachment_tag, Attachment};
    use signet_oci::referrers::ANNOTATION_BUNDLE_PREDICATE_TYPE;
    let reference = ImageReference::parse(image)?;
    let http = registry_options.http()?;
    let image_registry = Registry::new(&http, reference.api_host(), registry_options)?;
    let (digest, _) = image_digest(&image_registry, &reference)?;
    let (elsewhere, sig_repo) = signature_registry(&http, registry_options, &reference)?;
    let registry = elsewhere.as_ref().unwrap_or(&image_registry);
    let repo = sig_repo.as_str();
    let (listed, listed_by) = match registry.referrers(repo, &digest)? {
        Some(index) => (index, "the registry's referrers API".to_string()),
        None => {
            let tag = fallback_tag(&digest);
            let index = fallback_index(registry, repo, &tag)?.unwrap_or_default();
            (
                index,
                format!("the fallback index {}/{repo}:{tag}", registry.host()),
            )
        }
    };
    let mut referrers = Vec::new();
    for d in &listed.manifests {
        // The fallback index may drop annotations and name the config's type: read the
        // referrer itself for what it is.
        let (artifact_type, predicate_type) = match (
            &d.artifact_type,
            d.annotations.get(ANNOTATION_BUNDLE_PREDICATE_TYPE),
        ) {
            (Some(t), Some(p)) if t != signet_oci::manifest::MEDIA_TYPE_EMPTY => {
                (Some(t.clone()), Some(p.clone()))
            }
            _ => match registry.manifest(repo, &d.digest.to_string())?.manifest {
                Manifest::Image(m) => (
                    m.artifact_type.clone(),
                    m.annotations.get(ANNOTATION_BUNDLE_PREDICATE_TYPE).cloned(),
                ),
                Manifest::Index(i) => (i.artifact_type.clone(), None),
            },
        };
        referrers.push((d.digest.clone(), artifact_type, predicate_type));
    }
    let mut legacy = Vec::new();
    for attachment in [Attachment::Signature, Attachment::Attestation, Attachment::Sbom] {
        let Some(tag) = attachment_tag(&digest, attachment) else {
            continue;
        };
        if let Some(fetched) = registry.find_manifest(repo, &tag)? {
            let layers = match fetched.manifest {
                // An attestation layer says its predicate type (unverified, as all of `tree`).
                Manifest::Image(m) => m
                    .layers
                    .iter()
                    .map(
                        |l| match l.annotations.get(signet_oci::cosign::ANNOTATION_PREDICATE_TYPE) {
                            Some(t) => format!("{}  {t}", l.media_type),
                            None => l.media_type.clone(),
                        },
                    )
                    .collect(),
                Manifest::Index(_) => Vec::new(),
            };
            legacy.push((format!("{}/{repo}:{tag}", registry.host()), layers));
        }
    }
    Ok(ImageTree {
        image: reference.with_digest(digest),
        listed_by,
        referrers,
        legacy,
    })
}

impl std::fmt::Display for ImageTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Supply chain artifacts attached to {}", self.image)?;
        writeln!(f, "  referrers ({}): {}", self.listed_by, self.referrers.len())?;
        for (digest, artifact_type, predicate_type) in &self.referrers {
            write!(
                f,
                "    {digest}  {}",
                artifact_type.as_deref().unwrap_or("(no artifact type)")
            )?;
            match predicate_type {
                Some(p) => writeln!(f, "  {p}")?,
                None => writeln!(f)?,
            }
        }
        for (tag, layers) in &self.legacy {
            writeln!(f, "  {tag} (cosign's legacy format): {} layer(s)", layers.len())?;
            for media_type in layers {
                writeln!(f, "    {media_type}")?;
            }
        }
        Ok(())
    }
}

/// What `cosign verify` prints for each verified signature: the simple-signing claims, with
/// the signer's identity among the optional fields.
pub fn claims_json(signature: &VerifiedImageSignature) -> Value {
    let mut claims = signature.claims.clone();
    if let VerifiedSigner::Certificate { identity, .. } = &signature.signer {
        let optional = claims.optional.get_or_insert_with(BTreeMap::new);
        optional.insert("Subject".into(), Value::String(identity.san.value().to_string()));
        if let Some(issuer) = &identity.extensions.issuer {
            optional.insert("Issuer".into(), Value::String(issuer.clone()));
        }
    }
    serde_json::to_value(claims).unwrap_or(Value::Null)
}
