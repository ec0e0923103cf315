//! What the agent holds and the decisions it makes, pure: a [`Keyring`] answers a
//! [`Request`] at a time given as an argument. No sockets and no clock here; the server
//! (`server.rs`) does the I/O around it.

use std::collections::BTreeMap;

use signet_crypto::{CryptoError, KeyKind, SigningKey};
use signet_x509::{read_identity, FulcioError, ParsedCertificate};
use thiserror::Error;

use super::protocol::{check_scope, CredentialStatus, ProtocolError, Refusal, Request, Response};

/// A credential is served only while `now + EXPIRY_MARGIN_SECS < notAfter`: a signature made
/// in the last minute of the certificate could reach the log after it expired, and the
/// signing program still has its own work to do (timestamps, log upload) after signing.
pub const EXPIRY_MARGIN_SECS: i64 = 60;

/// The most credentials held at once; storing one more drops the one that expires first.
pub(crate) const MAX_CREDENTIALS: usize = 64;

/// Why a store request's key or chain was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(crate) enum CredentialError {
    /// The scope is empty or too long.
    #[error(transparent)]
    Scope(#[from] ProtocolError),
    /// The key is not a PKCS#8 private key signet reads.
    #[error("the key is not a PKCS#8 private key: {0}")]
    Key(CryptoError),
    /// The key cannot sign a SHA-256 digest with ecdsa-with-SHA256.
    #[error("the agent signs SHA-256 digests, which takes an ECDSA P-256 key; this key is {0}")]
    UnsupportedKey(KeyKind),
    /// A certificate of the chain is not DER X.509.
    #[error("certificate {index} of the chain (0 is the leaf) is not DER X.509: {reason}")]
    Certificate {
        /// Its position, 0 for the leaf.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// The leaf's public key does not parse.
    #[error("the leaf certificate's public key does not parse: {0}")]
    LeafKey(String),
    /// The leaf certifies another key.
    #[error("the leaf certificate certifies a different public key than the key being stored")]
    KeyMismatch,
    /// The leaf names no signer identity.
    #[error("the leaf certificate names no signer identity: {0}")]
    Identity(FulcioError),
    /// The leaf is expired or expires within the margin.
    #[error(
        "the leaf certificate's notAfter is {not_after} (Unix seconds), not more than \
         {EXPIRY_MARGIN_SECS} s after now ({now}); there is nothing to keep"
    )]
    Expired {
        /// The leaf's notAfter.
        not_after: i64,
        /// The time of the request.
        now: i64,
    },
}

/// One scope's credential. Its key is wiped when it is dropped (see `SigningKey`).
struct Credential {
    key: SigningKey,
    chain: Vec<Vec<u8>>,
    identity: String,
    not_after: i64,
}

impl Credential {
    fn is_fresh(&self, now: i64) -> bool {
        now.saturating_add(EXPIRY_MARGIN_SECS) < self.not_after
    }
}

/// The credentials the agent holds, by scope.
#[derive(Default)]
pub(crate) struct Keyring {
    credentials: BTreeMap<String, Credential>,
}

impl Keyring {
    pub(crate) fn new() -> Keyring {
        Keyring::default()
    }

    /// The answer to `request` at `now` (Unix seconds). `Stop` is the server's to act on;
    /// here it is only acknowledged.
    pub(crate) fn answer(&mut self, request: Request, now: i64) -> Response {
        self.purge_expired(now);
        match request {
            Request::Sign { scope, digest } => match self.credentials.get(&scope) {
                None => Response::Refused {
                    error: Refusal::NoCredential,
                    message: None,
                },
                Some(credential) => match credential.key.sign_digest(&digest) {
                    Ok(signature) => Response::Signature {
                        signature,
                        chain: credential.chain.clone(),
                    },
                    Err(e) => Response::refused(Refusal::SignFailed, e),
                },
            },
            Request::Store { scope, key, chain } => match self.store(scope, &key, chain, now) {
                Ok(()) => Response::Done,
                Err(e) => Response::refused(Refusal::BadCredential, e),
            },
            Request::Status => Response::Status(
                self.credentials
                    .iter()
                    .map(|(scope, c)| CredentialStatus {
                        scope: scope.clone(),
                        identity: c.identity.clone(),
                        not_after: c.not_after,
                    })
                    .collect(),
            ),
            Request::Forget => {
                self.credentials.clear();
                Response::Done
            }
            Request::Stop => Response::Done,
        }
    }

    /// Validates and keeps `key` and `chain` for `scope`, replacing what was held for it.
    fn store(
        &mut self,
        scope: String,
        pkcs8: &[u8],
        chain: Vec<Vec<u8>>,
        now: i64,
    ) -> Result<(), CredentialError> {
        check_scope(&scope)?;
        let key = SigningKey::from_pkcs8_der(pkcs8).map_err(CredentialError::Key)?;
        if key.public_key().kind() != KeyKind::EcdsaP256 {
            return Err(CredentialError::UnsupportedKey(key.public_key().kind()));
        }
        let parsed = chain
            .iter()
            .enumerate()
            .map(|(index, der)| {
                ParsedCertificate::from_der(der).map_err(|e| CredentialError::Certificate {
                    index,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let leaf = parsed.first().ok_or(CredentialError::Certificate {
            index: 0,
            reason: "the chain is empty".into(),
        })?;
        if &leaf.public_key().map_err(CredentialError::LeafKey)? != key.public_key() {
            return Err(CredentialError::KeyMismatch);
        }
        let (_, not_after) = leaf.validity();
        let credential = Credential {
            identity: read_identity(&leaf.der)
                .map_err(CredentialError::Identity)?
                .san
                .value()
                .to_owned(),
            key,
            chain,
            not_after,
        };
        if !credential.is_fresh(now) {
            return Err(CredentialError::Expired { not_after, now });
        }
        while self.credentials.len() >= MAX_CREDENTIALS && !self.credentials.contains_key(&scope) {
            self.drop_first_to_expire();
        }
        self.credentials.insert(scope, credential);
        Ok(())
    }

    fn drop_first_to_expire(&mut self) {
        let first = self
            .credentials
            .iter()
            .min_by_key(|(_, c)| c.not_after)
            .map(|(scope, _)| scope.clone());
        if let Some(scope) = first {
            self.credentials.remove(&scope);
        }
    }

    /// Drops (and so wipes) every credential that is no longer served.
    pub(crate) fn purge_expired(&mut self, now: i64) {
        self.credentials.retain(|_, c| c.is_fresh(now));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }

    /// When the next credential stops being served, Unix seconds.
    pub(crate) fn next_expiry(&self) -> Option<i64> {
        self.credentials
            .values()
            .map(|c| c.not_after.saturating_sub(EXPIRY_MARGIN_SECS))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_pki::{fulcio_chain, T0};
    use super::*;
    use signet_crypto::{sha256, PublicKeyDetails};
    use zeroize::Zeroizing;

    fn store(scope: &str, key: &SigningKey, chain: &[Vec<u8>]) -> Request {
        Request::Store {
            scope: scope.into(),
            key: Zeroizing::new(key.pkcs8_der().to_vec()),
            chain: chain.to_vec(),
        }
    }

    fn sign(scope: &str, digest: [u8; 32]) -> Request {
        Request::Sign {
            scope: scope.into(),
            digest,
        }
    }

    fn no_credential() -> Response {
        Response::Refused {
            error: Refusal::NoCredential,
            message: None,
        }
    }

    fn refused_message(response: Response) -> String {
        match response {
            Response::Refused {
                error: Refusal::BadCredential,
                message: Some(m),
            } => m,
            other => panic!("expected a bad-credential refusal, got {other:?}"),
        }
    }

    #[test]
    fn stored_credential_signs_for_its_scope_only() {
        let (key, chain) = fulcio_chain("me@example.com", T0, T0 + 600);
        let mut ring = Keyring::new();
        assert_eq!(ring.answer(sign("a", [1; 32]), T0), no_credential());
        assert_eq!(ring.answer(store("a", &key, &chain), T0), Response::Done);
        let digest = sha256(b"tree 1234\n");
        let Response::Signature {
            signature,
            chain: served,
        } = ring.answer(sign("a", digest), T0 + 1)
        else {
            panic!("no signature");
        };
        assert_eq!(served, chain);
        key.public_key()
            .verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &digest, &signature)
            .unwrap();
        assert_eq!(ring.answer(sign("b", digest), T0 + 1), no_credential());
        assert_eq!(
            ring.answer(Request::Status, T0 + 1),
            Response::Status(vec![CredentialStatus {
                scope: "a".into(),
                identity: "me@example.com".into(),
                not_after: T0 + 600,
            }])
        );
        assert_eq!(ring.answer(Request::Forget, T0 + 2), Response::Done);
        assert_eq!(ring.answer(sign("a", digest), T0 + 2), no_credential());
        assert!(ring.is_empty());
    }

    #[test]
    fn a_key_not_matching_the_leaf_is_refused() {
        let (_, chain) = fulcio_chain("me@example.com", T0, T0 + 600);
        let (other, _) = fulcio_chain("me@example.com", T0, T0 + 600);
        let mut ring = Keyring::new();
        let message = refused_message(ring.answer(store("a", &other, &chain), T0));
        assert!(message.contains("different public key"), "{message}");
        assert!(ring.is_empty());
    }

    #[test]
    fn an_expired_leaf_is_refused_and_not_served_after_expiry() {
        let (key, chain) = fulcio_chain("me@example.com", T0, T0 + 600);
        let mut ring = Keyring::new();
        // Within the margin of notAfter: refused.
        let message = refused_message(ring.answer(store("a", &key, &chain), T0 + 540));
        assert!(message.contains("notAfter"), "{message}");
        assert!(ring.is_empty());
        // Stored in time, then served until the margin, not after.
        assert_eq!(ring.answer(store("a", &key, &chain), T0 + 100), Response::Done);
        assert_eq!(ring.next_expiry(), Some(T0 + 540));
        assert!(matches!(
            ring.answer(sign("a", [0; 32]), T0 + 539),
            Response::Signature { .. }
        ));
        assert_eq!(ring.answer(sign("a", [0; 32]), T0 + 540), no_credential());
        assert!(ring.is_empty(), "the expired credential was purged");
    }

    #[test]
    fn garbage_keys_and_chains_are_refused_by_name() {
        let (key, chain) = fulcio_chain("me@example.com", T0, T0 + 600);
        let mut ring = Keyring::new();
        let bad_key = Request::Store {
            scope: "a".into(),
            key: Zeroizing::new(b"not a key".to_vec()),
            chain: chain.clone(),
        };
        assert!(refused_message(ring.answer(bad_key, T0)).contains("PKCS#8"));
        let p384 = SigningKey::generate(KeyKind::EcdsaP384).unwrap();
        assert!(refused_message(ring.answer(store("a", &p384, &chain), T0)).contains("P-256"));
        let mut broken = chain.clone();
        broken[1].truncate(10);
        let message = refused_message(ring.answer(store("a", &key, &broken), T0));
        assert!(message.contains("certificate 1"), "{message}");
        assert!(refused_message(ring.answer(store("", &key, &chain), T0)).contains("scope is empty"));
        assert!(ring.is_empty());
    }

    #[test]
    fn a_new_credential_replaces_the_old_and_the_ring_is_bounded() {
        let (old, old_chain) = fulcio_chain("old@example.com", T0, T0 + 600);
        let (new, new_chain) = fulcio_chain("new@example.com", T0, T0 + 700);
        let mut ring = Keyring::new();
        assert_eq!(ring.answer(store("a", &old, &old_chain), T0), Response::Done);
        assert_eq!(ring.answer(store("a", &new, &new_chain), T0), Response::Done);
        let Response::Signature { signature, chain } = ring.answer(sign("a", [3; 32]), T0) else {
            panic!("no signature");
        };
        assert_eq!(chain, new_chain);
        new.public_key()
            .verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &[3; 32], &signature)
            .unwrap();

        for i in 0..MAX_CREDENTIALS {
            assert_eq!(
                ring.answer(store(&format!("s{i}"), &old, &old_chain), T0),
                Response::Done
            );
        }
        assert_eq!(ring.credentials.len(), MAX_CREDENTIALS);
        // The one expiring last ("a", T0 + 700) is kept.
        assert!(matches!(
            ring.answer(sign("a", [3; 32]), T0),
            Response::Signature { .. }
        ));
    }
}
