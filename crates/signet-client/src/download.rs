//! `signet download signature|attestation|sbom IMAGE` (cosign's `download` commands): what is
//! attached to an image, printed as cosign prints it, **without verifying any of it**.
//!
//! What cosign prints (`cmd/cosign/cli/download/*.go`, `pkg/cosign/fetch.go`):
//!
//! - `signature`: the image's Sigstore bundles (cosign 3's format), one bundle JSON per line;
//!   where there is none, its `.sig` signatures, one JSON object per line with cosign's
//!   `SignedPayload` fields: `Base64Signature`, `Payload` (base64), `Cert`, `Chain`, `Bundle`
//!   (the Rekor SET bundle) and `RFC3161Timestamp`, `null` where absent. No signature at all is
//!   an error.
//! - `attestation`: the bundles, then the `.att` attestations as their DSSE envelopes
//!   (`payloadType`, `payload`, `signatures` with `keyid` and `sig`), one per line, both
//!   filtered by `--predicate-type` when given. None is no output (an error only with a
//!   `--predicate-type` filter), as in cosign.
//! - `sbom`: the `.sbom` attachment's bytes, as they are. None is an error.
//!
//! Two differences, said here so nobody trips on them: cosign lists *every* bundle under both
//! `signature` and `attestation` (it does not look inside); signet prints under `signature` the
//! bundles that are image signatures (cosign's sign predicate type, or a message signature)
//! and under `attestation` the others. And cosign prints a `.sig` certificate as Go's whole
//! `x509.Certificate` structure; signet prints the part that is the certificate, `{"Raw":
//! "<base64 DER>"}` (the member of cosign's output that tools read).
//!
//! Referrers that are not Sigstore bundles, or whose bundle does not parse, are passed over,
//! as cosign passes them over. Everything read from the registry is bounded.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use signet_formats::bundle::{Bundle, BundleContent as Content};
use signet_formats::intoto::Statement;
use signet_oci::cosign::{
    attachment_tag, Attachment, ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN,
    ANNOTATION_RFC3161_TIMESTAMP, ANNOTATION_SIGNATURE, DSSE_ENVELOPE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE,
};
use signet_oci::referrers::{fallback_tag, may_be_bundle};
use signet_oci::{Digest, ImageReference, Manifest};

use crate::attach::MAX_ATTACHMENT_BYTES;
use crate::files::MAX_BUNDLE_BYTES;
use crate::http::Http;
use crate::image::{is_statement_of, read_referrer_bundle, ReferrerBundle, COSIGN_SIGN_PREDICATE_TYPE};
use crate::oci::{Registry, RegistryOptions};

/// What a `download` found: the image, pinned, and the lines to print.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The image, pinned to its digest.
    pub image: ImageReference,
    /// One JSON document per line, as cosign prints them.
    pub lines: Vec<String>,
}

/// An SBOM attached to an image.
#[derive(Debug, Clone)]
pub struct DownloadedSbom {
    /// The image, pinned to its digest.
    pub image: ImageReference,
    /// The layer's media type.
    pub media_type: String,
    /// The SBOM's bytes, as attached.
    pub content: Vec<u8>,
}

/// The digest of the manifest for `platform` (`os/arch` or `os/arch/variant`, as `docker
/// --platform` takes it) in the index `fetched`.
fn platform_manifest(fetched: &crate::oci::FetchedManifest, platform: &str) -> anyhow::Result<Digest> {
    let Manifest::Index(index) = &fetched.manifest else {
        bail!("--platform {platform} asks for one platform of a multi-platform index, but this is a single image");
    };
    let listed: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
        .collect();
    index
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| p.to_string() == platform))
        .map(|d| d.digest.clone())
        .ok_or_else(|| {
            anyhow!(
                "the index has no manifest for {platform} (it has {})",
                if listed.is_empty() {
                    "none named".to_string()
                } else {
                    listed.join(", ")
                }
            )
        })
}

/// An image and the registry it is in, resolved once.
struct Target<'h> {
    /// Where the attachments are: the image's registry, or the signature repository's.
    registry: Registry<'h>,
    repo: String,
    pinned: ImageReference,
    digest: Digest,
}

impl<'h> Target<'h> {
    fn resolve(
        http: &'h Http,
        image: &str,
        registry_options: &RegistryOptions,
        platform: Option<&str>,
    ) -> anyhow::Result<Target<'h>> {
        let reference = ImageReference::parse(image)?;
        let image_registry = Registry::new(http, reference.api_host(), registry_options)?;
        let (mut digest, fetched) = crate::image::image_digest(&image_registry, &reference)?;
        if let Some(platform) = platform {
            let index = match fetched {
                Some(f) => f,
                None => image_registry.manifest(&reference.repository, &digest.to_string())?,
            };
            digest = platform_manifest(&index, platform)
                .map_err(|e| anyhow!("{}: {e}", reference.with_digest(digest.clone())))?;
        }
        let (elsewhere, repo) = crate::image::signature_registry(http, registry_options, &reference)?;
        let registry = elsewhere.unwrap_or(image_registry);
        Ok(Target {
            pinned: reference.with_digest(digest.clone()),
            registry,
            repo,
            digest,
        })
    }

    fn repo(&self) -> &str {
        &self.repo
    }

    /// The Sigstore bundles attached as referrers (the referrers API, else the fallback index).
    fn bundles(&self) -> anyhow::Result<Vec<Bundle>> {
        let repo = self.repo();
        let listed = match self.registry.referrers(repo, &self.digest)? {
            Some(index) => index,
            None => crate::image::fallback_index(&self.registry, repo, &fallback_tag(&self.digest))?
                .unwrap_or_default(),
        };
        let mut bundles = Vec::new();
        for candidate in listed.manifests.iter().filter(|d| may_be_bundle(d)) {
            // Unreadable or broken referrers are not printed: nothing is verified here.
            if let ReferrerBundle::Bundle(bundle) =
                read_referrer_bundle(&self.registry, repo, candidate, &self.digest)
            {
                bundles.push(bundle);
            }
        }
        Ok(bundles)
    }

    /// The layers of the legacy attachment `attachment` of `media_type`, with their blobs.
    fn legacy_layers(
        &self,
        attachment: Attachment,
        media_type: &str,
    ) -> anyhow::Result<Vec<(signet_oci::Descriptor, Vec<u8>)>> {
        let Some(tag) = attachment_tag(&self.digest, attachment) else {
            return Ok(Vec::new());
        };
        let Some(fetched) = self.registry.find_manifest(self.repo(), &tag)? else {
            return Ok(Vec::new());
        };
        let Manifest::Image(manifest) = fetched.manifest else {
            bail!(
                "{}/{}:{tag} is an index, not cosign's attachment image",
                self.registry.host(),
                self.repo()
            );
        };
        manifest
            .layers
            .into_iter()
            .filter(|l| l.media_type == media_type)
            .map(|layer| {
                let blob = self
                    .registry
                    .blob(self.repo(), &layer, MAX_BUNDLE_BYTES)
                    .with_context(|| format!("{}: a layer of {tag}", self.pinned))?;
                Ok((layer, blob))
            })
            .collect()
    }
}

/// `download signature`: the image's bundle signatures, else its `.sig` signatures.
pub fn download_signatures(
    image: &str,
    registry_options: &RegistryOptions,
    platform: Option<&str>,
) -> anyhow::Result<Downloaded> {
    let http = registry_options.http()?;
    let target = Target::resolve(&http, image, registry_options, platform)?;
    let mut lines: Vec<String> = target
        .bundles()?
        .iter()
        .filter(|b| {
            matches!(b.content, Content::MessageSignature(_))
                || is_statement_of(b, COSIGN_SIGN_PREDICATE_TYPE)
        })
        .map(|b| String::from_utf8_lossy(&b.to_json()).into_owned())
        .collect();
    if lines.is_empty() {
        for (layer, payload) in target.legacy_layers(Attachment::Signature, SIMPLE_SIGNING_MEDIA_TYPE)? {
            let line = signed_payload(&payload, &layer.annotations)
                .with_context(|| format!("{}: the .sig layer {}", target.pinned, layer.digest))?;
            lines.push(line.to_string());
        }
    }
    if lines.is_empty() {
        bail!("no signatures found for {}", target.pinned);
    }
    Ok(Downloaded {
        image: target.pinned,
        lines,
    })
}

/// cosign's `SignedPayload` for a `.sig` layer: what its annotations hold, and the payload.
pub fn signed_payload(payload: &[u8], annotations: &BTreeMap<String, String>) -> anyhow::Result<Value> {
    let certificates = |key: &str| -> anyhow::Result<Option<Vec<Value>>> {
        let Some(text) = annotations.get(key).filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let blocks = pem::parse_many(text).map_err(|e| anyhow!("the {key} annotation: {e}"))?;
        Ok(Some(
            blocks
                .iter()
                .map(|b| json!({ "Raw": B64.encode(b.contents()) }))
                .collect(),
        ))
    };
    let embedded = |key: &str| -> anyhow::Result<Value> {
        match annotations.get(key) {
            None => Ok(Value::Null),
            Some(text) => {
                serde_json::from_str(text).map_err(|e| anyhow!("the {key} annotation is not JSON: {e}"))
            }
        }
    };
    Ok(json!({
        "Base64Signature": annotations.get(ANNOTATION_SIGNATURE).cloned().unwrap_or_default(),
        "Payload": B64.encode(payload),
        "Cert": certificates(ANNOTATION_CERTIFICATE)?.and_then(|c| c.into_iter().next()),
        "Chain": certificates(ANNOTATION_CHAIN)?,
        "Bundle": embedded(ANNOTATION_BUNDLE)?,
        "RFC3161Timestamp": embedded(ANNOTATION_RFC3161_TIMESTAMP)?,
    }))
}

/// A DSSE envelope as cosign's `AttestationPayload` prints it.
#[derive(Debug, Serialize, Deserialize)]
struct AttestationPayload {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<AttestationSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
struct AttestationSignature {
    #[serde(default)]
    keyid: String,
    #[serde(default)]
    sig: String,
}

/// `download attestation`: the bundles that are attestations, then the `.att` envelopes; only
/// those of `predicate_type` (a URI) when it is given.
pub fn download_attestations(
    image: &str,
    predicate_type: Option<&str>,
    registry_options: &RegistryOptions,
    platform: Option<&str>,
) -> anyhow::Result<Downloaded> {
    let http = registry_options.http()?;
    let target = Target::resolve(&http, image, registry_options, platform)?;
    let wanted = |statement: &[u8]| {
        Statement::from_json(statement).is_ok_and(|s| {
            s.predicate_type != COSIGN_SIGN_PREDICATE_TYPE
                && predicate_type.is_none_or(|t| s.predicate_type == t)
        })
    };
    let mut lines = Vec::new();
    for bundle in target.bundles()? {
        if let Content::DsseEnvelope(envelope) = &bundle.content {
            if wanted(&envelope.payload) {
                lines.push(String::from_utf8_lossy(&bundle.to_json()).into_owned());
            }
        }
    }
    for (layer, blob) in target.legacy_layers(Attachment::Attestation, DSSE_ENVELOPE_MEDIA_TYPE)? {
        let envelope: AttestationPayload = serde_json::from_slice(&blob).with_context(|| {
            format!(
                "{}: the .att layer {} is not a DSSE envelope",
                target.pinned, layer.digest
            )
        })?;
        // cosign keeps an envelope whose statement it cannot read only when not filtering.
        let keep = match B64.decode(&envelope.payload) {
            Ok(statement) => {
                wanted(&statement) || (predicate_type.is_none() && Statement::from_json(&statement).is_err())
            }
            Err(_) => predicate_type.is_none(),
        };
        if keep {
            lines.push(serde_json::to_string(&envelope)?);
        }
    }
    if let (Some(t), true) = (predicate_type, lines.is_empty()) {
        bail!(
            "no attestations with predicate type '{t}' found for {}",
            target.pinned
        );
    }
    Ok(Downloaded {
        image: target.pinned,
        lines,
    })
}

/// `download sbom`: the SBOM attached under the image's `.sbom` tag.
pub fn download_sbom(
    image: &str,
    registry_options: &RegistryOptions,
    platform: Option<&str>,
) -> anyhow::Result<DownloadedSbom> {
    let http = registry_options.http()?;
    let target = Target::resolve(&http, image, registry_options, platform)?;
    let tag = attachment_tag(&target.digest, Attachment::Sbom);
    let fetched = match &tag {
        Some(tag) => target.registry.find_manifest(target.repo(), tag)?,
        None => None,
    };
    let Some(fetched) = fetched else {
        bail!("no SBOM attached to {}", target.pinned);
    };
    let Manifest::Image(manifest) = fetched.manifest else {
        bail!(
            "{}: its .sbom tag is an index, not cosign's attachment image",
            target.pinned
        );
    };
    // `attach sbom` writes one layer, the SBOM.
    let Some(layer) = manifest.layers.first() else {
        bail!("{}: its .sbom attachment has no layer", target.pinned);
    };
    let content = target
        .registry
        .blob(target.repo(), layer, MAX_ATTACHMENT_BYTES)
        .with_context(|| format!("{}: the SBOM", target.pinned))?;
    Ok(DownloadedSbom {
        image: target.pinned,
        media_type: layer.media_type.clone(),
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sig_layer_prints_as_cosign_signed_payload() {
        let der = [0x30u8, 0x03, 0x02, 0x01, 0x01];
        let pem_text = pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
        let annotations = BTreeMap::from([
            (ANNOTATION_SIGNATURE.to_string(), "MEUCIQ==".to_string()),
            (ANNOTATION_CERTIFICATE.to_string(), pem_text.clone()),
            (ANNOTATION_CHAIN.to_string(), format!("{pem_text}{pem_text}")),
            (
                ANNOTATION_BUNDLE.to_string(),
                r#"{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":2,"logID":"ab"}}"#
                    .to_string(),
            ),
        ]);
        let value = signed_payload(b"{\"critical\":{}}", &annotations).unwrap();
        assert_eq!(value["Base64Signature"], "MEUCIQ==");
        assert_eq!(
            B64.decode(value["Payload"].as_str().unwrap()).unwrap(),
            b"{\"critical\":{}}"
        );
        assert_eq!(value["Cert"]["Raw"], B64.encode(der));
        assert_eq!(value["Chain"].as_array().unwrap().len(), 2);
        assert_eq!(value["Bundle"]["Payload"]["logIndex"], 2);
        assert_eq!(value["RFC3161Timestamp"], Value::Null);

        // A key-signed layer: no certificate, no chain.
        let bare = BTreeMap::from([(ANNOTATION_SIGNATURE.to_string(), "c2ln".to_string())]);
        let value = signed_payload(b"p", &bare).unwrap();
        assert_eq!(value["Cert"], Value::Null);
        assert_eq!(value["Chain"], Value::Null);

        let broken = BTreeMap::from([(ANNOTATION_BUNDLE.to_string(), "{".to_string())]);
        assert!(signed_payload(b"p", &broken).is_err());
    }

    #[test]
    fn an_att_envelope_prints_as_cosign_attestation_payload() {
        let envelope: AttestationPayload =
            serde_json::from_str(r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}"#)
                .unwrap();
        assert_eq!(
            serde_json::to_string(&envelope).unwrap(),
            r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}"#
        );
    }
}
