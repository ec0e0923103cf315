//! cosign's legacy attachment images: a file (an SBOM for `attach sbom`) pushed as an image of
//! one layer under the `sha256-<hex>.sbom` tag, built as cosign builds it with
//! go-containerregistry (`pkg/oci/static/file.go` `NewFile`: `empty.Image`, the OCI manifest
//! media type, an OCI image config, one layer appended with `mutate.Append`). The layer is the
//! file's bytes as they are, with the media type that says what they are
//! ([`crate::cosign::sbom_media_type`]). No annotations and no creation time: cosign's `attach
//! sbom` sets neither.

use crate::descriptor::Descriptor;
use crate::manifest::{ImageManifest, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST};

/// An attachment image: the blobs to push (config, then layer), then the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileImage {
    /// The image config's bytes.
    pub config: Vec<u8>,
    /// The manifest, whose config and one layer describe `config` and the file.
    pub manifest: ImageManifest,
}

/// The image cosign pushes for a file of `media_type`. The config is the one go-containerregistry
/// writes for its empty image with one layer added: zero architecture, OS and times, one
/// history entry, and the layer's digest as its `diff_id` (the layer is not compressed, so the
/// two digests are the same).
pub fn file_image(content: &[u8], media_type: &str) -> FileImage {
    let layer = Descriptor::of(media_type, content);
    // Field order and zero values as Go's encoding/json writes ggcr's `v1.ConfigFile`.
    let config = format!(
        r#"{{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{{"created":"0001-01-01T00:00:00Z"}}],"os":"","rootfs":{{"type":"layers","diff_ids":["{}"]}},"config":{{}}}}"#,
        layer.digest
    )
    .into_bytes();
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.to_string()),
        artifact_type: None,
        config: Descriptor::of(MEDIA_TYPE_IMAGE_CONFIG, &config),
        layers: vec![layer],
        subject: None,
        annotations: Default::default(),
    };
    FileImage { config, manifest }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Manifest;

    #[test]
    fn one_layer_of_the_file_and_a_config_naming_it() {
        let sbom = br#"{"bomFormat":"CycloneDX"}"#;
        let image = file_image(sbom, "application/vnd.cyclonedx+json");
        let layer = &image.manifest.layers[0];
        assert_eq!(image.manifest.layers.len(), 1);
        assert!(layer.describes(sbom));
        assert_eq!(layer.media_type, "application/vnd.cyclonedx+json");
        assert!(image.manifest.config.describes(&image.config));
        assert_eq!(image.manifest.config.media_type, MEDIA_TYPE_IMAGE_CONFIG);

        let config: serde_json::Value = serde_json::from_slice(&image.config).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], layer.digest.to_string());
        assert_eq!(config["rootfs"]["type"], "layers");

        // What is pushed reads back as the same manifest.
        let json = image.manifest.to_json();
        let Manifest::Image(back) = Manifest::parse(Some(MEDIA_TYPE_IMAGE_MANIFEST), &json).unwrap() else {
            panic!("an image manifest")
        };
        assert_eq!(*back, image.manifest);
        assert!(image.manifest.annotations.is_empty());
    }
}
