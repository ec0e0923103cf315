//! OCI and cosign formats (signet-oci) on arbitrary bytes: `Manifest::parse` (with and without
//! a content type), `SimpleSigning::parse_for`, `RekorBundle::from_json`, `Digest` and
//! `ImageReference` parsing.
//! What parses survives signet's serialisation: a manifest or index signet writes back parses to
//! the same value, a digest prints as the text it was read from, a payload accepted for an
//! image names exactly that image, a Rekor bundle round-trips with a canonical SET message, and
//! a reference prints as text that parses back to it; a legacy signature layer's annotations
//! (a JSON object of strings) read as a bundle without panicking, and a bundle read from them
//! holds the payload's SHA-256 as its message digest. A legacy attestation layer (the input
//! split at its first NUL: the DSSE envelope before, the annotations after) reads as a bundle
//! holding that envelope. A signature or attestation read from a layer and written back as one
//! (`signature_layer`, `attestation_layer`) reads back to the same content and log entry.
//! A registry's `WWW-Authenticate` challenge (`auth::parse_challenge`) parses without panicking,
//! to parameter names in lower case with no surrounding whitespace.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

use signet_formats::bundle::{Bundle, BundleContent};
use signet_oci::cosign::{
    attestation_layer, legacy_attestation_bundle, legacy_signature_bundle, signature_layer, LegacyLayer,
    RekorBundle, SimpleSigning,
};
use signet_oci::manifest::{MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::{Digest, ImageReference, Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (scheme, params) = signet_oci::auth::parse_challenge(text);
        assert!(!scheme.starts_with(char::is_whitespace));
        for name in params.keys() {
            assert_eq!(name.trim(), name);
            assert_eq!(&name.to_ascii_lowercase(), name);
        }
    }
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
        if let Ok(annotations) = serde_json::from_str::<BTreeMap<String, String>>(text) {
            if let Ok(bundle) = legacy_signature_bundle(data, &annotations) {
                let BundleContent::MessageSignature(m) = &bundle.content else {
                    panic!("a legacy layer is a message signature");
                };
                assert_eq!(m.message_digest.as_ref().unwrap().digest, image.bytes());
                if let Ok(layer) = signature_layer(data, &bundle, &[]) {
                    let again = legacy_signature_bundle(&layer.content, &layer.descriptor.annotations);
                    same_as_written(&bundle, &layer, again);
                }
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
    if let Some(split) = data.iter().position(|b| *b == 0) {
        let (envelope, annotations) = (&data[..split], &data[split + 1..]);
        if let Ok(annotations) = serde_json::from_slice::<BTreeMap<String, String>>(annotations) {
            if let Ok(bundle) = legacy_attestation_bundle(envelope, &annotations) {
                let BundleContent::DsseEnvelope(e) = &bundle.content else {
                    panic!("a legacy attestation is a DSSE envelope");
                };
                assert_eq!(
                    signet_formats::dsse::Envelope::from_json(envelope).ok().as_ref(),
                    Some(e)
                );
                if let Ok(layer) = attestation_layer(&bundle, &[]) {
                    let again = legacy_attestation_bundle(&layer.content, &layer.descriptor.annotations);
                    same_as_written(&bundle, &layer, again);
                }
            }
        }
    }
});

/// A layer signet wrote from `bundle` reads back to the same content, certificate, log entry
/// and timestamp.
fn same_as_written(
    bundle: &Bundle,
    layer: &LegacyLayer,
    again: Result<Bundle, signet_oci::cosign::LegacyError>,
) {
    let again = again.unwrap_or_else(|e| panic!("a layer signet wrote does not read back: {e}"));
    assert!(layer.descriptor.describes(&layer.content));
    assert_eq!(again.content, bundle.content);
    let (a, b) = (&again.verification_material, &bundle.verification_material);
    assert_eq!(a.content.leaf_certificate(), b.content.leaf_certificate());
    assert_eq!(a.tlog_entries, b.tlog_entries);
    assert_eq!(
        a.timestamp_verification_data.rfc3161_timestamps,
        b.timestamp_verification_data.rfc3161_timestamps
    );
}
