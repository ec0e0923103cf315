//! Sigstore bundles attached to an image as OCI 1.1 referrers (cosign 3's default): an artifact
//! manifest with `artifactType` the bundle's media type, the empty config, the bundle as its one
//! layer and the image as its `subject`, pushed by digest; found through the registry's
//! referrers API or, where the registry has none, through the index tagged `sha256-<hex>` (the
//! distribution spec's tag schema), which the pusher updates itself (`../shared/reference/OCI.md`
//! §2).

use std::collections::BTreeMap;

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::manifest::{
    ImageIndex, ImageManifest, EMPTY_CONTENT, MEDIA_TYPE_EMPTY, MEDIA_TYPE_IMAGE_MANIFEST,
};

/// A Sigstore bundle v0.3's media type, the referrer's `artifactType` and its layer's type.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The prefix every Sigstore bundle media type shares.
pub const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// Referrer annotation: what the bundle holds, [`BundleContent`].
pub const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
/// Referrer annotation: the statement's predicate type, for a DSSE bundle.
pub const ANNOTATION_BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// Referrer annotation: when it was made (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// What a bundle referrer holds, as its [`ANNOTATION_BUNDLE_CONTENT`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleContent {
    /// A DSSE envelope (cosign 3 signs images so, and attestations always).
    DsseEnvelope,
    /// A message signature.
    MessageSignature,
}

impl BundleContent {
    /// The annotation's value.
    pub fn annotation(self) -> &'static str {
        match self {
            BundleContent::DsseEnvelope => "dsse-envelope",
            BundleContent::MessageSignature => "message-signature",
        }
    }
}

/// A bundle referrer ready to push: the config blob ([`EMPTY_CONTENT`]), the bundle blob, then
/// the manifest by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReferrer {
    /// The manifest's bytes, exactly as pushed.
    pub manifest: Vec<u8>,
    /// The manifest's descriptor as an index of referrers lists it (artifact type and
    /// annotations included).
    pub descriptor: Descriptor,
}

/// The referrer manifest attaching `bundle` (a v0.3 bundle's JSON) to `subject`. `created` is an
/// RFC 3339 time the caller supplies.
pub fn bundle_referrer(
    bundle: &[u8],
    subject: Descriptor,
    content: BundleContent,
    predicate_type: Option<&str>,
    created: &str,
) -> BundleReferrer {
    let mut annotations = BTreeMap::from([
        (
            ANNOTATION_BUNDLE_CONTENT.to_string(),
            content.annotation().to_string(),
        ),
        (ANNOTATION_CREATED.to_string(), created.to_string()),
    ]);
    if let Some(predicate_type) = predicate_type {
        annotations.insert(
            ANNOTATION_BUNDLE_PREDICATE_TYPE.to_string(),
            predicate_type.to_string(),
        );
    }
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.to_string()),
        artifact_type: Some(BUNDLE_ARTIFACT_TYPE.to_string()),
        config: Descriptor::of(MEDIA_TYPE_EMPTY, EMPTY_CONTENT),
        layers: vec![Descriptor::of(BUNDLE_ARTIFACT_TYPE, bundle)],
        subject: Some(Descriptor {
            annotations: BTreeMap::new(),
            platform: None,
            ..subject
        }),
        annotations: annotations.clone(),
    };
    let bytes = manifest.to_json();
    let descriptor = Descriptor {
        artifact_type: Some(BUNDLE_ARTIFACT_TYPE.to_string()),
        annotations,
        ..Descriptor::of(MEDIA_TYPE_IMAGE_MANIFEST, &bytes)
    };
    BundleReferrer {
        manifest: bytes,
        descriptor,
    }
}

/// Whether a referrer listed in an index may be a Sigstore bundle, so worth fetching. Listings
/// differ: the referrers API copies the manifest's `artifactType`; the tag-schema fallback
/// written by cosign ≤ 3.0 (go-containerregistry ≤ 0.21.3) names the *config* media type there
/// instead, and some fallback writers drop it. Only a descriptor that names another artifact
/// type is passed over; what is fetched is then judged by [`is_bundle_manifest`].
pub fn may_be_bundle(descriptor: &Descriptor) -> bool {
    match descriptor.artifact_type.as_deref() {
        None | Some(MEDIA_TYPE_EMPTY) => true,
        Some(t) => t.starts_with(BUNDLE_MEDIA_TYPE_PREFIX),
    }
}

/// Whether a referrer manifest holds a Sigstore bundle: exactly one layer, of a bundle media
/// type (cosign's rule, `pkg/oci/remote/signatures.go`).
pub fn is_bundle_manifest(manifest: &ImageManifest) -> bool {
    matches!(manifest.layers.as_slice(), [layer] if layer.media_type.starts_with(BUNDLE_MEDIA_TYPE_PREFIX))
}

/// The tag of the fallback index listing the referrers of the manifest with `digest`:
/// `sha256-<hex>` (distribution-spec, "Referrers Tag Schema").
pub fn fallback_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm().name(), digest.hex())
}

/// The fallback index after adding `referrer`: the existing index (or a new one) with any
/// earlier entry of the same digest replaced, so re-pushing is idempotent. Pushed whole in one
/// PUT, so a reader sees the old index or the new one, never a half-written one.
pub fn add_to_fallback_index(existing: Option<ImageIndex>, referrer: Descriptor) -> ImageIndex {
    let mut index = existing.unwrap_or_default();
    index.manifests.retain(|d| d.digest != referrer.digest);
    index.manifests.push(referrer);
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Manifest, MEDIA_TYPE_IMAGE_INDEX};

    fn image() -> Descriptor {
        let mut d = Descriptor::of(MEDIA_TYPE_IMAGE_MANIFEST, b"an image manifest");
        d.annotations.insert("dropped".into(), "from the subject".into());
        d
    }

    #[test]
    fn a_bundle_referrer_has_cosign_3s_shape() {
        let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
        let r = bundle_referrer(
            bundle,
            image(),
            BundleContent::DsseEnvelope,
            Some("https://sigstore.dev/cosign/sign/v1"),
            "2026-12-07T16:00:00Z",
        );
        assert!(r.descriptor.describes(&r.manifest));
        let Manifest::Image(m) = Manifest::parse(None, &r.manifest).unwrap() else {
            panic!("an image manifest")
        };
        assert_eq!(m.artifact_type.as_deref(), Some(BUNDLE_ARTIFACT_TYPE));
        assert_eq!(m.config.media_type, MEDIA_TYPE_EMPTY);
        assert_eq!(
            m.config.digest.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(m.config.size, 2);
        assert!(m.layers[0].describes(bundle));
        let subject = m.subject.as_ref().unwrap();
        assert_eq!(subject.digest, image().digest);
        assert!(subject.annotations.is_empty());
        assert_eq!(m.annotations[ANNOTATION_BUNDLE_CONTENT], "dsse-envelope");
        assert_eq!(
            m.annotations[ANNOTATION_BUNDLE_PREDICATE_TYPE],
            "https://sigstore.dev/cosign/sign/v1"
        );
        assert!(is_bundle_manifest(&m));
        assert!(may_be_bundle(&r.descriptor));
    }

    #[test]
    fn listings_from_every_writer_are_considered_and_others_passed_over() {
        let mut d = Descriptor::of(MEDIA_TYPE_IMAGE_MANIFEST, b"x");
        assert!(may_be_bundle(&d), "a fallback entry without artifactType");
        d.artifact_type = Some(MEDIA_TYPE_EMPTY.into());
        assert!(may_be_bundle(&d), "cosign <= 3.0's fallback entry");
        d.artifact_type = Some("application/vnd.dev.sigstore.bundle+json;version=0.3".into());
        assert!(may_be_bundle(&d));
        d.artifact_type = Some("application/spdx+json".into());
        assert!(!may_be_bundle(&d));
    }

    #[test]
    fn the_fallback_index_gains_each_referrer_once() {
        let a = bundle_referrer(b"a", image(), BundleContent::DsseEnvelope, None, "t").descriptor;
        let b = bundle_referrer(b"b", image(), BundleContent::MessageSignature, None, "t").descriptor;
        let index = add_to_fallback_index(None, a.clone());
        let index = add_to_fallback_index(Some(index), b.clone());
        let index = add_to_fallback_index(Some(index), a.clone());
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(index.media_type.as_deref(), Some(MEDIA_TYPE_IMAGE_INDEX));
        let Manifest::Index(again) = Manifest::parse(None, &index.to_json()).unwrap() else {
            panic!("an index")
        };
        assert_eq!(*again, index);
        assert_eq!(
            fallback_tag(&image().digest),
            format!("sha256-{}", image().digest.hex())
        );
    }
}
