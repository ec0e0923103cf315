//! Image manifests and image indexes (image-spec `manifest.md`, `image-index.md`), and the
//! Docker schema 2 forms registries still serve. A manifest's digest is over the exact bytes a
//! registry holds, so parsing never re-serialises to check anything: callers keep the bytes
//! they fetched and check them against the digest they asked for
//! ([`crate::Descriptor::describes`]), then parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::descriptor::Descriptor;

/// OCI image manifest.
pub const MEDIA_TYPE_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const MEDIA_TYPE_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list, schema 2.
pub const MEDIA_TYPE_DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image configuration.
pub const MEDIA_TYPE_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The empty descriptor's media type, for artifacts with no configuration.
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content: the JSON object `{}`.
pub const EMPTY_CONTENT: &[u8] = b"{}";

/// The largest manifest signet reads: distribution's own limit for a manifest PUT is 4 MiB.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Why manifest bytes are refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Over [`MAX_MANIFEST_BYTES`].
    #[error("the manifest is {0} bytes, more than the {MAX_MANIFEST_BYTES} signet reads")]
    TooLarge(usize),
    /// Not JSON, or not an object.
    #[error("the manifest is not a JSON object: {0}")]
    Json(String),
    /// `schemaVersion` is not 2.
    #[error("the manifest's schemaVersion is {0}, not 2")]
    SchemaVersion(String),
    /// A media type signet does not read as a manifest.
    #[error("{0:?} is not an image manifest or index media type")]
    MediaType(String),
    /// A field is missing or has the wrong type.
    #[error("the {what} does not have the image spec's shape: {reason}")]
    Shape {
        /// "image manifest" or "image index".
        what: &'static str,
        /// serde's message.
        reason: String,
    },
}

/// An image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_TYPE_IMAGE_MANIFEST`] (or Docker's), when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact's type, for an artifact manifest (a referrer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The configuration.
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (a multi-platform image, or the referrers of a manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_TYPE_IMAGE_INDEX`] (or Docker's manifest list), when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact's type, for an index that is an artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests.
    pub manifests: Vec<Descriptor>,
    /// The manifest this index refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An empty OCI index.
    pub fn new() -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_IMAGE_INDEX.to_string()),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The JSON signet pushes (compact, fields in the spec's order).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an index always serialises")
    }
}

impl Default for ImageIndex {
    fn default() -> Self {
        ImageIndex::new()
    }
}

impl ImageManifest {
    /// The JSON signet pushes (compact, fields in the spec's order).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }
}

/// What a registry answered for a manifest reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// A single image (or artifact).
    Image(Box<ImageManifest>),
    /// An index of images (or referrers).
    Index(Box<ImageIndex>),
}

impl Manifest {
    /// Parses manifest bytes. `content_type` is the registry's `Content-Type`, used when the
    /// document does not state its `mediaType` (both are optional in the spec; a document
    /// with `manifests` and no `layers` is an index).
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        let Value::Object(object) = &value else {
            return Err(ManifestError::Json("the top level is not an object".into()));
        };
        match object.get("schemaVersion") {
            Some(Value::Number(n)) if n.as_u64() == Some(2) => {}
            other => {
                return Err(ManifestError::SchemaVersion(
                    other.map_or("absent".to_string(), Value::to_string),
                ))
            }
        }
        let stated = object.get("mediaType").and_then(Value::as_str);
        let media_type = stated.or(content_type.map(|c| c.split(';').next().unwrap_or(c).trim()));
        let is_index = match media_type {
            Some(MEDIA_TYPE_IMAGE_INDEX | MEDIA_TYPE_DOCKER_MANIFEST_LIST) => true,
            Some(MEDIA_TYPE_IMAGE_MANIFEST | MEDIA_TYPE_DOCKER_MANIFEST) => false,
            Some(other) if stated.is_some() => return Err(ManifestError::MediaType(other.to_string())),
            // A generic content type (application/json, octet-stream) or none: by shape.
            _ => object.contains_key("manifests") && !object.contains_key("layers"),
        };
        if is_index {
            ImageIndex::deserialize(&value)
                .map(|i| Manifest::Index(Box::new(i)))
                .map_err(|e| ManifestError::Shape {
                    what: "image index",
                    reason: e.to_string(),
                })
        } else {
            ImageManifest::deserialize(&value)
                .map(|m| Manifest::Image(Box::new(m)))
                .map_err(|e| ManifestError::Shape {
                    what: "image manifest",
                    reason: e.to_string(),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    const LAYER: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

    fn image_json(media_type: Option<&str>) -> String {
        let media_type = media_type
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{media_type}"config":{{"mediaType":"{MEDIA_TYPE_IMAGE_CONFIG}","digest":"{LAYER}","size":7023}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{LAYER}","size":32654,"annotations":{{"a":"b"}}}}],"annotations":{{"com.example.key1":"value1"}},"extra":{{"unknown":"ignored"}}}}"#
        )
    }

    #[test]
    fn an_image_manifest_reads_by_its_media_type_the_content_type_or_its_shape() {
        for (stated, content_type) in [
            (Some(MEDIA_TYPE_IMAGE_MANIFEST), None),
            (
                None,
                Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            ),
            (None, Some("application/json")),
            (None, None),
        ] {
            let Manifest::Image(m) = Manifest::parse(content_type, image_json(stated).as_bytes()).unwrap()
            else {
                panic!("an image manifest")
            };
            assert_eq!(m.layers.len(), 1);
            assert_eq!(m.layers[0].digest, LAYER.parse::<Digest>().unwrap());
            assert_eq!(m.layers[0].annotations["a"], "b");
            assert_eq!(m.config.size, 7023);
        }
    }

    #[test]
    fn an_index_reads_with_its_platforms() {
        let json = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MEDIA_TYPE_IMAGE_MANIFEST}","digest":"{LAYER}","size":7143,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#
        );
        let Manifest::Index(index) = Manifest::parse(None, json.as_bytes()).unwrap() else {
            panic!("an index")
        };
        assert_eq!(
            index.manifests[0].platform.as_ref().unwrap().to_string(),
            "linux/arm64/v8"
        );
    }

    #[test]
    fn what_is_not_a_manifest_is_refused() {
        let refused = |bytes: &[u8]| Manifest::parse(None, bytes).unwrap_err().to_string();
        assert!(refused(b"[]").contains("not a JSON object"));
        assert!(refused(br#"{"schemaVersion":1}"#).contains("schemaVersion is 1"));
        assert!(refused(br#"{"layers":[]}"#).contains("schemaVersion is absent"));
        assert!(refused(br#"{"schemaVersion":2,"mediaType":"text/plain"}"#).contains("\"text/plain\""));
        assert!(refused(br#"{"schemaVersion":2,"layers":[]}"#).contains("image manifest"));
        let bad_digest = image_json(None).replace(&LAYER[7..], &LAYER[7..].to_uppercase());
        assert!(refused(bad_digest.as_bytes()).contains("lowercase hex"));
        let negative = image_json(None).replace("32654", "-1");
        assert!(refused(negative.as_bytes()).contains("image manifest"));
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(refused(&huge).contains("more than"));
    }

    #[test]
    fn what_signet_writes_reads_back_the_same() {
        let Manifest::Image(m) =
            Manifest::parse(None, image_json(Some(MEDIA_TYPE_IMAGE_MANIFEST)).as_bytes()).unwrap()
        else {
            panic!("an image manifest")
        };
        let again = Manifest::parse(None, &m.to_json()).unwrap();
        assert_eq!(again, Manifest::Image(m));
    }
}
