//! OCI and cosign formats (signet-oci) on arbitrary bytes: `Manifest::parse` (with and without
//! a content type), `SimpleSigning::parse_for`, `RekorBundle::from_json`, `Digest` and
//! `ImageReference` parsing.
//! What parses survives signet's serialisation: a manifest or index signet writes back parses to
//! the same value, a digest prints as the text it was read from, a payload accepted for an
//! image names exactly that image, a Rekor bundle round-trips with a canonical SET message, and
//! a reference prints as text that parses back to it; a legacy signature layer's annotations
//! (a JSON object of strings) read as a bundle without panicking, and a bundle read from them
//! holds the payload's SHA-256 as its message digest.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_oci::cosign::{RekorBundle, SimpleSigning};
use signet_oci::manifest::{MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::{Digest, ImageReference, Manifest};

fuzz_target!(|data: &[u8]| {
    for content_type in [
        None,
        Some(MEDIA_TYPE_IMAGE_MANIFEST),
        Some(MEDIA_TYPE_IMAGE_INDEX),
    ] {
        if let Ok(manifest) = Manifest::parse(content_type, data) {
            let written = match &manifest {
                Manifest::Image(m) => m.to_json(),
                Manifest::Index(i) => i.to_json(),
            };
            let again = Manifest::parse(None, &written).expect("what signet writes parses");
            assert_eq!(again, manifest, "a manifest changed in a round trip");
        }
    }
    let image = Digest::sha256(data);
    if let Ok(payload) = SimpleSigning::parse_for(data, &image) {
        assert_eq!(
            payload
                .critical
                .image
                .docker_manifest_digest
                .parse::<Digest>()
                .ok(),
            Some(image.clone())
        );
    }
    if let Some(text) = signet_fuzz::text(data) {
        if let Ok(digest) = text.parse::<Digest>() {
            assert_eq!(digest.to_string(), text, "a digest is not canonical");
        }
        if let Ok(annotations) = serde_json::from_str::<std::collections::BTreeMap<String, String>>(text) {
            if let Ok(bundle) = signet_oci::cosign::legacy_signature_bundle(data, &annotations) {
                let signet_formats::bundle::BundleContent::MessageSignature(m) = &bundle.content else {
                    panic!("a legacy layer is a message signature");
                };
                assert_eq!(m.message_digest.as_ref().unwrap().digest, image.bytes());
            }
        }
        if let Ok(reference) = ImageReference::parse(text) {
            let printed = reference.to_string();
            assert_eq!(
                ImageReference::parse(&printed).as_ref(),
                Ok(&reference),
                "{printed}"
            );
        }
        if let Ok(bundle) = RekorBundle::from_json(text) {
            assert_eq!(RekorBundle::from_json(&bundle.to_json()).unwrap(), bundle);
            let message = bundle.signed_message();
            assert_eq!(
                signet_formats::canonical_json::canonicalize(&message).unwrap(),
                message,
                "the SET message is not canonical"
            );
        }
    }
});
