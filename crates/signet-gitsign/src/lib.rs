//! gitsign's signature format for git commits and tags, so that signet signs commits that
//! gitsign verifies and verifies commits gitsign signed. Part of the pure core: bytes and
//! times in, values out; no git, files, network or clock (the program git runs is the
//! `signet-git` crate, the flows are signet-client's `git` module). It must never depend on an
//! I/O crate.
//!
//! | module | what | source |
//! |---|---|---|
//! | [`signature`] | the detached CMS SignedData: signed attributes, leaf certificate, unsigned attributes | RFC 5652; gitsign `internal/signature`, smimesign's ietf-cms |
//! | [`tle`] | the transparency-log entry under OID 1.3.6.1.4.1.57264.3.1 (protobuf, body stripped) | protobuf-specs `sigstore_rekor.proto`; gitsign `internal/rekor/oid` |
//! | [`bundle`] | the signature as a Sigstore bundle (body rebuilt), and the entry and timestamp of a bundle moved into a signature | gitsign `docs/bundle-cms.md` |
//! | [`mod@verify`] | verification: payload digest, then the bundle by signet-verify | Sigstore client spec §4 |
//! | [`object`] | where the signature sits in a commit or tag, and what it is over | git `commit.c`, `gpg-interface.c` |
//! | [`armor`] | `-----BEGIN SIGNED MESSAGE-----` | git `gpg-interface.c` |
//! | [`status`] | GnuPG status lines git reads | GnuPG `doc/DETAILS` |
//!
//! The CMS is read and written with RustCrypto's `cms` 0.2 (the release on der 0.7, which
//! signet-x509 uses for RFC 3161); the protobuf entry is seven fields, decoded by hand rather
//! than with a protobuf runtime.

#![forbid(unsafe_code)]

pub mod armor;
pub mod bundle;
pub mod object;
pub mod signature;
pub mod status;
pub mod tle;
pub mod verify;

pub use object::{split_commit, split_tag, ObjectError, ObjectFormat, SignedObject};
pub use signature::{GitSignature, SignatureError, SignedAttributes};
pub use verify::{verify, verify_parsed, GitVerifyError, VerifiedGitSignature};
