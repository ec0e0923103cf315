//! Key types, signature verification and signing, and digests: the bottom layer of signet's
//! pure core. No I/O, no clocks, no async runtime; it must never depend on another signet crate.
//!
//! Crypto is done by `aws-lc-rs` (the rustls default provider): it is the fastest verifier
//! measured on our machines (P-256 verify 54 µs, see shared/reference/CRATES.md) and, unlike
//! `ring`, it verifies ECDSA and RSA signatures over a precomputed digest, which Rekor's
//! `hashedrekord` entries require (the log only ever sees the artifact's digest). Key and
//! certificate encodings are parsed with the RustCrypto `spki`/`x509-cert` types. Ed25519ph
//! (RFC 8032 §5.1, the prehashed variant Rekor accepts for hashedrekord) is not in aws-lc-rs,
//! so that one check uses `ed25519-dalek`. cosign's encrypted key files ([`cosign_key`]) need
//! scrypt and NaCl's secretbox (XSalsa20-Poly1305), which aws-lc-rs lacks: RustCrypto's
//! `scrypt` and `crypto_secretbox` do those.

#![forbid(unsafe_code)]

pub mod cosign_key;
mod digest;
mod ed25519ph;
mod error;
mod keys;
mod signer;
mod signing;

pub use cosign_key::{decrypt_private_key, encrypt_private_key, CosignKeyError};
pub use digest::{sha1_fingerprint, sha256, HashAlgorithm, Hasher};
pub use error::CryptoError;
pub use keys::{KeyKind, PublicKey, PublicKeyDetails};
pub use signer::{Signer, SignerError};
pub use signing::{random_serial, SigningKey};
