//! The verifier: parse, find the issuer, check the signature with the issuer's keys, check the
//! registered claims, map the identity. Keys come from a [`KeySource`]; everything else here is
//! pure.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use signet_x509::CertificateIdentity;

use crate::claims::{check_registered_claims, ClaimExpectations};
use crate::config::{IssuerSet, IssuerType};
use crate::jwk::KeySet;
use crate::jws::UnverifiedToken;
use crate::principal::principal_from_claims;
use crate::{KeySourceError, TokenError};

/// Default allowed clock difference between the CA and an issuer.
pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 60;

/// Where an issuer's verification keys come from: [`crate::HttpKeySource`] fetches them by
/// OpenID discovery; [`StaticKeys`] holds keys known in process.
pub trait KeySource: Send + Sync {
    /// The issuer's current key set (cached by the source as it sees fit).
    fn keys(&self, issuer: &str) -> impl Future<Output = Result<Arc<KeySet>, KeySourceError>> + Send;

    /// Called when `stale` (an earlier answer of [`Self::keys`]) has no key for a token: the
    /// source may fetch again, subject to its own rate limit, and returns the newest set it
    /// has (possibly `stale` itself).
    fn refresh(
        &self,
        issuer: &str,
        stale: &Arc<KeySet>,
    ) -> impl Future<Output = Result<Arc<KeySet>, KeySourceError>> + Send;
}

impl<K: KeySource> KeySource for Arc<K> {
    fn keys(&self, issuer: &str) -> impl Future<Output = Result<Arc<KeySet>, KeySourceError>> + Send {
        (**self).keys(issuer)
    }

    fn refresh(
        &self,
        issuer: &str,
        stale: &Arc<KeySet>,
    ) -> impl Future<Output = Result<Arc<KeySet>, KeySourceError>> + Send {
        (**self).refresh(issuer, stale)
    }
}

/// Key sets fixed at construction, by issuer URL: for tests, and for an issuer in the same
/// process (the development provider) whose keys need no fetching.
#[derive(Debug, Clone, Default)]
pub struct StaticKeys {
    sets: HashMap<String, Arc<KeySet>>,
}

impl StaticKeys {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_issuer(mut self, issuer: impl Into<String>, keys: KeySet) -> Self {
        self.sets.insert(issuer.into(), Arc::new(keys));
        self
    }
}

impl KeySource for StaticKeys {
    async fn keys(&self, issuer: &str) -> Result<Arc<KeySet>, KeySourceError> {
        self.sets
            .get(issuer)
            .cloned()
            .ok_or_else(|| KeySourceError::NoKeysForIssuer {
                issuer: issuer.to_owned(),
            })
    }

    async fn refresh(&self, issuer: &str, _stale: &Arc<KeySet>) -> Result<Arc<KeySet>, KeySourceError> {
        self.keys(issuer).await
    }
}

/// A token that passed every check, and what the CA needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The token's `iss` (for a meta issuer, the concrete URL).
    pub issuer: String,
    pub issuer_type: IssuerType,
    /// The token's `sub`.
    pub subject: String,
    /// The SAN and Fulcio extensions for the certificate.
    pub identity: CertificateIdentity,
    /// The value the client's proof of possession signs: the email for `email` issuers, else
    /// `sub`, or the issuer's configured `ChallengeClaim`.
    pub challenge: String,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
    /// `iat`, Unix seconds.
    pub issued_at: i64,
    /// The `kid` of the key that verified the signature.
    pub key_id: Option<String>,
}

/// Checks identity tokens against a set of trusted issuers.
#[derive(Debug, Clone)]
pub struct TokenVerifier<K> {
    issuers: IssuerSet,
    keys: K,
    clock_skew: i64,
}

impl<K: KeySource> TokenVerifier<K> {
    pub fn new(issuers: IssuerSet, keys: K) -> Self {
        TokenVerifier {
            issuers,
            keys,
            clock_skew: DEFAULT_CLOCK_SKEW_SECS,
        }
    }

    /// Sets the allowed clock difference (default 60 s).
    pub fn with_clock_skew(mut self, secs: u32) -> Self {
        self.clock_skew = i64::from(secs);
        self
    }

    pub fn issuers(&self) -> &IssuerSet {
        &self.issuers
    }

    pub fn key_source(&self) -> &K {
        &self.keys
    }

    /// Verifies `token` at time `now_unix` (seconds).
    pub async fn verify(&self, token: &str, now_unix: i64) -> Result<VerifiedToken, TokenError> {
        let token = UnverifiedToken::parse(token)?;
        // The unverified `iss` only chooses whose keys to try; it is checked again below.
        let iss = token.unverified_claims().required_string("iss")?;
        if self.issuers.lookup(iss).is_none() {
            return Err(TokenError::UnknownIssuer {
                issuer: iss.to_owned(),
            });
        }
        let unavailable = |source| TokenError::KeysUnavailable {
            issuer: iss.to_owned(),
            source,
        };
        let keys = self.keys.keys(iss).await.map_err(unavailable)?;
        let key_id = match token.verify_signature(iss, &keys) {
            Ok(key) => key.kid().map(str::to_owned),
            Err(e) if warrants_refresh(&e) => {
                let fresh = self.keys.refresh(iss, &keys).await.map_err(unavailable)?;
                let key = token.verify_signature(iss, &fresh)?;
                key.kid().map(str::to_owned)
            }
            Err(e) => return Err(e),
        };
        verify_claims(&token, &self.issuers, now_unix, self.clock_skew, key_id)
    }
}

/// A key set fetched before the issuer rotated its keys fails with these.
fn warrants_refresh(e: &TokenError) -> bool {
    matches!(
        e,
        TokenError::UnknownKey { .. } | TokenError::BadSignature { kid: None, .. }
    )
}

/// Verifies `token` with a key set already in hand (pure: no I/O, time is `now`). The key set
/// must be that of the token's issuer; no refetch is tried when the `kid` is unknown.
pub fn verify_token_with_keys(
    token: &str,
    issuers: &IssuerSet,
    keys: &KeySet,
    now: i64,
    clock_skew: i64,
) -> Result<VerifiedToken, TokenError> {
    let token = UnverifiedToken::parse(token)?;
    let iss = token.unverified_claims().required_string("iss")?;
    if issuers.lookup(iss).is_none() {
        return Err(TokenError::UnknownIssuer {
            issuer: iss.to_owned(),
        });
    }
    let key = token.verify_signature(iss, keys)?;
    let key_id = key.kid().map(str::to_owned);
    verify_claims(&token, issuers, now, clock_skew, key_id)
}

/// The second half of verification, for a token whose signature has been checked: registered
/// claims against the issuer's configuration at `now`, then the identity mapping.
fn verify_claims(
    token: &UnverifiedToken,
    issuers: &IssuerSet,
    now: i64,
    clock_skew: i64,
    key_id: Option<String>,
) -> Result<VerifiedToken, TokenError> {
    let claims = token.unverified_claims();
    let iss = claims.required_string("iss")?;
    let config = issuers.lookup(iss).ok_or_else(|| TokenError::UnknownIssuer {
        issuer: iss.to_owned(),
    })?;
    let registered = check_registered_claims(
        claims,
        ClaimExpectations {
            issuer: &config.issuer_url,
            client_id: &config.client_id,
            now,
            clock_skew,
        },
    )?;
    let principal = principal_from_claims(&config, claims, &registered)?;
    Ok(VerifiedToken {
        issuer: registered.iss,
        issuer_type: config.issuer_type,
        subject: registered.sub,
        identity: principal.identity,
        challenge: principal.challenge,
        expires_at: registered.exp,
        issued_at: registered.iat,
        key_id,
    })
}
