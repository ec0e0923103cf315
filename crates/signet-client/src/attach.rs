//! `signet attach sbom IMAGE --sbom FILE --type spdx|cyclonedx|syft` (cosign's `attach sbom`):
//! the SBOM, unsigned, as the one layer of an image under the image's `sha256-<hex>.sbom` tag,
//! where cosign 1 and 2 put it and `download sbom` and `tree` find it.
//!
//! As cosign (`cmd/cosign/cli/attach/sbom.go`, `options/attach.go`): the image is resolved once
//! and the tag names its digest; the layer's media type comes from `--type`, and for the types
//! with two forms from `--input-format` or, without it, from whether the file name ends in
//! `.json`; the image is cosign's `static.NewFile` ([`signet_oci::attachment::file_image`]); a
//! second attachment replaces the first (the tag is overwritten, not appended to). The SBOM is
//! read whole and bounded (cosign's 128 MiB attachment limit), and the tag is written last, by
//! one PUT of the complete manifest, after both blobs are in the registry.
//!
//! cosign calls this deprecated and recommends a signed SBOM attestation instead, which is
//! `signet attest --type cyclonedx|spdxjson`; the command says so.

use std::path::Path;

use anyhow::{bail, Context};
use signet_oci::attachment::file_image;
use signet_oci::cosign::{attachment_tag, sbom_media_type, Attachment};
use signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST;
use signet_oci::ImageReference;

use crate::oci::{Registry, RegistryOptions};

/// The largest SBOM attached or downloaded: cosign's limit on an attachment's layer.
pub const MAX_ATTACHMENT_BYTES: u64 = 128 << 20;

/// The SBOM types `--type` takes, as cosign names them.
pub const SBOM_TYPES: &[&str] = &["spdx", "cyclonedx", "syft"];

/// What `attach_sbom` did.
#[derive(Debug, Clone)]
pub struct AttachedSbom {
    /// The image, pinned to the digest the attachment is for.
    pub image: ImageReference,
    /// Where the SBOM went: `registry/repository:sha256-<hex>.sbom`.
    pub destination: String,
    /// The layer's media type.
    pub media_type: &'static str,
}

/// The layer media type for an SBOM of `kind` (`spdx`, `cyclonedx`, `syft`) in `input_format`
/// (`json`, `xml`, `text`, or unsaid), in the file `name`: cosign's rule, where an unsaid
/// format is JSON when the name ends in `.json`.
pub fn sbom_layer_media_type(
    kind: &str,
    input_format: Option<&str>,
    name: &str,
) -> anyhow::Result<&'static str> {
    let allowed: &[&str] = match kind {
        "spdx" => &["json", "text"],
        "cyclonedx" => &["json", "xml"],
        "syft" => &["json"],
        _ => bail!(
            "unknown SBOM type {kind:?}, expected one of {}",
            SBOM_TYPES.join(", ")
        ),
    };
    if let Some(format) = input_format {
        if !allowed.contains(&format) {
            bail!(
                "invalid SBOM input format {format:?} for --type {kind}, expected {}",
                allowed.join(" or ")
            );
        }
    }
    let json = input_format == Some("json") || (input_format.is_none() && name.ends_with(".json"));
    Ok(sbom_media_type(kind, json).expect("every kind allowed above has a media type"))
}

/// Reads the SBOM: a file, or standard input for `-`; at most [`MAX_ATTACHMENT_BYTES`].
pub fn read_sbom(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        use std::io::Read;
        let mut data = Vec::new();
        std::io::stdin()
            .take(MAX_ATTACHMENT_BYTES + 1)
            .read_to_end(&mut data)
            .context("reading the SBOM from standard input")?;
        if data.len() as u64 > MAX_ATTACHMENT_BYTES {
            bail!("the SBOM on standard input is larger than {MAX_ATTACHMENT_BYTES} bytes");
        }
        return Ok(data);
    }
    crate::files::read_limited(path, "SBOM", MAX_ATTACHMENT_BYTES)
}

/// Attaches `sbom` (its bytes, of `media_type`) to `image` under its `.sbom` tag.
pub fn attach_sbom(
    image: &str,
    sbom: &[u8],
    media_type: &'static str,
    registry_options: &RegistryOptions,
) -> anyhow::Result<AttachedSbom> {
    let reference = ImageReference::parse(image)?;
    let http = registry_options.http()?;
    let image_registry = Registry::new(&http, reference.api_host(), registry_options)?;
    let (digest, _) = crate::image::image_digest(&image_registry, &reference)?;
    // Kept with the signatures: beside the image, or in the signature repository.
    let (elsewhere, sig_repo) = crate::image::signature_registry(&http, registry_options, &reference)?;
    let registry = elsewhere.unwrap_or(image_registry);
    let repo = sig_repo.as_str();
    let pinned = reference.with_digest(digest.clone());
    let Some(tag) = attachment_tag(&digest, Attachment::Sbom) else {
        bail!(
            "{pinned}: cosign's attachment tags name sha256 digests, not {}",
            digest.algorithm().name()
        );
    };
    let destination = format!("{}/{repo}:{tag}", registry.host());
    let attachment = file_image(sbom, media_type);
    let push = |what: &str, r: anyhow::Result<signet_oci::Digest>| {
        r.with_context(|| format!("attaching the SBOM to {pinned}: {what}"))
    };
    push("the SBOM", registry.push_blob(repo, sbom))?;
    push("the config", registry.push_blob(repo, &attachment.config))?;
    push(
        "the manifest",
        registry.push_manifest(
            repo,
            &tag,
            MEDIA_TYPE_IMAGE_MANIFEST,
            &attachment.manifest.to_json(),
        ),
    )?;
    Ok(AttachedSbom {
        image: pinned,
        destination,
        media_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_as_cosign_picks_them() {
        let t = |kind, format, name| sbom_layer_media_type(kind, format, name).unwrap();
        assert_eq!(t("cyclonedx", None, "bom.json"), "application/vnd.cyclonedx+json");
        assert_eq!(t("cyclonedx", None, "bom.xml"), "application/vnd.cyclonedx+xml");
        assert_eq!(
            t("cyclonedx", Some("json"), "bom"),
            "application/vnd.cyclonedx+json"
        );
        assert_eq!(t("spdx", None, "sbom.spdx"), "text/spdx");
        assert_eq!(t("spdx", None, "sbom.spdx.json"), "text/spdx+json");
        assert_eq!(t("spdx", Some("text"), "x.json"), "text/spdx");
        assert_eq!(t("syft", None, "anything"), "application/vnd.syft+json");
        assert!(sbom_layer_media_type("cyclonedx", Some("text"), "x").is_err());
        assert!(sbom_layer_media_type("syft", Some("xml"), "x").is_err());
        let unknown = sbom_layer_media_type("cdx", None, "x").unwrap_err().to_string();
        assert!(unknown.contains("spdx, cyclonedx, syft"), "{unknown}");
    }
}
