//! Generating a key pair inside a token (`signet pkcs11 keygen`): the private key is created
//! sensitive and non-extractable, so it can never leave the token; the public key object
//! beside it (same `CKA_ID` and label) is how [`crate::Pkcs11Signer`] learns the public half.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use signet_crypto::PublicKey;

use crate::encoding::{spki_from_ec_point, Curve};
use crate::module::Module;
use crate::signer::{enter_slot, module_path, read_pin, Pkcs11Error};
use crate::uri::Pkcs11Uri;

/// The kinds of key `keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeygenType {
    /// ECDSA on NIST P-256 (`CKM_EC_KEY_PAIR_GEN`).
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519 (`CKM_EC_EDWARDS_KEY_PAIR_GEN`).
    Ed25519,
}

impl KeygenType {
    /// `ecdsa-p256`, `ecdsa-p384` or `ed25519`.
    pub fn parse(name: &str) -> Option<KeygenType> {
        Some(match name {
            "ecdsa-p256" => KeygenType::EcdsaP256,
            "ecdsa-p384" => KeygenType::EcdsaP384,
            "ed25519" => KeygenType::Ed25519,
            _ => return None,
        })
    }

    fn curve(self) -> Curve {
        match self {
            KeygenType::EcdsaP256 => Curve::P256,
            KeygenType::EcdsaP384 => Curve::P384,
            KeygenType::Ed25519 => Curve::Ed25519,
        }
    }
}

/// Generates a key pair in the token `uri` names, labelled `object=` and with CKA_ID `id=`
/// (both required, so the URI then names exactly this key), and returns its public key.
/// Refuses when a private key with that label or id already exists.
pub fn generate_key_pair(uri: &Pkcs11Uri, kind: KeygenType) -> Result<PublicKey, Pkcs11Error> {
    let shown = uri.to_string();
    let token = |during| {
        let uri = shown.clone();
        move |source| Pkcs11Error::Token { uri, during, source }
    };
    let (Some(label), Some(id)) = (&uri.object, &uri.id) else {
        return Err(Pkcs11Error::UnsupportedKey {
            uri: shown,
            reason: "keygen needs object= (a label) and id= in the URI".into(),
        });
    };
    let path = module_path(uri).ok_or_else(|| Pkcs11Error::NoModule { uri: shown.clone() })?;
    let module = Module::get(&path).map_err(|source| Pkcs11Error::Module {
        uri: shown.clone(),
        path: path.clone(),
        source,
    })?;
    let pin = read_pin(uri, &shown)?.ok_or_else(|| Pkcs11Error::NoPin { uri: shown.clone() })?;
    let (_live, ctx, slot) = enter_slot(&module, uri, &shown)?;
    let session = ctx.open_rw_session(slot).map_err(token("opening a session"))?;
    session
        .login(UserType::User, Some(&AuthPin::from(pin.to_string())))
        .or_else(|e| match e {
            cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _) => Ok(()),
            cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::PinIncorrect, _) => {
                Err(Pkcs11Error::WrongPin { uri: shown.clone() })
            }
            e => Err(token("logging in")(e)),
        })?;
    for existing in [
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.clone()),
    ] {
        let found = session
            .find_objects(&[
                Attribute::Class(cryptoki::object::ObjectClass::PRIVATE_KEY),
                existing,
            ])
            .map_err(token("looking for an existing key"))?;
        if !found.is_empty() {
            return Err(Pkcs11Error::UnsupportedKey {
                uri: shown,
                reason: "a private key with this object= or id= already exists; pick another".into(),
            });
        }
    }
    let (mechanism, params) = match kind {
        // DER OIDs of the named curves (RFC 5480) and of Ed25519 (RFC 8410).
        KeygenType::EcdsaP256 => (
            Mechanism::EccKeyPairGen,
            vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        ),
        KeygenType::EcdsaP384 => (
            Mechanism::EccKeyPairGen,
            vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
        ),
        KeygenType::Ed25519 => (
            Mechanism::EccEdwardsKeyPairGen,
            vec![0x06, 0x03, 0x2b, 0x65, 0x70],
        ),
    };
    let common = [
        Attribute::Token(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.clone()),
    ];
    let public_template = [
        &common[..],
        &[
            Attribute::EcParams(params),
            Attribute::Verify(true),
            Attribute::Private(false),
        ],
    ]
    .concat();
    let private_template = [
        &common[..],
        &[
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ],
    ]
    .concat();
    let (public, _private) = session
        .generate_key_pair(&mechanism, &public_template, &private_template)
        .map_err(token("generating the key pair"))?;
    let point = session
        .get_attributes(public, &[cryptoki::object::AttributeType::EcPoint])
        .map_err(token("reading the new public key"))?
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .ok_or_else(|| Pkcs11Error::NoPublicKey { uri: shown.clone() })?;
    let spki = spki_from_ec_point(kind.curve(), &point)
        .ok_or_else(|| Pkcs11Error::NoPublicKey { uri: shown.clone() })?;
    PublicKey::from_spki_der(&spki).map_err(|e| Pkcs11Error::UnsupportedKey {
        uri: shown,
        reason: e.to_string(),
    })
}
