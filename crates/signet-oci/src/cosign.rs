//! cosign's legacy storage format (cosign 1 and 2; cosign 3 with `--new-bundle-format=false`):
//! signatures, attestations and SBOMs as manifests tagged `sha256-<hex>.sig`, `.att` and `.sbom`
//! beside the image, one layer per signature, with the signature, certificate, chain, Rekor
//! bundle and RFC 3161 timestamp in the layer's annotations; and the simple-signing payload those
//! signatures are over (sigstore `pkg/signature/payload`). Names and shapes as cosign's
//! `pkg/oci` writes them (`../shared/reference/OCI.md` §1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// Why a legacy signature layer cannot be read as a bundle.
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
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use sha2::Digest as _;
    use signet_crypto::HashAlgorithm;
    use signet_formats::bundle::{
        Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData,
        VerificationMaterial, VerificationMaterialContent,
    };
    use signet_formats::common::{HashOutput, LogId};
    use signet_formats::rekor_v2::{InclusionPromise, KindVersion, TransparencyLogEntry};

    let bad = |annotation: &'static str, reason: String| LegacyError::Annotation { annotation, reason };
    let signature = annotations
        .get(ANNOTATION_SIGNATURE)
        .ok_or(LegacyError::NoSignature)?;
    let signature = B64
        .decode(signature.trim())
        .map_err(|e| bad(ANNOTATION_SIGNATURE, e.to_string()))?;
    let content = match annotations.get(ANNOTATION_CERTIFICATE).filter(|c| !c.is_empty()) {
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
            content,
            tlog_entries,
            timestamp_verification_data: TimestampVerificationData { rfc3161_timestamps },
        },
        content: BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: sha2::Sha256::digest(payload).to_vec(),
            }),
            signature,
        }),
    })
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
}
