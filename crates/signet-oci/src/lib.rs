//! OCI image formats for signet, as cosign reads and writes them: content digests, descriptors,
//! image manifests and indexes (OCI image-spec 1.1), cosign's simple-signing payload, its
//! `sha256-<hex>.sig` / `.att` / `.sbom` tags and layer annotations, and Sigstore bundles
//! attached as OCI 1.1 referrers with the tag-schema fallback index. Part of the pure core: bytes
//! in, values out; no registry, network, files or clock (the registry client lives in
//! signet-client). It must never depend on an I/O crate.
//!
//! The types are written by hand rather than taken from `oci-spec`: signet needs a handful of
//! structures, parsed strictly where a signature depends on them (a digest is
//! `algorithm:lowercase-hex` of the right length, a manifest is a JSON object with
//! `schemaVersion` 2) and leniently elsewhere (unknown fields are ignored, as registries add
//! them), and the manifests signet writes must serialise to exactly the bytes whose digest it
//! pushes. `oci-spec` brings builder and getter derive macros for none of that.
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`digest`] | `sha256:<hex>` content digests | image-spec `descriptor.md` §Digests |
//! | [`descriptor`] | descriptors and platforms | image-spec `descriptor.md`, `image-index.md` |
//! | [`manifest`] | image manifests and indexes, the empty config | image-spec `manifest.md`, `image-index.md` |
//! | [`cosign`] | cosign's legacy format: tags, media types, annotations, the simple-signing payload, the Rekor bundle annotation; `.sig` / `.att` layers read as bundles and written from them, and their manifest | cosign `pkg/oci`, sigstore `pkg/signature/payload` |
//! | [`attachment`] | cosign's legacy attachment image of one file (`attach sbom`): config and manifest | cosign `pkg/oci/static/file.go` |
//! | [`reference`] | image references as the docker CLI reads them (`registry/repo:tag@digest`) | distribution `reference` grammar |
//! | [`referrers`] | a Sigstore bundle as a referrer manifest; the `sha256-<hex>` fallback index | image-spec 1.1 `manifest.md` §subject, distribution-spec §referrers |
//! | [`auth`] | a registry's `WWW-Authenticate` challenge | RFC 7235 §2.1, distribution token auth |

#![forbid(unsafe_code)]

pub mod attachment;
pub mod auth;
pub mod cosign;
pub mod descriptor;
pub mod digest;
pub mod manifest;
pub mod reference;
pub mod referrers;

pub use descriptor::{Descriptor, Platform};
pub use digest::{Digest, DigestAlgorithm, DigestError};
pub use manifest::{ImageIndex, ImageManifest, Manifest, ManifestError};
pub use reference::{ImageReference, ReferenceError};
