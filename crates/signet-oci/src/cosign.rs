//! cosign's legacy storage format (cosign 1 and 2; cosign 3 with `--new-bundle-format=false`):
//! signatures, attestations and SBOMs as manifests tagged `sha256-<hex>.sig`, `.att` and `.sbom`
//! beside the image, one layer per signature, with the signature, certificate, chain, Rekor
//! bundle and RFC 3161 timestamp in the layer's annotations; and the simple-signing payload those
//! signatures are over (sigstore `pkg/signature/payload`). Names and shapes as cosign's
//! `pkg/oci` writes them (`../shared/reference/OCI.md` §1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::descriptor::Descriptor;
use crate::digest::Digest;

/// The media type of a signature layer: the simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type of an attestation layer: a DSSE envelope.
pub const DSSE_ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The simple-signing payload's `critical.type`.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// Layer annotation: the signature over the layer's content, base64.
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation: the signing certificate, PEM.
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation: the certificate's chain, PEM.
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Layer annotation: the Rekor bundle (SET and the entry it covers), [`RekorBundle`].
pub const ANNOTATION_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation: an RFC 3161 timestamp over the signature, [`Rfc3161Annotation`].
pub const ANNOTATION_RFC3161_TIMESTAMP: &str = "dev.sigstore.cosign/rfc3161timestamp";
/// Attestation layer annotation: the statement's predicate type.
pub const ANNOTATION_PREDICATE_TYPE: &str = "predicateType";

/// What is attached to an image under cosign's tag schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Signatures: `.sig`.
    Signature,
    /// Attestations: `.att`.
    Attestation,
    /// An SBOM (unsigned): `.sbom`.
    Sbom,
}

impl Attachment {
    /// The tag suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Attachment::Signature => "sig",
            Attachment::Attestation => "att",
            Attachment::Sbom => "sbom",
        }
    }
}

/// The longest tag the distribution spec allows (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
pub const MAX_TAG_LEN: usize = 128;

/// The tag an attachment of the image with `digest` is stored under: `sha256-<hex>.sig`.
/// `None` where the tag would be longer than a tag may be (a SHA-512 digest).
pub fn attachment_tag(digest: &Digest, attachment: Attachment) -> Option<String> {
    let tag = format!(
        "{}-{}.{}",
        digest.algorithm().name(),
        digest.hex(),
        attachment.suffix()
    );
    (tag.len() <= MAX_TAG_LEN).then_some(tag)
}

/// The simple-signing payload cosign signs for an image (sigstore
/// `pkg/signature/payload.SimpleContainerImage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// What the signature is about.
    pub critical: Critical,
    /// The `-a key=value` annotations, and anything else a signer adds. cosign writes `null`
    /// when there are none, and so does signet.
    pub optional: Option<BTreeMap<String, Value>>,
}

/// The payload's `critical` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    /// The repository the image was signed in.
    pub identity: Identity,
    /// The image's manifest digest.
    pub image: Image,
    /// Always [`SIMPLE_SIGNING_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The repository (without a tag, by cosign's default), e.g. `registry.example/app`.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The manifest digest, `sha256:<hex>`.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// Why a simple-signing payload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not the payload's JSON shape.
    #[error("the signed payload is not a cosign simple-signing payload: {0}")]
    Shape(String),
    /// Another `critical.type`.
    #[error("the signed payload's type is {0:?}, not {SIMPLE_SIGNING_TYPE:?}")]
    Type(String),
    /// Signed for another image.
    #[error("the signature is for the image {signed}, not {expected}")]
    OtherImage {
        /// The digest the payload names.
        signed: String,
        /// The image being verified.
        expected: Digest,
    },
}

impl SimpleSigning {
    /// The payload for the image with `digest` in `repository`, with `annotations`.
    pub fn new(repository: &str, digest: &Digest, annotations: BTreeMap<String, Value>) -> SimpleSigning {
        SimpleSigning {
            critical: Critical {
                identity: Identity {
                    docker_reference: repository.to_string(),
                },
                image: Image {
                    docker_manifest_digest: digest.to_string(),
                },
                kind: SIMPLE_SIGNING_TYPE.to_string(),
            },
            optional: (!annotations.is_empty()).then_some(annotations),
        }
    }

    /// The bytes that are signed: compact JSON, keys in the order cosign's Go encoder writes
    /// them (struct fields in order, map keys sorted). Go also escapes `<`, `>` and `&` in
    /// strings, which this does not; such payloads verify either way, as a verifier checks the
    /// signature over the bytes stored and parses them.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload always serialises")
    }

    /// Parses the signed bytes and checks they are a cosign image signature for `image`.
    pub fn parse_for(bytes: &[u8], image: &Digest) -> Result<SimpleSigning, PayloadError> {
        let payload: SimpleSigning =
            serde_json::from_slice(bytes).map_err(|e| PayloadError::Shape(e.to_string()))?;
        if payload.critical.kind != SIMPLE_SIGNING_TYPE {
            return Err(PayloadError::Type(payload.critical.kind));
        }
        let signed = &payload.critical.image.docker_manifest_digest;
        if signed.parse::<Digest>().ok().as_ref() != Some(image) {
            return Err(PayloadError::OtherImage {
                signed: signed.clone(),
                expected: image.clone(),
            });
        }
        Ok(payload)
    }
}

/// The [`ANNOTATION_BUNDLE`] value: a Rekor v1 entry's signed entry timestamp and what it signs
/// (cosign `pkg/cosign/bundle.RekorBundle`; field names as cosign writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekorBundle {
    /// The log's signature over the canonical JSON of [`RekorBundle::payload`], base64.
    #[serde(rename = "SignedEntryTimestamp")]
    pub signed_entry_timestamp: String,
    /// The entry the SET covers.
    #[serde(rename = "Payload")]
    pub payload: RekorPayload,
}

/// What a SET signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RekorPayload {
    /// The canonical entry body, base64.
    pub body: String,
    /// When the log integrated the entry (Unix seconds).
    pub integrated_time: i64,
    /// The entry's index in the log.
    pub log_index: i64,
    /// The log's ID, hex.
    #[serde(rename = "logID")]
    pub log_id: String,
}

impl RekorBundle {
    /// Parses the annotation's value.
    pub fn from_json(text: &str) -> Result<RekorBundle, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The annotation's value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Rekor bundle always serialises")
    }

    /// The bytes the SET is a signature over: the RFC 8785 canonical JSON of the payload
    /// (cosign `VerifySET`).
    pub fn signed_message(&self) -> Vec<u8> {
        let value = serde_json::to_value(&self.payload).expect("a payload always serialises");
        signet_formats::canonical_json::to_canonical(&value)
    }
}

/// The [`ANNOTATION_RFC3161_TIMESTAMP`] value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rfc3161Annotation {
    /// The DER `TimeStampResp`, base64.
    #[serde(rename = "SignedRFC3161Timestamp")]
    pub signed_rfc3161_timestamp: String,
}

/// Why a legacy layer cannot be read as a bundle, or a bundle written as a legacy layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyError {
    /// No [`ANNOTATION_SIGNATURE`].
    #[error("the layer has no {ANNOTATION_SIGNATURE} annotation")]
    NoSignature,
    /// An annotation that does not decode.
    #[error("the layer's {annotation} annotation does not decode: {reason}")]
    Annotation {
        /// Which annotation.
        annotation: &'static str,
        /// Why.
        reason: String,
    },
    /// An attestation layer that is not a DSSE envelope.
    #[error("the attestation layer is not a DSSE envelope: {0}")]
    Envelope(String),
    /// Writing: the bundle holds another kind of content than the layer carries.
    #[error("a {layer} layer carries a {expected}, but the bundle holds something else")]
    Content {
        /// "signature" or "attestation".
        layer: &'static str,
        /// What the layer needs.
        expected: &'static str,
    },
    /// Writing: no log entry with a signed entry timestamp, which [`ANNOTATION_BUNDLE`] is.
    #[error("the signature has no Rekor v1 log entry with a signed entry timestamp, which the legacy format's {ANNOTATION_BUNDLE} annotation carries")]
    NoSignedEntryTimestamp,
    /// Writing: the envelope's payload is not an in-toto statement.
    #[error("the attestation's payload is not an in-toto statement: {0}")]
    Statement(String),
}

/// A legacy signature layer (its payload and annotations) as the Sigstore bundle v0.1 it
/// amounts to, so that it is verified by the one verifier: a message signature over the payload,
/// the signing certificate (the chain annotation is left out: it is unauthenticated, and the
/// path is built from the trusted root, as cosign does), the Rekor entry the SET covers (v0.1
/// needs no inclusion proof), and the RFC 3161 timestamp. A key-signed layer has no
/// certificate; the verifier is given the key.
pub fn legacy_signature_bundle(
    payload: &[u8],
    annotations: &BTreeMap<String, String>,
) -> Result<signet_formats::bundle::Bundle, LegacyError> {
    use sha2::Digest as _;
    use signet_crypto::HashAlgorithm;
    use signet_formats::bundle::{BundleContent, MessageSignature};
    use signet_formats::common::HashOutput;

    let signature = annotations
        .get(ANNOTATION_SIGNATURE)
        .ok_or(LegacyError::NoSignature)?;
    let signature = B64
        .decode(signature.trim())
        .map_err(|e| bad(ANNOTATION_SIGNATURE, e.to_string()))?;
    legacy_bundle(
        annotations,
        BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: sha2::Sha256::digest(payload).to_vec(),
            }),
            signature,
        }),
    )
}

/// A legacy attestation layer (a DSSE envelope, JSON, and the layer's annotations) as the
/// Sigstore bundle v0.1 it amounts to: the envelope, with certificate, Rekor entry and timestamp
/// read as for a signature ([`legacy_signature_bundle`]). The signature is the envelope's own;
/// cosign writes [`ANNOTATION_SIGNATURE`] empty on these layers, and it is not read. What the
/// statement says (its subject, its predicate type) is for the verifier to check: nothing here
/// is authenticated yet, the [`ANNOTATION_PREDICATE_TYPE`] annotation least of all.
pub fn legacy_attestation_bundle(
    envelope: &[u8],
    annotations: &BTreeMap<String, String>,
) -> Result<signet_formats::bundle::Bundle, LegacyError> {
    let envelope = signet_formats::dsse::Envelope::from_json(envelope)
        .map_err(|e| LegacyError::Envelope(e.to_string()))?;
    legacy_bundle(
        annotations,
        signet_formats::bundle::BundleContent::DsseEnvelope(envelope),
    )
}

fn bad(annotation: &'static str, reason: String) -> LegacyError {
    LegacyError::Annotation { annotation, reason }
}

/// The bundle v0.1 a legacy layer's annotations and `content` amount to.
fn legacy_bundle(
    annotations: &BTreeMap<String, String>,
    content: signet_formats::bundle::BundleContent,
) -> Result<signet_formats::bundle::Bundle, LegacyError> {
    use signet_formats::bundle::{
        Bundle, BundleVersion, TimestampVerificationData, VerificationMaterial, VerificationMaterialContent,
    };
    use signet_formats::common::LogId;
    use signet_formats::rekor_v2::{InclusionPromise, KindVersion, TransparencyLogEntry};

    let material = match annotations.get(ANNOTATION_CERTIFICATE).filter(|c| !c.is_empty()) {
        Some(text) => {
            let block = pem::parse(text).map_err(|e| bad(ANNOTATION_CERTIFICATE, e.to_string()))?;
            VerificationMaterialContent::X509CertificateChain(vec![block.into_contents()])
        }
        None => VerificationMaterialContent::PublicKey { hint: String::new() },
    };
    let mut tlog_entries = Vec::new();
    if let Some(text) = annotations.get(ANNOTATION_BUNDLE) {
        let rekor = RekorBundle::from_json(text).map_err(|e| bad(ANNOTATION_BUNDLE, e.to_string()))?;
        let set = B64
            .decode(&rekor.signed_entry_timestamp)
            .map_err(|e| bad(ANNOTATION_BUNDLE, format!("SignedEntryTimestamp: {e}")))?;
        let body = B64
            .decode(&rekor.payload.body)
            .map_err(|e| bad(ANNOTATION_BUNDLE, format!("Payload.body: {e}")))?;
        let kind: Value = serde_json::from_slice(&body)
            .map_err(|e| bad(ANNOTATION_BUNDLE, format!("the entry body: {e}")))?;
        let field = |name: &str| kind.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(kind_name), Some(version)) = (field("kind"), field("apiVersion")) else {
            return Err(bad(
                ANNOTATION_BUNDLE,
                "the entry body names no kind and apiVersion".into(),
            ));
        };
        let log_id =
            hex::decode(&rekor.payload.log_id).map_err(|e| bad(ANNOTATION_BUNDLE, format!("logID: {e}")))?;
        let log_index = u64::try_from(rekor.payload.log_index)
            .map_err(|_| bad(ANNOTATION_BUNDLE, "logIndex is negative".into()))?;
        tlog_entries.push(TransparencyLogEntry {
            log_index,
            log_id: LogId { key_id: log_id },
            kind_version: KindVersion {
                kind: kind_name,
                version,
            },
            integrated_time: Some(rekor.payload.integrated_time),
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: set,
            }),
            inclusion_proof: None,
            canonicalized_body: body,
        });
    }
    let mut rfc3161_timestamps = Vec::new();
    if let Some(text) = annotations.get(ANNOTATION_RFC3161_TIMESTAMP) {
        let annotation: Rfc3161Annotation =
            serde_json::from_str(text).map_err(|e| bad(ANNOTATION_RFC3161_TIMESTAMP, e.to_string()))?;
        rfc3161_timestamps.push(
            B64.decode(&annotation.signed_rfc3161_timestamp)
                .map_err(|e| bad(ANNOTATION_RFC3161_TIMESTAMP, e.to_string()))?,
        );
    }
    Ok(Bundle {
        media_type: BundleVersion::V0_1.media_type().to_string(),
        version: BundleVersion::V0_1,
        verification_material: VerificationMaterial {
            content: material,
            tlog_entries,
            timestamp_verification_data: TimestampVerificationData { rfc3161_timestamps },
        },
        content,
    })
}

/// A layer to add to a `.sig` or `.att` manifest: its descriptor (with the annotations) and
/// the blob it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyLayer {
    /// The layer's descriptor, annotations included.
    pub descriptor: Descriptor,
    /// The blob: the simple-signing payload, or the DSSE envelope's JSON.
    pub content: Vec<u8>,
}

/// The `.sig` layer for a signature over the simple-signing `payload` (cosign
/// `pkg/oci/static.NewSignature`): the payload as the blob, the bundle's signature, certificate
/// and Rekor v1 entry, and `chain` (the CA's certificates after the leaf, DER) as annotations.
pub fn signature_layer(
    payload: &[u8],
    bundle: &signet_formats::bundle::Bundle,
    chain: &[Vec<u8>],
) -> Result<LegacyLayer, LegacyError> {
    let signet_formats::bundle::BundleContent::MessageSignature(m) = &bundle.content else {
        return Err(LegacyError::Content {
            layer: "signature",
            expected: "message signature",
        });
    };
    let mut annotations = layer_annotations(bundle, chain)?;
    annotations.insert(ANNOTATION_SIGNATURE.to_string(), B64.encode(&m.signature));
    let mut descriptor = Descriptor::of(SIMPLE_SIGNING_MEDIA_TYPE, payload);
    descriptor.annotations = annotations;
    Ok(LegacyLayer {
        descriptor,
        content: payload.to_vec(),
    })
}

/// The `.att` layer for an attestation (cosign 2 `cosign attest`): the DSSE envelope's JSON as
/// the blob; the statement's predicate type, an empty signature annotation (the signature is in
/// the envelope), and the bundle's certificate, `chain` and Rekor v1 entry as annotations.
pub fn attestation_layer(
    bundle: &signet_formats::bundle::Bundle,
    chain: &[Vec<u8>],
) -> Result<LegacyLayer, LegacyError> {
    let signet_formats::bundle::BundleContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(LegacyError::Content {
            layer: "attestation",
            expected: "DSSE envelope",
        });
    };
    let statement = signet_formats::intoto::Statement::from_json(&envelope.payload)
        .map_err(|e| LegacyError::Statement(e.to_string()))?;
    let content = serde_json::to_vec(envelope).expect("an envelope always serialises");
    let mut annotations = layer_annotations(bundle, chain)?;
    annotations.insert(ANNOTATION_SIGNATURE.to_string(), String::new());
    annotations.insert(ANNOTATION_PREDICATE_TYPE.to_string(), statement.predicate_type);
    let mut descriptor = Descriptor::of(DSSE_ENVELOPE_MEDIA_TYPE, &content);
    descriptor.annotations = annotations;
    Ok(LegacyLayer { descriptor, content })
}

/// The certificate, chain, Rekor bundle and timestamp annotations a bundle amounts to.
fn layer_annotations(
    bundle: &signet_formats::bundle::Bundle,
    chain: &[Vec<u8>],
) -> Result<BTreeMap<String, String>, LegacyError> {
    let material = &bundle.verification_material;
    let mut annotations = BTreeMap::new();
    if let Some(leaf) = material.content.leaf_certificate() {
        annotations.insert(ANNOTATION_CERTIFICATE.to_string(), certificates_pem([leaf]));
        if !chain.is_empty() {
            annotations.insert(
                ANNOTATION_CHAIN.to_string(),
                certificates_pem(chain.iter().map(Vec::as_slice)),
            );
        }
    }
    // The SET is what the annotation carries: a Rekor v1 entry (a v2 entry has none).
    let (entry, promise) = material
        .tlog_entries
        .iter()
        .find_map(|e| Some((e, e.inclusion_promise.as_ref()?)))
        .ok_or(LegacyError::NoSignedEntryTimestamp)?;
    let rekor = RekorBundle {
        signed_entry_timestamp: B64.encode(&promise.signed_entry_timestamp),
        payload: RekorPayload {
            body: B64.encode(&entry.canonicalized_body),
            integrated_time: entry.integrated_time.ok_or(LegacyError::NoSignedEntryTimestamp)?,
            log_index: i64::try_from(entry.log_index).map_err(|_| LegacyError::NoSignedEntryTimestamp)?,
            log_id: hex::encode(&entry.log_id.key_id),
        },
    };
    annotations.insert(ANNOTATION_BUNDLE.to_string(), rekor.to_json());
    if let Some(timestamp) = material.timestamp_verification_data.rfc3161_timestamps.first() {
        let annotation = Rfc3161Annotation {
            signed_rfc3161_timestamp: B64.encode(timestamp),
        };
        annotations.insert(
            ANNOTATION_RFC3161_TIMESTAMP.to_string(),
            serde_json::to_string(&annotation).expect("an annotation always serialises"),
        );
    }
    Ok(annotations)
}

/// DER certificates as concatenated PEM blocks with `\n` line ends, as Go's `pem.Encode` writes.
fn certificates_pem<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    ders.into_iter()
        .map(|der| pem::encode_config(&pem::Pem::new("CERTIFICATE", der.to_vec()), config))
        .collect()
}

/// The configuration of a `.sig` / `.att` image, as go-containerregistry writes it for cosign:
/// no platform, the zero time, one empty history entry per layer, and `rootfs.diff_ids` the
/// layers' digests (the layers are not compressed, so a layer's diff ID is its digest).
#[derive(Debug, Serialize)]
struct LegacyConfig<'a> {
    architecture: &'static str,
    created: &'static str,
    history: Vec<LegacyHistory>,
    os: &'static str,
    rootfs: LegacyRootFs<'a>,
    config: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize)]
struct LegacyHistory {
    created: &'static str,
}

#[derive(Debug, Serialize)]
struct LegacyRootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<&'a Digest>,
}

/// Go's zero `time.Time`, which go-containerregistry writes where an image has no date.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The `.sig` or `.att` manifest with `layer` added to the `existing` layers (those of the
/// manifest now at the tag, if any), and the configuration blob it names. A layer equal to one
/// already there (the same content and annotations) is not added twice, as cosign dedupes. The
/// caller pushes the layer's blob and the configuration, then the manifest, whole, in one PUT.
pub fn legacy_manifest(existing: &[Descriptor], layer: Descriptor) -> (crate::ImageManifest, Vec<u8>) {
    use crate::manifest::{MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST};
    let mut layers = existing.to_vec();
    if !layers.contains(&layer) {
        layers.push(layer);
    }
    let config = serde_json::to_vec(&LegacyConfig {
        architecture: "",
        created: ZERO_TIME,
        history: layers
            .iter()
            .map(|_| LegacyHistory { created: ZERO_TIME })
            .collect(),
        os: "",
        rootfs: LegacyRootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| &l.digest).collect(),
        },
        config: BTreeMap::new(),
    })
    .expect("a config always serialises");
    let manifest = crate::ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.to_string()),
        artifact_type: None,
        config: Descriptor::of(MEDIA_TYPE_IMAGE_CONFIG, &config),
        layers,
        subject: None,
        annotations: BTreeMap::new(),
    };
    (manifest, config)
}

/// The media type of an SBOM attached with `attach sbom --type T`, by cosign's names; `json`
/// picks the JSON form where a format has two.
pub fn sbom_media_type(kind: &str, json: bool) -> Option<&'static str> {
    Some(match (kind, json) {
        ("spdx", false) => "text/spdx",
        ("spdx", true) => "text/spdx+json",
        ("cyclonedx", false) => "application/vnd.cyclonedx+xml",
        ("cyclonedx", true) => "application/vnd.cyclonedx+json",
        ("syft", _) => "application/vnd.syft+json",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::sha256(b"manifest")
    }

    #[test]
    fn the_payload_is_what_cosign_writes() {
        let d = digest();
        let bytes = SimpleSigning::new("registry.example/app", &d, BTreeMap::new()).to_json();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
        let parsed = SimpleSigning::parse_for(&bytes, &d).unwrap();
        assert_eq!(parsed.critical.identity.docker_reference, "registry.example/app");

        let annotations = BTreeMap::from([
            ("z".to_string(), Value::from("1")),
            ("a".to_string(), Value::from("2")),
        ]);
        let with = SimpleSigning::new("r/a", &d, annotations).to_json();
        assert!(String::from_utf8(with)
            .unwrap()
            .ends_with(r#""optional":{"a":"2","z":"1"}}"#));
    }

    #[test]
    fn a_payload_for_another_image_or_of_another_type_is_refused() {
        let bytes = SimpleSigning::new("r/a", &digest(), BTreeMap::new()).to_json();
        let other = Digest::sha256(b"other");
        assert!(matches!(
            SimpleSigning::parse_for(&bytes, &other),
            Err(PayloadError::OtherImage { .. })
        ));
        let retyped = String::from_utf8(bytes)
            .unwrap()
            .replace(SIMPLE_SIGNING_TYPE, "something else");
        assert!(matches!(
            SimpleSigning::parse_for(retyped.as_bytes(), &digest()),
            Err(PayloadError::Type(_))
        ));
        assert!(matches!(
            SimpleSigning::parse_for(b"{\"critical\":{}}", &digest()),
            Err(PayloadError::Shape(_))
        ));
    }

    #[test]
    fn attachment_tags() {
        let d = digest();
        assert_eq!(
            attachment_tag(&d, Attachment::Signature).unwrap(),
            format!("sha256-{}.sig", d.hex())
        );
        assert!(attachment_tag(&d, Attachment::Sbom).unwrap().ends_with(".sbom"));
        let long = crate::digest::Digest::of(crate::DigestAlgorithm::Sha512, b"x");
        assert_eq!(attachment_tag(&long, Attachment::Attestation), None);
    }

    #[test]
    fn the_set_is_over_the_canonical_payload() {
        let b = RekorBundle::from_json(
            r#"{"SignedEntryTimestamp":"MEUC","Payload":{"logIndex":7,"logID":"c0ffee","integratedTime":1700000000,"body":"e30="}}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(b.signed_message()).unwrap(),
            r#"{"body":"e30=","integratedTime":1700000000,"logID":"c0ffee","logIndex":7}"#
        );
        assert_eq!(RekorBundle::from_json(&b.to_json()).unwrap(), b);
    }

    mod legacy_layers {
        use super::*;
        use signet_formats::bundle::{
            Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData,
            VerificationMaterial, VerificationMaterialContent,
        };
        use signet_formats::common::{HashOutput, LogId};
        use signet_formats::dsse::{self, Envelope};
        use signet_formats::rekor_v2::{InclusionPromise, KindVersion, TransparencyLogEntry};

        const LEAF: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x01];
        const BODY: &[u8] = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#;

        fn entry() -> TransparencyLogEntry {
            TransparencyLogEntry {
                log_index: 7,
                log_id: LogId {
                    key_id: vec![0xc0, 0xff, 0xee],
                },
                kind_version: KindVersion {
                    kind: "hashedrekord".into(),
                    version: "0.0.1".into(),
                },
                integrated_time: Some(1_700_000_000),
                inclusion_promise: Some(InclusionPromise {
                    signed_entry_timestamp: vec![1, 2, 3],
                }),
                inclusion_proof: None,
                canonicalized_body: BODY.to_vec(),
            }
        }

        fn bundle(content: BundleContent, material: VerificationMaterialContent) -> Bundle {
            Bundle {
                media_type: BundleVersion::V0_3.media_type().to_string(),
                version: BundleVersion::V0_3,
                verification_material: VerificationMaterial {
                    content: material,
                    tlog_entries: vec![entry()],
                    timestamp_verification_data: TimestampVerificationData {
                        rfc3161_timestamps: vec![vec![9, 9]],
                    },
                },
                content,
            }
        }

        fn message(payload: &[u8]) -> BundleContent {
            use sha2::Digest as _;
            BundleContent::MessageSignature(MessageSignature {
                message_digest: Some(HashOutput {
                    algorithm: signet_crypto::HashAlgorithm::Sha2_256,
                    digest: sha2::Sha256::digest(payload).to_vec(),
                }),
                signature: vec![0xaa; 70],
            })
        }

        fn envelope(payload: &[u8]) -> Envelope {
            Envelope {
                payload: payload.to_vec(),
                payload_type: signet_formats::intoto::PAYLOAD_TYPE.into(),
                signatures: vec![dsse::Signature {
                    sig: vec![0xbb; 70],
                    keyid: String::new(),
                }],
            }
        }

        fn statement() -> Vec<u8> {
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v0.1","subject":[{{"name":"r/a","digest":{{"sha256":"{}"}}}}],"predicateType":"https://cyclonedx.org/bom","predicate":{{}}}}"#,
                digest().hex()
            )
            .into_bytes()
        }

        #[test]
        fn a_signature_layer_reads_back_as_the_bundle_it_was_made_from() {
            let payload = SimpleSigning::new("r/a", &digest(), BTreeMap::new()).to_json();
            let made = bundle(
                message(&payload),
                VerificationMaterialContent::Certificate(LEAF.to_vec()),
            );
            let chain = vec![vec![0x30, 0x00], vec![0x30, 0x01, 0x00]];
            let layer = signature_layer(&payload, &made, &chain).unwrap();
            assert_eq!(layer.content, payload);
            assert_eq!(layer.descriptor.media_type, SIMPLE_SIGNING_MEDIA_TYPE);
            assert!(layer.descriptor.describes(&payload));
            let a = &layer.descriptor.annotations;
            assert_eq!(a[ANNOTATION_SIGNATURE], B64.encode([0xaa; 70]));
            assert!(a[ANNOTATION_CERTIFICATE].starts_with("-----BEGIN CERTIFICATE-----\n"));
            assert!(!a[ANNOTATION_CERTIFICATE].contains('\r'));
            let chain_blocks = pem::parse_many(&a[ANNOTATION_CHAIN]).unwrap();
            assert_eq!(
                chain_blocks
                    .iter()
                    .map(|b| b.contents().to_vec())
                    .collect::<Vec<_>>(),
                chain
            );
            let rekor = RekorBundle::from_json(&a[ANNOTATION_BUNDLE]).unwrap();
            assert_eq!(rekor.payload.log_id, "c0ffee");
            assert_eq!(rekor.payload.log_index, 7);
            assert_eq!(
                a[ANNOTATION_RFC3161_TIMESTAMP],
                r#"{"SignedRFC3161Timestamp":"CQk="}"#
            );

            let read = legacy_signature_bundle(&layer.content, a).unwrap();
            assert_eq!(read.content, made.content);
            let m = &read.verification_material;
            assert_eq!(
                m.content,
                VerificationMaterialContent::X509CertificateChain(vec![LEAF.to_vec()])
            );
            assert_eq!(m.tlog_entries, vec![entry()]);
            assert_eq!(m.timestamp_verification_data.rfc3161_timestamps, vec![vec![9, 9]]);
        }

        #[test]
        fn an_attestation_layer_carries_the_envelope_and_its_type() {
            let made = bundle(
                BundleContent::DsseEnvelope(envelope(&statement())),
                VerificationMaterialContent::Certificate(LEAF.to_vec()),
            );
            let layer = attestation_layer(&made, &[]).unwrap();
            assert_eq!(layer.descriptor.media_type, DSSE_ENVELOPE_MEDIA_TYPE);
            let a = &layer.descriptor.annotations;
            assert_eq!(a[ANNOTATION_PREDICATE_TYPE], "https://cyclonedx.org/bom");
            assert_eq!(a[ANNOTATION_SIGNATURE], "");
            assert!(!a.contains_key(ANNOTATION_CHAIN), "no chain was given");
            let read = legacy_attestation_bundle(&layer.content, a).unwrap();
            assert_eq!(read.content, made.content);
            assert_eq!(read.verification_material.tlog_entries, vec![entry()]);
        }

        #[test]
        fn a_key_signed_layer_has_no_certificate() {
            let payload = b"payload";
            let made = bundle(
                message(payload),
                VerificationMaterialContent::PublicKey { hint: "hint".into() },
            );
            let layer = signature_layer(payload, &made, &[]).unwrap();
            let a = &layer.descriptor.annotations;
            assert!(!a.contains_key(ANNOTATION_CERTIFICATE) && !a.contains_key(ANNOTATION_CHAIN));
            let read = legacy_signature_bundle(payload, a).unwrap();
            assert!(matches!(
                read.verification_material.content,
                VerificationMaterialContent::PublicKey { .. }
            ));
        }

        #[test]
        fn what_cannot_be_a_legacy_layer_is_refused() {
            let payload = b"payload";
            let key = || VerificationMaterialContent::PublicKey { hint: String::new() };
            // No SET (a Rekor v2 entry has none).
            let mut v2 = bundle(message(payload), key());
            v2.verification_material.tlog_entries[0].inclusion_promise = None;
            assert_eq!(
                signature_layer(payload, &v2, &[]),
                Err(LegacyError::NoSignedEntryTimestamp)
            );
            v2.verification_material.tlog_entries.clear();
            assert_eq!(
                signature_layer(payload, &v2, &[]),
                Err(LegacyError::NoSignedEntryTimestamp)
            );
            // The wrong content for the layer.
            let dsse = bundle(BundleContent::DsseEnvelope(envelope(&statement())), key());
            assert!(matches!(
                signature_layer(payload, &dsse, &[]),
                Err(LegacyError::Content { .. })
            ));
            assert!(matches!(
                attestation_layer(&bundle(message(payload), key()), &[]),
                Err(LegacyError::Content { .. })
            ));
            let not_a_statement = bundle(BundleContent::DsseEnvelope(envelope(b"{}")), key());
            assert!(matches!(
                attestation_layer(&not_a_statement, &[]),
                Err(LegacyError::Statement(_))
            ));
            // Reading: an attestation layer that is not an envelope.
            assert!(matches!(
                legacy_attestation_bundle(b"not json", &BTreeMap::new()),
                Err(LegacyError::Envelope(_))
            ));
            let bad_bundle = BTreeMap::from([(ANNOTATION_BUNDLE.to_string(), "{}".to_string())]);
            assert!(matches!(
                legacy_attestation_bundle(&serde_json::to_vec(&envelope(b"x")).unwrap(), &bad_bundle),
                Err(LegacyError::Annotation {
                    annotation: ANNOTATION_BUNDLE,
                    ..
                })
            ));
        }

        #[test]
        fn the_manifest_keeps_the_layers_there_and_adds_each_once() {
            let first = Descriptor::of(SIMPLE_SIGNING_MEDIA_TYPE, b"one");
            let (manifest, config) = legacy_manifest(&[], first.clone());
            assert_eq!(manifest.layers, vec![first.clone()]);
            assert_eq!(
                String::from_utf8(config.clone()).unwrap(),
                format!(
                    r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{{"created":"0001-01-01T00:00:00Z"}}],"os":"","rootfs":{{"type":"layers","diff_ids":["{}"]}},"config":{{}}}}"#,
                    first.digest
                )
            );
            assert!(manifest.config.describes(&config));
            assert_eq!(
                manifest.config.media_type,
                crate::manifest::MEDIA_TYPE_IMAGE_CONFIG
            );
            let crate::Manifest::Image(parsed) = crate::Manifest::parse(None, &manifest.to_json()).unwrap()
            else {
                panic!("an image manifest")
            };
            assert_eq!(*parsed, manifest);

            // The same layer again: not twice. Another: after the ones there.
            let (again, _) = legacy_manifest(&manifest.layers, first.clone());
            assert_eq!(again.layers.len(), 1);
            let mut second = Descriptor::of(SIMPLE_SIGNING_MEDIA_TYPE, b"one");
            second
                .annotations
                .insert(ANNOTATION_SIGNATURE.into(), "another".into());
            let (both, config) = legacy_manifest(&manifest.layers, second.clone());
            assert_eq!(both.layers, vec![first.clone(), second]);
            let config: Value = serde_json::from_slice(&config).unwrap();
            assert_eq!(
                config["rootfs"]["diff_ids"],
                serde_json::json!([first.digest.to_string(), first.digest.to_string()])
            );
            assert_eq!(config["history"].as_array().unwrap().len(), 2);
        }
    }
}
