//! cosign's legacy image format (cosign 1 and 2; cosign 3 with `--new-bundle-format=false`),
//! written and read: `signet sign --legacy-format` and `signet attest --legacy-format` push a
//! layer onto the image's `sha256-<hex>.sig` or `.att` manifest; `signet verify-attestation`
//! falls back to the `.att` layers when no bundle attestation of the type verifies, as cosign
//! does (the `.sig` fallback of `signet verify` is in [`crate::image`]).
//!
//! Writing, as cosign 2 writes (`../shared/reference/OCI.md` §1):
//! - a signature is over the simple-signing payload ([`SimpleSigning`], `-a` annotations in
//!   `optional`), logged to a Rekor v1 log as a hashedrekord 0.0.1; an attestation is a DSSE
//!   envelope of an in-toto Statement v0.1 whose subject is `{name: repository, digest: {sha256}}`,
//!   logged as dsse 0.0.1 (cosign 2's default `--rekor-entry-type`). Rekor v1 because the
//!   layer's `dev.sigstore.cosign/bundle` annotation is a v1 entry's signed entry timestamp.
//! - the layer (payload or envelope JSON) carries the signature, certificate, chain, Rekor bundle
//!   and RFC 3161 timestamp as annotations ([`signature_layer`], [`attestation_layer`]);
//! - it is added to the layers already at the tag, the configuration's `rootfs.diff_ids`
//!   follow the layers ([`legacy_manifest`]), and the manifest is pushed whole in one PUT after
//!   its blobs.
//!
//! Reading turns each `.att` layer into the bundle v0.1 it amounts to
//! ([`legacy_attestation_bundle`]) and verifies it fully over the image's digest: the SET, the
//! certificate chain and identity (or the key), the DSSE signature, the statement's subject
//! digest, then its predicate type.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context};
use serde_json::Value;
use signet_formats::bundle::BundleContent;
use signet_formats::intoto::{ResourceDescriptor, Statement, PAYLOAD_TYPE, STATEMENT_V0_1};
use signet_oci::cosign::{
    attachment_tag, attestation_layer, legacy_attestation_bundle, legacy_manifest, signature_layer,
    Attachment, LegacyLayer, SimpleSigning, ANNOTATION_PREDICATE_TYPE, DSSE_ENVELOPE_MEDIA_TYPE,
};
use signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST;
use signet_oci::{Digest, ImageReference, Manifest};
use signet_verify::{Artifact, ArtifactDigest, PreparedTrust, SignerPolicy};

use crate::image::{Annotations, LegacyOutcome, VerifiedImageSignature};
use crate::oci::{Registry, RegistryOptions};
use crate::services::LogChoice;
use crate::sign::Payload;
use crate::trust::TrustEnv;
use crate::{files, verify, SignOptions};

/// What a legacy-format signing pushed.
#[derive(Debug, Clone)]
pub struct LegacySigned {
    /// The image, pinned to the digest that was signed.
    pub image: ImageReference,
    /// Where the signature is: `registry/repository:sha256-<hex>.sig` (or `.att`).
    pub location: String,
    /// The digest of the manifest pushed there.
    pub manifest: Digest,
    /// How many layers (signatures or attestations) the manifest now holds.
    pub layers: usize,
}

/// `signet sign IMAGE --legacy-format`: signs the simple-signing payload for the image's digest
/// (with `annotations` in `optional`) and adds it to the image's `.sig` manifest; with
/// `recursive`, each platform manifest of an index as well (one certificate for all). The
/// first of the results is the image's own.
pub fn sign_image_legacy(
    options: &SignOptions,
    image: &str,
    registry_options: &RegistryOptions,
    annotations: &Annotations,
    recursive: bool,
) -> anyhow::Result<Vec<LegacySigned>> {
    let optional: BTreeMap<String, Value> = annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    push_legacy(
        options,
        image,
        registry_options,
        recursive,
        Attachment::Signature,
        |pinned| {
            let payload =
                SimpleSigning::new(&pinned.image.repository_name(), &pinned.digest, optional.clone())
                    .to_json();
            (payload.clone(), Some(payload))
        },
    )
}

/// `signet attest IMAGE --legacy-format`: a DSSE envelope of an in-toto Statement v0.1 about
/// the image's digest, added to its `.att` manifest (with `recursive`, each platform's too).
pub fn attest_image_legacy(
    options: &SignOptions,
    image: &str,
    registry_options: &RegistryOptions,
    predicate_type: &str,
    predicate: Value,
    recursive: bool,
) -> anyhow::Result<Vec<LegacySigned>> {
    push_legacy(
        options,
        image,
        registry_options,
        recursive,
        Attachment::Attestation,
        |pinned| {
            let statement = Statement {
                type_: STATEMENT_V0_1.to_string(),
                subject: vec![ResourceDescriptor {
                    name: pinned.image.repository_name(),
                    digest: BTreeMap::from([("sha256".to_string(), pinned.digest.hex())]),
                    annotations: BTreeMap::new(),
                }],
                predicate_type: predicate_type.to_string(),
                predicate: Some(predicate.clone()),
            };
            (statement.to_json(), None)
        },
    )
}

/// Resolves the image once, makes what `make` says for it (and each platform, with
/// `recursive`): the bytes to sign, and for a signature the payload itself (an attestation
/// signs a DSSE envelope of the bytes); signs them all with one credential on a Rekor v1 log,
/// checks each layer reads back and verifies, then adds each to its tag in the signature
/// repository (the image's own unless one is named).
fn push_legacy(
    options: &SignOptions,
    image: &str,
    registry_options: &RegistryOptions,
    recursive: bool,
    attachment: Attachment,
    make: impl Fn(&Pinned) -> (Vec<u8>, Option<Vec<u8>>),
) -> anyhow::Result<Vec<LegacySigned>> {
    let reference = ImageReference::parse(image)?;
    let http = registry_options.http()?;
    let registry = Registry::new(&http, reference.api_host(), registry_options)?;
    let target = registry
        .manifest(&reference.repository, &reference.manifest_reference())
        .with_context(|| format!("resolving {reference}"))?;
    let mut digests = vec![target.digest.clone()];
    if recursive {
        if let Manifest::Index(index) = &target.manifest {
            digests.extend(index.manifests.iter().map(|d| d.digest.clone()));
        }
    }
    let pinned: Vec<Pinned> = digests
        .into_iter()
        .map(|digest| Pinned {
            image: reference.with_digest(digest.clone()),
            digest,
        })
        .collect();
    let made: Vec<(Vec<u8>, Option<Vec<u8>>)> = pinned.iter().map(&make).collect();
    let payloads = made
        .iter()
        .map(|(bytes, payload)| match payload {
            Some(_) => Payload::Artifact(crate::sign::Artifact::Bytes(bytes)),
            None => Payload::Dsse {
                payload_type: PAYLOAD_TYPE.to_string(),
                payload: bytes.clone(),
            },
        })
        .collect();
    let doing = match attachment {
        Attachment::Attestation => "attesting to",
        _ => "signing",
    };
    let signed = crate::sign_payloads_to(options, payloads, LogChoice::RekorV1)
        .with_context(|| format!("{doing} {}", pinned[0].image))?;
    let (elsewhere, sig_repo) = crate::image::signature_registry(&http, registry_options, &reference)?;
    let sigs = elsewhere.as_ref().unwrap_or(&registry);
    // Read once for every layer checked below.
    let material = crate::trust::load(&options.trust, &TrustEnv::from_process())?;
    pinned
        .iter()
        .zip(made.iter().zip(&signed))
        .map(|(pinned, ((_, payload), signed))| {
            let layer = match payload {
                Some(payload) => signature_layer(payload, &signed.bundle, &signed.ca_chain),
                None => attestation_layer(&signed.bundle, &signed.ca_chain),
            }
            .map_err(|e| anyhow!("{}: {e}", pinned.image))?;
            check_own_layer(options, &material.trusted_root, signed, &layer, attachment)?;
            push_layer(sigs, &sig_repo, pinned, attachment, layer)
        })
        .collect()
}

/// The image resolved to its digest, once.
struct Pinned {
    image: ImageReference,
    digest: Digest,
}

/// A client must not push what it cannot verify: the layer, read back as a verifier reads it,
/// must verify against the trusted root, signed by the key that signed (keyed) or by any
/// certificate the CA issued (keyless). This checks the conversion to annotations as well as
/// the signature.
fn check_own_layer(
    options: &SignOptions,
    trusted_root: &signet_formats::trust::TrustedRoot,
    signed: &crate::sign::Signed,
    layer: &LegacyLayer,
    attachment: Attachment,
) -> anyhow::Result<()> {
    use signet_oci::cosign::legacy_signature_bundle;
    let bundle = match attachment {
        Attachment::Attestation => legacy_attestation_bundle(&layer.content, &layer.descriptor.annotations),
        _ => legacy_signature_bundle(&layer.content, &layer.descriptor.annotations),
    }
    .map_err(|e| anyhow!("the layer signet just made does not read back: {e}"))?;
    let expected = match &options.key {
        Some(_) => verify::SelfCheck::Key(signed.public_key.clone()),
        None => verify::SelfCheck::AnyCertificate,
    };
    verify::verify_own(&bundle, trusted_root, expected, crate::unix_now()?).context(
        "the legacy layer signet just made does not verify against the trusted root, so it was not pushed",
    )
}

/// Adds `layer` to the manifest at the image's `attachment` tag in `repo` of `registry`: the
/// layer's blob and the new configuration first, then the complete manifest in one PUT.
fn push_layer(
    registry: &Registry,
    repo: &str,
    pinned: &Pinned,
    attachment: Attachment,
    layer: LegacyLayer,
) -> anyhow::Result<LegacySigned> {
    let tag = attachment_tag(&pinned.digest, attachment).ok_or_else(|| {
        anyhow!(
            "{}: cosign's legacy tags name sha256 digests, not {}",
            pinned.image,
            pinned.digest.algorithm().name()
        )
    })?;
    let location = format!("{}/{repo}:{tag}", registry.host());
    let existing = match registry.find_manifest(repo, &tag)? {
        None => Vec::new(),
        Some(fetched) => match fetched.manifest {
            Manifest::Image(m) => m.layers,
            Manifest::Index(_) => bail!(
                "{location} should be an image manifest holding cosign's .{} layers, but is an index",
                attachment.suffix()
            ),
        },
    };
    let (manifest, config) = legacy_manifest(&existing, layer.descriptor);
    let push = |what: &str, r: anyhow::Result<Digest>| {
        r.with_context(|| {
            format!(
                "pushing the {} for {} to {location}: {what}",
                noun(attachment),
                pinned.image
            )
        })
    };
    push("the layer", registry.push_blob(repo, &layer.content))?;
    push("the configuration", registry.push_blob(repo, &config))?;
    let digest = push(
        "the manifest",
        registry.push_manifest(repo, &tag, MEDIA_TYPE_IMAGE_MANIFEST, &manifest.to_json()),
    )?;
    Ok(LegacySigned {
        image: pinned.image.clone(),
        location,
        manifest: digest,
        layers: manifest.layers.len(),
    })
}

fn noun(attachment: Attachment) -> &'static str {
    match attachment {
        Attachment::Attestation => "attestation",
        _ => "signature",
    }
}

/// Verifies the layers of the image's `sha256-<hex>.att` whose statement has `predicate_type`:
/// each is read as the bundle v0.1 it amounts to and verified over the image's digest (the SET,
/// the certificate and identity or the key, the envelope's signature, the statement's subject),
/// then its predicate type is checked on the verified statement. Layers of another type are
/// passed over, not counted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_legacy_attestations(
    store: &dyn crate::oci::ImageStore,
    repo: &str,
    image: &ImageReference,
    digest: &Digest,
    signer: &SignerPolicy,
    trust: &PreparedTrust,
    now: i64,
    hint: Option<&str>,
    predicate_type: &str,
) -> anyhow::Result<LegacyOutcome> {
    let mut outcome = LegacyOutcome::default();
    let Some(tag) = attachment_tag(digest, Attachment::Attestation) else {
        return Ok(outcome);
    };
    let Some(manifest) = store.find_manifest(repo, &tag)? else {
        return Ok(outcome);
    };
    let Manifest::Image(attestations) = manifest.manifest else {
        return Ok(outcome);
    };
    let artifact_digest: [u8; 32] = digest
        .bytes()
        .try_into()
        .map_err(|_| anyhow!("{image}: an attestation names the image by its sha256 digest"))?;
    // The annotation is unauthenticated: it only spares fetching layers that say another type.
    let may_be_of_type = |l: &&signet_oci::Descriptor| {
        l.media_type == DSSE_ENVELOPE_MEDIA_TYPE
            && l.annotations
                .get(ANNOTATION_PREDICATE_TYPE)
                .is_none_or(|t| t == predicate_type)
    };
    for layer in attestations.layers.iter().filter(may_be_of_type) {
        let what = format!("the attestation in {tag} ({})", layer.digest);
        let read = store
            .blob(repo, layer, files::MAX_BUNDLE_BYTES)
            .and_then(|envelope| {
                legacy_attestation_bundle(&envelope, &layer.annotations).map_err(|e| anyhow!("{what}: {e}"))
            });
        let bundle = match read {
            Ok(bundle) => bundle,
            Err(e) => {
                outcome.found += 1;
                outcome.failures.push(format!("{e:#}"));
                continue;
            }
        };
        if statement_type(&bundle).is_some_and(|t| t != predicate_type) {
            continue;
        }
        outcome.found += 1;
        let result = verify::verify_prepared(
            &bundle,
            Artifact::Digest(ArtifactDigest::sha256(artifact_digest)),
            signer.clone(),
            trust,
            now,
            hint,
        )
        .and_then(|v| {
            let signed_type = v.statement.as_ref().map(|s| s.predicate_type.as_str());
            if signed_type != Some(predicate_type) {
                bail!(
                    "{what}: the verified statement's predicate type is {}, not {predicate_type}",
                    signed_type.unwrap_or("absent")
                );
            }
            Ok(v)
        });
        match result {
            Ok(v) => outcome.verified.push(VerifiedImageSignature {
                referrer: manifest.digest.clone(),
                signer: v.signer,
                statement: v.statement,
                bundle,
                claims: SimpleSigning::new(&image.repository_name(), digest, BTreeMap::new()),
            }),
            Err(e) => outcome.failures.push(format!("{e:#}")),
        }
    }
    Ok(outcome)
}

/// The predicate type the (not yet verified) envelope's statement states, if it is one.
fn statement_type(bundle: &signet_formats::bundle::Bundle) -> Option<String> {
    match &bundle.content {
        BundleContent::DsseEnvelope(envelope) => Statement::from_json(&envelope.payload)
            .ok()
            .map(|s| s.predicate_type),
        BundleContent::MessageSignature(_) => None,
    }
}
