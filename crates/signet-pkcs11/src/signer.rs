//! [`Pkcs11Signer`]: a [`Signer`] whose private key stays in a PKCS#11 token.
//!
//! At start it finds the token and the private key the URI names, logs in, learns the public
//! half (from the matching public-key object, else a certificate with the same `CKA_ID`) and
//! proves the pair with one signature it verifies. Signing then uses a small pool of sessions:
//! a PKCS#11 session serves one thread at a time, and the CA signs from several at once.
//!
//! A token that goes away mid-run (its session handle invalid, the device removed, the module
//! no longer initialised) is reconnected: the module is re-initialised, the token found again,
//! the user logged in again, and the key proved again to be the one this signer started with
//! (a token re-initialised with another key under the same label is refused). Until that
//! succeeds every signature fails with [`SignerError::Unavailable`], which the services answer
//! with 503, and reconnection is tried again with exponential backoff (0.2 s to 5 s).

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use signet_crypto::{HashAlgorithm, PublicKey, Signer, SignerError};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::encoding::{ecdsa_der_from_raw, spki_from_ec_point, Curve};
use crate::module::Module;
use crate::uri::{ObjectType, Pkcs11Uri, UriError};

/// Most sessions a signer opens: enough for every thread that signs at once.
const MAX_SESSIONS: usize = 32;
/// How long a signature waits for a free session before giving up (503).
const SESSION_WAIT: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Largest PIN file read.
const MAX_PIN_FILE: u64 = 4096;
/// Signed at start and after each reconnection, and verified with the known public key.
const PROBE: &[u8] = b"signet: proving the PKCS#11 key pair";

/// Why a token key could not be opened. Every message names the URI without its PIN.
#[derive(Debug, Error)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant's message says what it is; `uri` is always PIN-free
pub enum Pkcs11Error {
    #[error(transparent)]
    Uri(#[from] UriError),
    #[error("{uri}: no module: add ?module-path=/path/to/module.so (e.g. /usr/lib/softhsm/libsofthsm2.so)")]
    NoModule { uri: String },
    #[error("{uri}: cannot load the PKCS#11 module {path}: {source}")]
    Module {
        uri: String,
        path: PathBuf,
        source: Error,
    },
    #[error("{uri}: no token in the module matches the URI (absent, or not initialised)")]
    TokenNotFound { uri: String },
    #[error("{uri}: {count} tokens match; add token=, serial= or slot-id= to pick one")]
    AmbiguousToken { uri: String, count: usize },
    #[error("{uri}: no PIN: add pin-source=file:/path/to/pin (or pin-value=)")]
    NoPin { uri: String },
    #[error("{uri}: cannot read the PIN from {source_name}: {reason}")]
    PinSource {
        uri: String,
        source_name: String,
        reason: String,
    },
    #[error("{uri}: wrong PIN (the token refused to log in)")]
    WrongPin { uri: String },
    #[error("{uri}: the token's user PIN is locked (too many wrong PINs); unlock it with the SO PIN")]
    PinLocked { uri: String },
    #[error("{uri}: no private key in the token matches object=/id=")]
    ObjectNotFound { uri: String },
    #[error("{uri}: {count} private keys match; add object= or id= to pick one")]
    AmbiguousObject { uri: String, count: usize },
    #[error("{uri}: names type={0}; a signing key URI names a private key (type=private or no type)", .kind)]
    NotPrivate { uri: String, kind: &'static str },
    #[error("{uri}: unsupported key: {reason}")]
    UnsupportedKey { uri: String, reason: String },
    #[error("{uri}: the token has no public key or certificate for this private key (same CKA_ID), so its public half is unknown")]
    NoPublicKey { uri: String },
    #[error("{uri}: the public key found does not verify the private key's signature (mismatched objects)")]
    KeyMismatch { uri: String },
    #[error("{uri}: signing a test message: {reason}")]
    Probe { uri: String, reason: String },
    #[error("{uri}: {during}: {source}")]
    Token {
        uri: String,
        during: &'static str,
        source: Error,
    },
}

/// What the signer signs with.
#[derive(Debug, Clone, Copy)]
enum Scheme {
    /// `CKM_ECDSA` over a digest computed here.
    Ecdsa(HashAlgorithm),
    /// `CKM_EDDSA`, pure Ed25519 over the message.
    Ed25519,
}

/// Sessions for one generation of the module.
struct Pool {
    generation: u64,
    connected: bool,
    slot: Option<Slot>,
    key: Option<ObjectHandle>,
    idle: Vec<Session>,
    open: usize,
    retry_at: Option<Instant>,
    backoff: Duration,
}

/// A signing key in a PKCS#11 token. See the module docs for sessions and reconnection.
pub struct Pkcs11Signer {
    uri: Pkcs11Uri,
    /// The URI as shown in messages (no PIN).
    shown: String,
    pin: Option<Zeroizing<String>>,
    module: Arc<Module>,
    public_key: PublicKey,
    curve: Curve,
    scheme: Scheme,
    /// `CKA_CLASS`, `CKA_ID`/`CKA_LABEL` of the key found at start: how it is found again.
    template: Vec<Attribute>,
    pool: Mutex<Pool>,
    freed: Condvar,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("uri", &self.shown)
            .field("module", &self.module)
            .field("key", &self.public_key.kind())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Parses `uri` and opens the key it names ([`Pkcs11Signer::open`]).
    pub fn open_uri(uri: &str) -> Result<Pkcs11Signer, Pkcs11Error> {
        Pkcs11Signer::open(Pkcs11Uri::parse(uri)?)
    }

    /// Loads the module, finds the token and the private key, logs in, learns the public key
    /// and proves the pair with one signature. Each failure is a [`Pkcs11Error`] naming the
    /// URI (without its PIN).
    pub fn open(uri: Pkcs11Uri) -> Result<Pkcs11Signer, Pkcs11Error> {
        let shown = uri.to_string();
        if let Some(kind) = uri.object_type.filter(|t| *t != ObjectType::Private) {
            return Err(Pkcs11Error::NotPrivate {
                uri: shown,
                kind: match kind {
                    ObjectType::Public => "public",
                    ObjectType::Cert => "cert",
                    ObjectType::SecretKey => "secret-key",
                    _ => "data",
                },
            });
        }
        let path = module_path(&uri).ok_or_else(|| Pkcs11Error::NoModule { uri: shown.clone() })?;
        let module = Module::get(&path).map_err(|source| Pkcs11Error::Module {
            uri: shown.clone(),
            path: path.clone(),
            source,
        })?;
        let pin = read_pin(&uri, &shown)?;
        let token = |during| {
            let uri = shown.clone();
            move |source| Pkcs11Error::Token { uri, during, source }
        };
        let (live, ctx, slot) = enter_slot(&module, &uri, &shown)?;
        let generation = live.generation();
        let session = ctx
            .open_ro_session_no_drop(slot)
            .map_err(token("opening a session"))?;
        let info = ctx
            .get_token_info(slot)
            .map_err(token("reading the token's information"))?;
        if info.user_pin_locked() {
            return Err(Pkcs11Error::PinLocked { uri: shown });
        }
        login(
            &session,
            pin.as_deref().map(String::as_str),
            info.login_required(),
        )
        .map_err(|e| match e {
            Error::Pkcs11(RvError::PinIncorrect, _) => Pkcs11Error::WrongPin { uri: shown.clone() },
            Error::Pkcs11(RvError::PinLocked, _) => Pkcs11Error::PinLocked { uri: shown.clone() },
            Error::PinNotSet => Pkcs11Error::NoPin { uri: shown.clone() },
            source => Pkcs11Error::Token {
                uri: shown.clone(),
                during: "logging in",
                source,
            },
        })?;

        let mut wanted = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &uri.object {
            wanted.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            wanted.push(Attribute::Id(id.clone()));
        }
        let found = session
            .find_objects(&wanted)
            .map_err(token("finding the private key"))?;
        let key = match found.as_slice() {
            [] => return Err(Pkcs11Error::ObjectNotFound { uri: shown }),
            [one] => *one,
            many => {
                return Err(Pkcs11Error::AmbiguousObject {
                    uri: shown,
                    count: many.len(),
                })
            }
        };
        let attributes = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::Sign,
                ],
            )
            .map_err(token("reading the private key's attributes"))?;
        let (mut key_type, mut params, mut id, mut label, mut can_sign) = (None, None, None, None, true);
        for a in attributes {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Id(i) => id = Some(i),
                Attribute::Label(l) => label = Some(l),
                Attribute::Sign(s) => can_sign = s,
                _ => {}
            }
        }
        let unsupported = |reason: String| Pkcs11Error::UnsupportedKey {
            uri: shown.clone(),
            reason,
        };
        if !can_sign {
            return Err(unsupported("the private key has CKA_SIGN false".into()));
        }
        let edwards = match key_type {
            Some(KeyType::EC) => false,
            Some(KeyType::EC_EDWARDS) => true,
            other => {
                return Err(unsupported(format!(
                    "key type {}; signet signs with ECDSA P-256/P-384 or Ed25519",
                    other.map_or("unknown".to_string(), |t| t.to_string())
                )))
            }
        };
        let params = params.ok_or_else(|| unsupported("the private key has no CKA_EC_PARAMS".into()))?;
        let curve = Curve::from_ec_params(&params, edwards)
            .ok_or_else(|| unsupported("a curve other than P-256, P-384 or Ed25519".into()))?;
        let scheme = match curve {
            Curve::P256 => Scheme::Ecdsa(HashAlgorithm::Sha2_256),
            Curve::P384 => Scheme::Ecdsa(HashAlgorithm::Sha2_384),
            Curve::Ed25519 => Scheme::Ed25519,
        };

        // The key is found again after a reconnection by what identifies it now.
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(id) = id.clone().filter(|i| !i.is_empty()) {
            template.push(Attribute::Id(id));
        }
        if let Some(label) = label.filter(|l| !l.is_empty()) {
            template.push(Attribute::Label(label));
        }
        let public_key = find_public_key(&session, curve, id.as_deref(), &uri).map_err(|e| match e {
            Some(source) => Pkcs11Error::Token {
                uri: shown.clone(),
                during: "reading the public key",
                source,
            },
            None => Pkcs11Error::NoPublicKey { uri: shown.clone() },
        })?;

        let signer = Pkcs11Signer {
            uri,
            shown: shown.clone(),
            pin,
            module: module.clone(),
            public_key,
            curve,
            scheme,
            template,
            pool: Mutex::new(Pool {
                generation,
                connected: true,
                slot: Some(slot),
                key: Some(key),
                idle: vec![session],
                open: 1,
                retry_at: None,
                backoff: FIRST_BACKOFF,
            }),
            freed: Condvar::new(),
        };
        drop(live);
        let probe = signer.sign(PROBE).map_err(|e| Pkcs11Error::Probe {
            uri: shown.clone(),
            reason: e.to_string(),
        })?;
        if signer.public_key.verify_default(PROBE, &probe).is_err() {
            return Err(Pkcs11Error::KeyMismatch { uri: shown });
        }
        tracing::info!(uri = %signer.shown, module = %module.path().display(), key = %signer.public_key.kind(), "opened a PKCS#11 key");
        Ok(signer)
    }

    /// The URI, PIN hidden.
    pub fn uri(&self) -> &str {
        &self.shown
    }

    fn lock_pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signs `data` (a digest, or the message for Ed25519) in a pooled session, reconnecting
    /// once if the session was lost.
    fn sign_raw(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mechanism = match self.scheme {
            Scheme::Ecdsa(_) => Mechanism::Ecdsa,
            Scheme::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
        };
        let mut last = String::new();
        for _ in 0..2 {
            let (live, ctx) = self.module.enter();
            let generation = live.generation();
            let (session, key) = match self.checkout(ctx, generation) {
                Ok(s) => s,
                Err(Down { message, reset }) => {
                    drop(live);
                    if reset {
                        self.module.reset(generation);
                    }
                    return Err(SignerError::Unavailable(message));
                }
            };
            match session.sign(&mechanism, key, data) {
                Ok(signature) => {
                    self.checkin(session, generation);
                    return Ok(signature);
                }
                Err(e) if is_lost(&e) => {
                    tracing::warn!(uri = %self.shown, error = %e, "the PKCS#11 session was lost; reconnecting");
                    self.lose(generation);
                    // Not closed (sessions are opened "no drop"): after the reset its handle
                    // may name someone else's session.
                    drop(session);
                    drop(live);
                    self.module.reset(generation);
                    last = e.to_string();
                }
                Err(e) => {
                    self.checkin(session, generation);
                    return Err(SignerError::Failed(format!("{}: {e}", self.shown)));
                }
            }
        }
        Err(SignerError::Unavailable(format!(
            "{}: {last}; reconnecting",
            self.shown
        )))
    }

    /// A session and the key handle for `generation`, reconnecting first if the pool is of an
    /// older generation (respecting the backoff after a failed attempt).
    fn checkout(&self, ctx: &Pkcs11, generation: u64) -> Result<(Session, ObjectHandle), Down> {
        let mut pool = self.lock_pool();
        let deadline = Instant::now() + SESSION_WAIT;
        loop {
            if pool.generation != generation || !pool.connected {
                if let Some(at) = pool.retry_at.filter(|at| Instant::now() < *at) {
                    return Err(Down {
                        message: format!(
                            "{}: the token is unreachable; next reconnection attempt in {} ms",
                            self.shown,
                            at.saturating_duration_since(Instant::now()).as_millis()
                        ),
                        reset: false,
                    });
                }
                self.reconnect(ctx, generation, &mut pool)?;
            }
            let key = pool.key.ok_or_else(|| Down {
                message: format!("{}: no key handle", self.shown),
                reset: false,
            })?;
            if let Some(session) = pool.idle.pop() {
                return Ok((session, key));
            }
            if pool.open < MAX_SESSIONS {
                let slot = pool.slot.ok_or_else(|| Down {
                    message: format!("{}: no slot", self.shown),
                    reset: false,
                })?;
                match ctx.open_ro_session_no_drop(slot) {
                    Ok(session) => {
                        pool.open += 1;
                        return Ok((session, key));
                    }
                    Err(e) => {
                        let lost = is_lost(&e);
                        if lost {
                            pool.connected = false;
                        }
                        return Err(Down {
                            message: format!("{}: opening a session: {e}", self.shown),
                            reset: lost,
                        });
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Down {
                    message: format!("{}: all {MAX_SESSIONS} sessions are busy", self.shown),
                    reset: false,
                });
            }
            pool = self
                .freed
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Finds the token and key again in the module's current generation and logs in.
    fn reconnect(&self, ctx: &Pkcs11, generation: u64, pool: &mut Pool) -> Result<(), Down> {
        // Sessions of an older generation died with it; never close their stale handles.
        pool.idle.clear();
        pool.open = 0;
        pool.connected = false;
        pool.generation = generation;
        match self.locate_again(ctx) {
            Ok((slot, session, key)) => {
                tracing::info!(uri = %self.shown, "reconnected to the PKCS#11 token");
                pool.slot = Some(slot);
                pool.key = Some(key);
                pool.idle.push(session);
                pool.open = 1;
                pool.connected = true;
                pool.retry_at = None;
                pool.backoff = FIRST_BACKOFF;
                Ok(())
            }
            Err(message) => {
                let delay = pool.backoff;
                pool.retry_at = Some(Instant::now() + delay);
                pool.backoff = (delay * 2).min(MAX_BACKOFF);
                tracing::warn!(uri = %self.shown, error = %message, retry_in_ms = delay.as_millis() as u64, "cannot reconnect to the PKCS#11 token");
                // The module is re-initialised before the next attempt: only that makes it
                // rescan its slots for a token that comes back.
                Err(Down {
                    message: format!("{}: token unavailable: {message}", self.shown),
                    reset: true,
                })
            }
        }
    }

    fn locate_again(&self, ctx: &Pkcs11) -> Result<(Slot, Session, ObjectHandle), String> {
        let slot = find_slot(ctx, &self.uri, &self.shown).map_err(|e| e.to_string())?;
        let session = ctx.open_ro_session_no_drop(slot).map_err(|e| e.to_string())?;
        let login_required = ctx
            .get_token_info(slot)
            .map(|i| i.login_required())
            .unwrap_or(true);
        login(&session, self.pin.as_deref().map(String::as_str), login_required)
            .map_err(|e| format!("logging in: {e}"))?;
        let found = session.find_objects(&self.template).map_err(|e| e.to_string())?;
        let [key] = found.as_slice() else {
            return Err(format!("{} private keys match (expected one)", found.len()));
        };
        // The same key? A token re-initialised with a new key under the old label is not.
        let data = match self.scheme {
            Scheme::Ecdsa(hash) => hash.digest(PROBE),
            Scheme::Ed25519 => PROBE.to_vec(),
        };
        let mechanism = match self.scheme {
            Scheme::Ecdsa(_) => Mechanism::Ecdsa,
            Scheme::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
        };
        let raw = session.sign(&mechanism, *key, &data).map_err(|e| e.to_string())?;
        let signature = self.finish(raw).map_err(|e| e.to_string())?;
        if self.public_key.verify_default(PROBE, &signature).is_err() {
            return Err("the token now holds another key under this URI: refusing it".into());
        }
        Ok((slot, session, *key))
    }

    fn checkin(&self, session: Session, generation: u64) {
        let mut pool = self.lock_pool();
        if pool.generation == generation && pool.connected {
            pool.idle.push(session);
        }
        drop(pool);
        self.freed.notify_one();
    }

    fn lose(&self, generation: u64) {
        let mut pool = self.lock_pool();
        if pool.generation == generation {
            pool.connected = false;
        }
    }

    /// The signature in the form [`Signer::sign`] returns: DER for ECDSA.
    fn finish(&self, raw: Vec<u8>) -> Result<Vec<u8>, SignerError> {
        if raw.len() != self.curve.raw_signature_len() {
            return Err(SignerError::Failed(format!(
                "{}: the token returned a {}-byte signature, expected {}",
                self.shown,
                raw.len(),
                self.curve.raw_signature_len()
            )));
        }
        match self.scheme {
            Scheme::Ed25519 => Ok(raw),
            Scheme::Ecdsa(_) => ecdsa_der_from_raw(&raw)
                .ok_or_else(|| SignerError::Failed(format!("{}: malformed ECDSA signature", self.shown))),
        }
    }
}

impl Pkcs11Signer {
    /// Signs a precomputed digest, as a hashedrekord signer does: ECDSA over a digest of the
    /// key's hash (SHA-256 for P-256, SHA-384 for P-384). Ed25519ph is refused: PKCS#11
    /// modules (SoftHSM among them) rarely offer it; sign a DSSE envelope with such a key.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        match self.scheme {
            Scheme::Ecdsa(hash) if digest.len() == hash.output_len() => {
                let raw = self.sign_raw(digest)?;
                self.finish(raw)
            }
            Scheme::Ecdsa(hash) => Err(SignerError::Failed(format!(
                "a {}-byte digest; this key signs {}-byte {} digests",
                digest.len(),
                hash.output_len(),
                hash.proto_name()
            ))),
            Scheme::Ed25519 => Err(SignerError::Failed(format!(
                "{}: an Ed25519 key in a token cannot sign a prehashed digest (Ed25519ph); use an ECDSA key, or sign an attestation (DSSE)",
                self.shown
            ))),
        }
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let data = match self.scheme {
            Scheme::Ecdsa(hash) => hash.digest(message),
            Scheme::Ed25519 => message.to_vec(),
        };
        let raw = self.sign_raw(&data)?;
        self.finish(raw)
    }
}

impl Drop for Pkcs11Signer {
    fn drop(&mut self) {
        let (live, _) = self.module.enter();
        let mut pool = self.lock_pool();
        let current = pool.generation == live.generation();
        for session in pool.idle.drain(..) {
            if current {
                let _ = session.close();
            }
        }
    }
}

/// The signer cannot get a session now.
struct Down {
    message: String,
    /// Re-initialise the module before the next attempt.
    reset: bool,
}

/// Errors after which the session (or the whole module) is gone: reconnect.
fn is_lost(e: &Error) -> bool {
    matches!(
        e,
        Error::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::DeviceMemory
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::CryptokiNotInitialized
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::SlotIdInvalid
                | RvError::GeneralError,
            _
        )
    )
}

fn login(session: &Session, pin: Option<&str>, required: bool) -> Result<(), Error> {
    let Some(pin) = pin else {
        return if required { Err(Error::PinNotSet) } else { Ok(()) };
    };
    match session.login(UserType::User, Some(&AuthPin::from(pin.to_string()))) {
        // Login is per application and token: another signer on this token logged in.
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The module file: `module-path`, else `module-name` looked up where Debian's p11-kit and
/// SoftHSM install modules.
pub(crate) fn module_path(uri: &Pkcs11Uri) -> Option<PathBuf> {
    if let Some(path) = &uri.module_path {
        return Some(PathBuf::from(path));
    }
    let name = uri.module_name.as_ref()?;
    let dirs = [
        format!("/usr/lib/{}-linux-gnu/pkcs11", std::env::consts::ARCH),
        "/usr/lib/pkcs11".to_string(),
        "/usr/lib/softhsm".to_string(),
        "/usr/local/lib/pkcs11".to_string(),
    ];
    dirs.iter()
        .flat_map(|d| [format!("{d}/{name}.so"), format!("{d}/lib{name}.so")])
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The PIN from `pin-value` or the file `pin-source` names (`file:` URI or a path), without
/// a trailing newline.
pub(crate) fn read_pin(uri: &Pkcs11Uri, shown: &str) -> Result<Option<Zeroizing<String>>, Pkcs11Error> {
    if let Some(pin) = uri.pin_value() {
        return Ok(Some(Zeroizing::new(pin.to_string())));
    }
    let Some(source) = &uri.pin_source else {
        return Ok(None);
    };
    let path = source
        .strip_prefix("file://")
        .or_else(|| source.strip_prefix("file:"))
        .unwrap_or(source);
    let bad = |reason: String| Pkcs11Error::PinSource {
        uri: shown.to_string(),
        source_name: path.to_string(),
        reason,
    };
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_PIN_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    if text.len() as u64 > MAX_PIN_FILE {
        return Err(bad(format!("longer than {MAX_PIN_FILE} bytes")));
    }
    let pin = text.strip_suffix('\n').unwrap_or(&text);
    let pin = pin.strip_suffix('\r').unwrap_or(pin);
    Ok(Some(Zeroizing::new(pin.to_string())))
}

/// Enters the module and finds the URI's token. A module lists the tokens it found when it
/// was initialised (SoftHSM does), so a token made since is looked for again after a
/// re-initialisation (which other signers of the module ride out by reconnecting).
pub(crate) fn enter_slot<'m>(
    module: &'m Module,
    uri: &Pkcs11Uri,
    shown: &str,
) -> Result<(crate::module::Live<'m>, &'m Pkcs11, Slot), Pkcs11Error> {
    let (live, ctx) = module.enter();
    check_library(ctx, uri, shown)?;
    match find_slot(ctx, uri, shown) {
        Ok(slot) => Ok((live, ctx, slot)),
        Err(Pkcs11Error::TokenNotFound { .. }) => {
            let generation = live.generation();
            drop(live);
            module.reset(generation);
            let (live, ctx) = module.enter();
            let slot = find_slot(ctx, uri, shown)?;
            Ok((live, ctx, slot))
        }
        Err(e) => Err(e),
    }
}

/// Refuses a module whose library attributes differ from the URI's.
fn check_library(ctx: &Pkcs11, uri: &Pkcs11Uri, shown: &str) -> Result<(), Pkcs11Error> {
    if uri.library_manufacturer.is_none()
        && uri.library_description.is_none()
        && uri.library_version.is_none()
    {
        return Ok(());
    }
    let info = ctx.get_library_info().map_err(|source| Pkcs11Error::Token {
        uri: shown.to_string(),
        during: "reading the module's information",
        source,
    })?;
    let version = info.library_version();
    let matches = uri
        .library_manufacturer
        .as_deref()
        .is_none_or(|m| m == info.manufacturer_id())
        && uri
            .library_description
            .as_deref()
            .is_none_or(|d| d == info.library_description())
        && uri
            .library_version
            .as_deref()
            .is_none_or(|v| match v.split_once('.') {
                Some((major, minor)) => {
                    major.parse() == Ok(version.major()) && minor.parse() == Ok(version.minor())
                }
                None => v.parse() == Ok(version.major()),
            });
    if matches {
        Ok(())
    } else {
        Err(Pkcs11Error::TokenNotFound {
            uri: shown.to_string(),
        })
    }
}

/// The one slot whose token matches the URI's token and slot attributes.
pub(crate) fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri, shown: &str) -> Result<Slot, Pkcs11Error> {
    let token = |during| {
        let uri = shown.to_string();
        move |source| Pkcs11Error::Token { uri, during, source }
    };
    let mut matching = Vec::new();
    for slot in ctx.get_slots_with_token().map_err(token("listing the slots"))? {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        if uri.slot_description.is_some() || uri.slot_manufacturer.is_some() {
            let info = ctx
                .get_slot_info(slot)
                .map_err(token("reading a slot's information"))?;
            if uri
                .slot_description
                .as_deref()
                .is_some_and(|d| d != info.slot_description())
                || uri
                    .slot_manufacturer
                    .as_deref()
                    .is_some_and(|m| m != info.manufacturer_id())
            {
                continue;
            }
        }
        let info = match ctx.get_token_info(slot) {
            Ok(info) => info,
            // A token pulled (or broken) since the listing is not the one looked for.
            Err(e) => {
                tracing::debug!(slot = slot.id(), error = %e, "skipping a slot whose token cannot be read");
                continue;
            }
        };
        if !info.token_initialized() {
            continue;
        }
        let fits = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if fits(&uri.token, info.label())
            && fits(&uri.manufacturer, info.manufacturer_id())
            && fits(&uri.model, info.model())
            && fits(&uri.serial, info.serial_number())
        {
            matching.push(slot);
        }
    }
    match matching.as_slice() {
        [] => Err(Pkcs11Error::TokenNotFound {
            uri: shown.to_string(),
        }),
        [one] => Ok(*one),
        many => Err(Pkcs11Error::AmbiguousToken {
            uri: shown.to_string(),
            count: many.len(),
        }),
    }
}

/// The public half: the public-key object with the private key's `CKA_ID` (else its label),
/// or failing that a certificate with that `CKA_ID`. `Err(None)`: neither is in the token.
fn find_public_key(
    session: &Session,
    curve: Curve,
    id: Option<&[u8]>,
    uri: &Pkcs11Uri,
) -> Result<PublicKey, Option<Error>> {
    let mut wanted = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    match (id.filter(|i| !i.is_empty()), &uri.object) {
        (Some(id), _) => wanted.push(Attribute::Id(id.to_vec())),
        (None, Some(label)) => wanted.push(Attribute::Label(label.as_bytes().to_vec())),
        (None, None) => {}
    }
    let found = session.find_objects(&wanted).map_err(Some)?;
    if let [public] = found.as_slice() {
        let attributes = session
            .get_attributes(*public, &[AttributeType::EcPoint])
            .map_err(Some)?;
        for a in attributes {
            if let Attribute::EcPoint(point) = a {
                let spki = spki_from_ec_point(curve, &point).ok_or(None)?;
                return PublicKey::from_spki_der(&spki).map_err(|_| None);
            }
        }
    }
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return Err(None);
    };
    let certificates = session
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(id.to_vec()),
        ])
        .map_err(Some)?;
    let [certificate] = certificates.as_slice() else {
        return Err(None);
    };
    for a in session
        .get_attributes(*certificate, &[AttributeType::Value])
        .map_err(Some)?
    {
        if let Attribute::Value(der) = a {
            return PublicKey::from_certificate_der(&der).map_err(|_| None);
        }
    }
    Err(None)
}
