//! Signing keys in PKCS#11 tokens (HSMs, smart cards, SoftHSM) for every signet service and
//! the client: RFC 7512 URIs ([`Pkcs11Uri`]) and [`Pkcs11Signer`], a
//! [`signet_crypto::Signer`] whose private key never leaves the token (no extraction;
//! `CKA_SENSITIVE`, non-extractable keys work). It sits beside `signet-keyfile` and below the
//! services; it must not depend on an async runtime or a service crate (the client uses it).
//!
//! Crates and why:
//! - `cryptoki` 0.12 (Parsec project, Apache-2.0): the maintained, safe Rust wrapper of the
//!   PKCS#11 C API (loads the module with `libloading`, typed return values, sessions that are
//!   `Send` but not `Sync`, as PKCS#11 wants). The older `pkcs11` crate is unmaintained, and
//!   hand-written FFI would put `unsafe` in signet.
//! - `zeroize`: the PIN is wiped from memory when dropped.
//!
//! What the signer does with the token: see [`signer`]. Sharing one module between services:
//! see `module.rs`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod encoding;
pub mod keygen;
mod module;
pub mod signer;
pub mod softhsm;
pub mod uri;

pub use keygen::{generate_key_pair, KeygenType};
pub use signer::{Pkcs11Error, Pkcs11Signer};
pub use uri::{ObjectType, Pkcs11Uri, UriError, MAX_URI_LEN};

/// True when `text` is a PKCS#11 URI (rather than a key file path): it starts with `pkcs11:`.
pub fn is_pkcs11_uri(text: &str) -> bool {
    text.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("pkcs11:"))
}
