//! The device authorization grant (RFC 8628), for clients with no browser at hand: the client
//! gets a device code and a short user code, the user approves the user code on the
//! verification page from any browser, and the client polls the token endpoint with the
//! device code until then. Request validation, the bounded grant store and its state machine
//! (pending → approved or denied → redeemed once; expired) live here. Pure: the time is a
//! parameter and the codes' randomness is passed in.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use signet_crypto::sha256;

use crate::authorization::{
    self, check_client_id, invalid_grant, invalid_request, ErrorCode, Grant, OAuthError, TokenParams,
    MAX_PARAM_LEN,
};
use crate::provider::Issuer;

/// RFC 8628 §3.4: the `grant_type` a client polls the token endpoint with.
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a device code waits for the user (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_LIFETIME_SECS: i64 = 600;
/// The polling interval a provider asks for unless configured otherwise (RFC 8628 §3.2's
/// default when a server names none).
pub const DEFAULT_DEVICE_POLL_INTERVAL_SECS: u64 = 5;
/// What RFC 8628 §3.5 adds to the interval with each `slow_down`.
pub const SLOW_DOWN_SECS: u64 = 5;
/// Most device grants waiting at once; a full store refuses new ones until grants expire or
/// are redeemed.
pub const MAX_PENDING_DEVICE_GRANTS: usize = 256;
/// Most wrong user codes accepted per minute on one issuer. A user code has ~34.6 bits (8 of
/// 20 letters), so at this rate guessing one of [`MAX_PENDING_DEVICE_GRANTS`] pending codes
/// takes centuries (RFC 8628 §5.1). The limit is per issuer, not per device: a wrong code
/// names no device.
pub const MAX_WRONG_USER_CODES_PER_MINUTE: u32 = 20;
/// RFC 8628 §6.1's example alphabet: consonants only, so no words and no 0/O or 1/I to
/// confuse, and case-insensitive.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code, shown as `XXXX-XXXX`.
pub const USER_CODE_LEN: usize = 8;

/// The form of `POST {issuer}/device/code` (RFC 8628 §3.1), with the PKCE challenge Sigstore's
/// clients send there (sigstore-go's and cosign's device flow). Unknown parameters are
/// ignored (RFC 6749 §3.1).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeviceAuthorizationParams {
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A checked device authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDeviceAuthorization {
    pub client_id: String,
    pub scope: String,
    /// BASE64URL(SHA-256(code_verifier)), when the client used PKCE.
    pub code_challenge: Option<String>,
}

impl ValidDeviceAuthorization {
    /// Checks a device authorization request from `client_id` (as it authenticated or
    /// identified itself).
    pub fn check(p: &DeviceAuthorizationParams, client_id: &str) -> Result<Self, OAuthError> {
        if !check_client_id(client_id) {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "client_id is malformed",
            ));
        }
        let scope = p.scope.clone().unwrap_or_default();
        if scope.len() > MAX_PARAM_LEN {
            return Err(invalid_request(format!(
                "scope is longer than {MAX_PARAM_LEN} bytes"
            )));
        }
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope must include \"openid\": this provider issues ID tokens",
            ));
        }
        // PKCE is optional here (RFC 8628 does not define it), but a client that sends a
        // challenge gets it checked at every poll.
        let code_challenge = match (p.code_challenge_method.as_deref(), p.code_challenge.as_deref()) {
            (None, None) => None,
            (method, challenge) => Some(authorization::code_challenge(method, challenge)?),
        };
        Ok(ValidDeviceAuthorization {
            client_id: client_id.to_string(),
            scope,
            code_challenge,
        })
    }
}

/// The answer of `POST {issuer}/device/code` (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// What the user decided on the verification page.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceDecision {
    /// Approve, as this identity (the login form's claims).
    Approve(Map<String, Value>),
    Deny,
}

/// Why the verification page refused a user code. The messages are for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("that code is unknown; check it and try again")]
    UnknownCode,
    #[error("that code has expired; start the sign-in again on your device")]
    Expired,
    #[error("that code was already approved or denied")]
    AlreadyDecided,
    #[error("too many wrong codes; wait a minute and try again")]
    TooManyAttempts,
}

/// The user code `USER_CODE_LEN` letters of [`USER_CODE_ALPHABET`] drawn from `random`
/// (uniformly: bytes of 240 and above are skipped, 240 being a multiple of 20), shown as
/// `XXXX-XXXX`; `None` if `random` runs out first.
pub fn user_code_from(random: &[u8]) -> Option<String> {
    let letters: Vec<u8> = random
        .iter()
        .filter(|&&b| usize::from(b) < 240)
        .map(|&b| USER_CODE_ALPHABET[usize::from(b) % USER_CODE_ALPHABET.len()])
        .take(USER_CODE_LEN)
        .collect();
    if letters.len() < USER_CODE_LEN {
        return None;
    }
    let (a, b) = letters.split_at(USER_CODE_LEN / 2);
    Some(format!(
        "{}-{}",
        String::from_utf8_lossy(a),
        String::from_utf8_lossy(b)
    ))
}

/// A user code as typed, in canonical form: letters upper-cased, dashes and spaces dropped;
/// `None` if what remains is not `USER_CODE_LEN` letters of the alphabet.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

#[derive(Debug, Clone)]
enum State {
    Pending,
    Approved(Map<String, Value>),
    Denied,
}

/// A device grant waiting for its user and its client.
#[derive(Debug, Clone)]
struct PendingDevice {
    issuer: Issuer,
    client_id: String,
    scope: String,
    code_challenge: Option<String>,
    user_code: [u8; 32],
    expires_at: i64,
    /// Seconds the client must wait between polls; grows with each `slow_down`.
    interval: u64,
    last_poll: Option<i64>,
    state: State,
}

/// Outstanding device grants, keyed by SHA-256 of the device code (so the table holds no
/// usable secret and a lookup leaks nothing through timing), with an index from SHA-256 of
/// the normalized user code.
#[derive(Debug, Default)]
pub(crate) struct DeviceStore {
    grants: HashMap<[u8; 32], PendingDevice>,
    user_codes: HashMap<[u8; 32], [u8; 32]>,
    /// The minute (Unix seconds / 60) wrong user codes are being counted in, and how many.
    wrong_codes: (i64, u32),
}

impl DeviceStore {
    /// Whether `user_code` (as [`user_code_from`] made it) belongs to a grant now.
    pub fn user_code_taken(&self, user_code: &str) -> bool {
        normalize_user_code(user_code).is_some_and(|c| self.user_codes.contains_key(&sha256(c.as_bytes())))
    }

    /// Stores a grant for `auth`. `device_code` is fresh randomness of at least 128 bits and
    /// `user_code` one not [taken](Self::user_code_taken).
    pub fn insert(
        &mut self,
        device_code: &str,
        user_code: &str,
        issuer: Issuer,
        auth: &ValidDeviceAuthorization,
        interval: u64,
        now: i64,
    ) -> Result<(), OAuthError> {
        self.purge(now);
        if self.grants.len() >= MAX_PENDING_DEVICE_GRANTS {
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                format!("{MAX_PENDING_DEVICE_GRANTS} device logins are pending; retry when some expire"),
            ));
        }
        let user = normalize_user_code(user_code)
            .map(|c| sha256(c.as_bytes()))
            .filter(|h| !self.user_codes.contains_key(h))
            .ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "user code is malformed or in use"))?;
        let device = sha256(device_code.as_bytes());
        self.user_codes.insert(user, device);
        self.grants.insert(
            device,
            PendingDevice {
                issuer,
                client_id: auth.client_id.clone(),
                scope: auth.scope.clone(),
                code_challenge: auth.code_challenge.clone(),
                user_code: user,
                expires_at: now + DEVICE_CODE_LIFETIME_SECS,
                interval,
                last_poll: None,
                state: State::Pending,
            },
        );
        Ok(())
    }

    /// The user's decision on `user_code` (as typed) at the verification page of `issuer`.
    pub fn decide(
        &mut self,
        issuer: Issuer,
        user_code: &str,
        decision: DeviceDecision,
        now: i64,
    ) -> Result<(), VerifyError> {
        let minute = now.div_euclid(60);
        if self.wrong_codes.0 != minute {
            self.wrong_codes = (minute, 0);
        }
        if self.wrong_codes.1 >= MAX_WRONG_USER_CODES_PER_MINUTE {
            return Err(VerifyError::TooManyAttempts);
        }
        let grant = normalize_user_code(user_code)
            .and_then(|c| self.user_codes.get(&sha256(c.as_bytes())))
            .and_then(|device| self.grants.get_mut(device))
            .filter(|g| g.issuer == issuer);
        let Some(grant) = grant else {
            self.wrong_codes.1 += 1;
            return Err(VerifyError::UnknownCode);
        };
        if now >= grant.expires_at {
            return Err(VerifyError::Expired);
        }
        if !matches!(grant.state, State::Pending) {
            return Err(VerifyError::AlreadyDecided);
        }
        grant.state = match decision {
            DeviceDecision::Approve(identity) => State::Approved(identity),
            DeviceDecision::Deny => State::Denied,
        };
        Ok(())
    }

    /// One poll of the token endpoint of `issuer` with a device code (RFC 8628 §3.4, §3.5).
    /// `client_id` is the one the client authenticated or identified itself with. The grant
    /// is removed once it answers with a token, `access_denied`, `expired_token`, or a wrong
    /// code verifier: a device code is redeemed at most once.
    pub fn poll(
        &mut self,
        issuer: Issuer,
        params: &TokenParams,
        client_id: &str,
        now: i64,
    ) -> Result<Grant, OAuthError> {
        if params.grant_type.as_deref() != Some(DEVICE_CODE_GRANT_TYPE) {
            return Err(invalid_request(format!(
                "grant_type must be {DEVICE_CODE_GRANT_TYPE}"
            )));
        }
        let device_code = params
            .device_code
            .as_deref()
            .ok_or_else(|| invalid_request("device_code is missing"))?;
        let key = sha256(device_code.as_bytes());
        let Some(grant) = self.grants.get_mut(&key) else {
            return Err(invalid_grant("device code is unknown or was already used"));
        };
        if grant.issuer != issuer {
            return Err(invalid_grant("device code was issued by the other issuer"));
        }
        if grant.client_id != client_id {
            return Err(invalid_grant("device code was issued to another client"));
        }
        if now >= grant.expires_at {
            self.remove(&key);
            return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "device code has expired; start a new device login",
            ));
        }
        match (&grant.code_challenge, params.code_verifier.as_deref()) {
            (Some(challenge), verifier) => {
                let verifier = authorization::code_verifier(verifier)?;
                if !authorization::verifier_matches(verifier, challenge) {
                    self.remove(&key);
                    return Err(invalid_grant("code_verifier does not match the code_challenge"));
                }
            }
            (None, Some(_)) => {
                return Err(invalid_request(
                    "code_verifier given, but the device authorization request had no code_challenge",
                ))
            }
            (None, None) => {}
        }
        // RFC 8628 §3.5: a client polling faster than the interval is told to slow down,
        // and the interval grows by 5 seconds for this and every later poll.
        let last_poll = grant.last_poll.replace(now);
        if last_poll.is_some_and(|last| now - last < i64::try_from(grant.interval).unwrap_or(i64::MAX)) {
            grant.interval = grant.interval.saturating_add(SLOW_DOWN_SECS);
            return Err(OAuthError::new(
                ErrorCode::SlowDown,
                format!("polled too often; wait {} s between polls", grant.interval),
            ));
        }
        match grant.state {
            State::Pending => Err(OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not yet approved this device",
            )),
            State::Denied => {
                self.remove(&key);
                Err(OAuthError::new(
                    ErrorCode::AccessDenied,
                    "the user denied this device",
                ))
            }
            State::Approved(_) => {
                let Some(PendingDevice {
                    client_id,
                    scope,
                    state: State::Approved(identity),
                    ..
                }) = self.remove(&key)
                else {
                    return Err(OAuthError::new(ErrorCode::ServerError, "device grant vanished"));
                };
                Ok(Grant {
                    client_id,
                    nonce: None,
                    scope,
                    identity,
                })
            }
        }
    }

    fn remove(&mut self, device: &[u8; 32]) -> Option<PendingDevice> {
        let grant = self.grants.remove(device)?;
        self.user_codes.remove(&grant.user_code);
        Some(grant)
    }

    fn purge(&mut self, now: i64) {
        let user_codes = &mut self.user_codes;
        self.grants.retain(|_, grant| {
            let live = grant.expires_at > now;
            if !live {
                user_codes.remove(&grant.user_code);
            }
            live
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.grants.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 Appendix B.
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const T0: i64 = 1_700_000_000;

    fn auth(challenge: bool) -> ValidDeviceAuthorization {
        let params = DeviceAuthorizationParams {
            client_id: None,
            scope: Some("openid email".into()),
            code_challenge: challenge.then(|| CHALLENGE.into()),
            code_challenge_method: challenge.then(|| "S256".into()),
        };
        ValidDeviceAuthorization::check(&params, "sigstore").unwrap()
    }

    fn poll_params(device_code: &str, verifier: Option<&str>) -> TokenParams {
        TokenParams {
            grant_type: Some(DEVICE_CODE_GRANT_TYPE.into()),
            device_code: Some(device_code.into()),
            code_verifier: verifier.map(str::to_string),
            ..Default::default()
        }
    }

    fn identity() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("email".into(), "alice@example.com".into());
        m
    }

    fn store_with(device_code: &str, user_code: &str, challenge: bool) -> DeviceStore {
        let mut store = DeviceStore::default();
        store
            .insert(device_code, user_code, Issuer::Email, &auth(challenge), 1, T0)
            .unwrap();
        store
    }

    fn error(r: Result<Grant, OAuthError>) -> ErrorCode {
        r.expect_err("an error").error
    }

    #[test]
    fn user_codes_are_from_the_alphabet_and_normalize() {
        let code = user_code_from(&[0, 1, 2, 250, 3, 19, 20, 239, 40]).unwrap();
        assert_eq!(code, "BCDF-ZBZB");
        assert_eq!(user_code_from(&[250; 64]), None);
        assert_eq!(normalize_user_code("bcdf-zbzb").as_deref(), Some("BCDFZBZB"));
        assert_eq!(normalize_user_code(" BCDF ZBZB ").as_deref(), Some("BCDFZBZB"));
        assert_eq!(normalize_user_code("BCDFZBZ"), None);
        assert_eq!(
            normalize_user_code("BCDF-ZBZA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalize_user_code("BCDF-ZBZB-B"), None);
    }

    #[test]
    fn pending_then_slow_down_then_approved_gives_the_token_once() {
        let mut store = store_with("dc", "BCDF-GHJK", true);
        let poll = |store: &mut DeviceStore, now| {
            store.poll(Issuer::Email, &poll_params("dc", Some(VERIFIER)), "sigstore", now)
        };
        assert_eq!(error(poll(&mut store, T0)), ErrorCode::AuthorizationPending);
        // Again within the interval (1 s): slow down, and the interval is now 6 s.
        assert_eq!(error(poll(&mut store, T0)), ErrorCode::SlowDown);
        assert_eq!(error(poll(&mut store, T0 + 5)), ErrorCode::SlowDown);
        assert_eq!(error(poll(&mut store, T0 + 16)), ErrorCode::AuthorizationPending);

        // The user types the code in lower case without the dash.
        store
            .decide(
                Issuer::Email,
                "bcdfghjk",
                DeviceDecision::Approve(identity()),
                T0 + 20,
            )
            .unwrap();
        assert_eq!(
            store.decide(Issuer::Email, "BCDF-GHJK", DeviceDecision::Deny, T0 + 21),
            Err(VerifyError::AlreadyDecided)
        );
        let grant = poll(&mut store, T0 + 40).unwrap();
        assert_eq!(grant.identity, identity());
        assert_eq!(grant.client_id, "sigstore");
        assert_eq!(grant.nonce, None);
        assert_eq!(error(poll(&mut store, T0 + 80)), ErrorCode::InvalidGrant);
        assert_eq!(store.len(), 0);
        assert!(!store.user_code_taken("BCDF-GHJK"));
    }

    #[test]
    fn denied_device_is_access_denied_once() {
        let mut store = store_with("dc", "BCDF-GHJK", false);
        store
            .decide(Issuer::Email, "BCDF-GHJK", DeviceDecision::Deny, T0 + 1)
            .unwrap();
        let poll =
            |store: &mut DeviceStore| store.poll(Issuer::Email, &poll_params("dc", None), "sigstore", T0 + 2);
        assert_eq!(error(poll(&mut store)), ErrorCode::AccessDenied);
        assert_eq!(error(poll(&mut store)), ErrorCode::InvalidGrant);
    }

    #[test]
    fn expired_device_code() {
        let mut store = store_with("dc", "BCDF-GHJK", false);
        let late = T0 + DEVICE_CODE_LIFETIME_SECS;
        assert_eq!(
            store.decide(
                Issuer::Email,
                "BCDF-GHJK",
                DeviceDecision::Approve(identity()),
                late
            ),
            Err(VerifyError::Expired)
        );
        let r = store.poll(Issuer::Email, &poll_params("dc", None), "sigstore", late);
        assert_eq!(error(r), ErrorCode::ExpiredToken);
        let r = store.poll(Issuer::Email, &poll_params("dc", None), "sigstore", late);
        assert_eq!(error(r), ErrorCode::InvalidGrant);
    }

    #[test]
    fn pkce_issuer_and_client_are_checked() {
        let mut store = store_with("dc", "BCDF-GHJK", true);
        let r = store.poll(Issuer::Email, &poll_params("dc", None), "sigstore", T0);
        assert_eq!(error(r), ErrorCode::InvalidRequest);
        let r = store.poll(
            Issuer::GithubWorkflow,
            &poll_params("dc", Some(VERIFIER)),
            "sigstore",
            T0,
        );
        assert_eq!(error(r), ErrorCode::InvalidGrant);
        let r = store.poll(Issuer::Email, &poll_params("dc", Some(VERIFIER)), "other", T0);
        assert_eq!(error(r), ErrorCode::InvalidGrant);
        // The other issuer's verification page does not know the code.
        assert_eq!(
            store.decide(Issuer::GithubWorkflow, "BCDF-GHJK", DeviceDecision::Deny, T0),
            Err(VerifyError::UnknownCode)
        );
        // A wrong verifier ends the grant.
        let wrong = "x".repeat(43);
        let r = store.poll(Issuer::Email, &poll_params("dc", Some(&wrong)), "sigstore", T0);
        assert_eq!(error(r), ErrorCode::InvalidGrant);
        let r = store.poll(
            Issuer::Email,
            &poll_params("dc", Some(VERIFIER)),
            "sigstore",
            T0 + 5,
        );
        assert_eq!(error(r), ErrorCode::InvalidGrant);

        // Without a challenge, a verifier is refused.
        let mut store = store_with("dc", "BCDF-GHJK", false);
        let r = store.poll(Issuer::Email, &poll_params("dc", Some(VERIFIER)), "sigstore", T0);
        assert_eq!(error(r), ErrorCode::InvalidRequest);
    }

    #[test]
    fn requests_are_checked() {
        let check = |scope: &str, method: Option<&str>, challenge: Option<&str>| {
            ValidDeviceAuthorization::check(
                &DeviceAuthorizationParams {
                    client_id: None,
                    scope: Some(scope.into()),
                    code_challenge: challenge.map(str::to_string),
                    code_challenge_method: method.map(str::to_string),
                },
                "sigstore",
            )
            .map_err(|e| e.error)
        };
        assert!(check("openid email", None, None).is_ok());
        assert_eq!(check("email", None, None), Err(ErrorCode::InvalidScope));
        assert_eq!(
            check("openid", Some("plain"), Some(CHALLENGE)),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("openid", None, Some(CHALLENGE)),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("openid", Some("S256"), Some("short")),
            Err(ErrorCode::InvalidRequest)
        );
        let bad_client = ValidDeviceAuthorization::check(&DeviceAuthorizationParams::default(), "a b");
        assert_eq!(bad_client.map_err(|e| e.error), Err(ErrorCode::InvalidClient));
    }

    #[test]
    fn wrong_user_codes_are_rate_limited() {
        let mut store = store_with("dc", "BCDF-GHJK", false);
        for _ in 0..MAX_WRONG_USER_CODES_PER_MINUTE {
            assert_eq!(
                store.decide(Issuer::Email, "ZZZZ-ZZZZ", DeviceDecision::Deny, T0),
                Err(VerifyError::UnknownCode)
            );
        }
        // Now even the right code waits for the next minute.
        let approve = |store: &mut DeviceStore, now| {
            store.decide(
                Issuer::Email,
                "BCDF-GHJK",
                DeviceDecision::Approve(identity()),
                now,
            )
        };
        assert_eq!(approve(&mut store, T0), Err(VerifyError::TooManyAttempts));
        assert_eq!(approve(&mut store, T0 + 60), Ok(()));
    }

    #[test]
    fn store_is_bounded_and_purges_expired_grants() {
        let mut store = DeviceStore::default();
        let mut random = 0u64;
        let mut next_user_code = |store: &DeviceStore| loop {
            random += 1;
            let bytes: Vec<u8> = random
                .to_le_bytes()
                .iter()
                .chain(&[0; 8])
                .map(|b| b % 240)
                .collect();
            if let Some(code) = user_code_from(&bytes).filter(|c| !store.user_code_taken(c)) {
                return code;
            }
        };
        for i in 0..MAX_PENDING_DEVICE_GRANTS {
            let user = next_user_code(&store);
            store
                .insert(&format!("dc{i}"), &user, Issuer::Email, &auth(false), 5, T0)
                .unwrap();
        }
        let user = next_user_code(&store);
        let full = store.insert("one-more", &user, Issuer::Email, &auth(false), 5, T0 + 1);
        assert_eq!(full.unwrap_err().error, ErrorCode::TemporarilyUnavailable);
        store
            .insert(
                "one-more",
                &user,
                Issuer::Email,
                &auth(false),
                5,
                T0 + DEVICE_CODE_LIFETIME_SECS,
            )
            .unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.user_codes.len(), 1);
        // A user code in use is not issued twice.
        let again = store.insert(
            "another",
            &user,
            Issuer::Email,
            &auth(false),
            5,
            T0 + DEVICE_CODE_LIFETIME_SECS,
        );
        assert_eq!(again.unwrap_err().error, ErrorCode::ServerError);
    }
}
