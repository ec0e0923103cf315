//! `CreateEntryRequest` and its parts (rekor-tiles `api/proto/rekor/v2/entry.proto`,
//! `hashedrekord.proto`, `dsse.proto`, `verifier.proto`).

use serde::{Serialize, Serializer};
use serde_json::Value;
use signet_crypto::PublicKeyDetails;

use super::EntryError;
use crate::common::Bytes;
use crate::dsse::Envelope;
use crate::protojson::{FieldError, Object};

/// At most this many verifiers in a DSSE request, as Rekor v2 allows.
pub const MAX_VERIFIERS: usize = 10;
/// At most this many envelope signatures in a DSSE request, as Rekor v2 allows.
pub const MAX_SIGNATURES: usize = 10;

const KEY_DETAILS_NAMES: &str = "PKIX_ECDSA_P256_SHA_256, PKIX_ECDSA_P384_SHA_384, \
    PKIX_ECDSA_P521_SHA_512, PKIX_ED25519, PKIX_ED25519_PH, PKIX_RSA_PKCS1V15_2048_SHA256, \
    PKIX_RSA_PKCS1V15_3072_SHA256, PKIX_RSA_PKCS1V15_4096_SHA256";

/// `CreateEntryRequest`: the body of `POST /api/v2/log/entries`, one entry kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateEntryRequest {
    HashedRekordRequestV002(HashedRekordRequestV002),
    DsseRequestV002(DsseRequestV002),
}

/// `HashedRekordRequestV002`: a signature over an artifact's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekordRequestV002 {
    pub digest: Vec<u8>,
    pub signature: Signature,
}

/// `DSSERequestV002`: a DSSE envelope and the keys that verify its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseRequestV002 {
    pub envelope: Envelope,
    pub verifiers: Vec<Verifier>,
}

/// `Signature` (`dev.sigstore.rekor.v2`): signature bytes and the verifier that checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub content: Vec<u8>,
    pub verifier: Verifier,
}

/// `Verifier`: a key or certificate, and the signature scheme it is used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub key: VerifierKey,
    pub key_details: PublicKeyDetails,
}

/// The `verifier` oneof of `Verifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifierKey {
    /// `publicKey.rawBytes`: DER SubjectPublicKeyInfo.
    PublicKey(Vec<u8>),
    /// `x509Certificate.rawBytes`: DER X.509 certificate.
    X509Certificate(Vec<u8>),
}

impl VerifierKey {
    /// The DER bytes, whichever the kind.
    pub fn raw_bytes(&self) -> &[u8] {
        match self {
            VerifierKey::PublicKey(b) | VerifierKey::X509Certificate(b) => b,
        }
    }
}

impl CreateEntryRequest {
    /// Parses a request body, checking its structure (not its signatures): exactly one entry
    /// kind, no unknown fields, every required field present, base64 and enum names valid,
    /// sizes within Rekor's bounds.
    pub fn from_json(body: &[u8]) -> Result<Self, EntryError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| EntryError::Json(e.to_string()))?;
        let mut top = Object::new("", value)?;
        let hashed = top.object("hashedRekordRequestV002")?;
        let dsse = top.object("dsseRequestV002")?;
        if let Some(found) = top.remaining_key() {
            return Err(EntryError::UnknownKind {
                found: found.to_string(),
            });
        }
        match (hashed, dsse) {
            (Some(o), None) => Ok(CreateEntryRequest::HashedRekordRequestV002(
                HashedRekordRequestV002::read(o)?,
            )),
            (None, Some(o)) => Ok(CreateEntryRequest::DsseRequestV002(DsseRequestV002::read(o)?)),
            (Some(_), Some(_)) => Err(EntryError::MultipleKinds),
            (None, None) => Err(EntryError::NoKind),
        }
    }

    /// The request as JSON (what a client sends).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("request serialisation cannot fail")
    }
}

impl HashedRekordRequestV002 {
    fn read(mut o: Object) -> Result<Self, FieldError> {
        let digest = o.required_bytes("digest")?;
        let signature = Signature::read(o.required_object("signature")?)?;
        o.finish()?;
        Ok(HashedRekordRequestV002 { digest, signature })
    }
}

impl DsseRequestV002 {
    fn read(mut o: Object) -> Result<Self, FieldError> {
        let envelope = Envelope::read(o.required_object("envelope")?, MAX_SIGNATURES)?;
        let path = o.path("verifiers");
        let verifiers = o
            .array("verifiers", MAX_VERIFIERS)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Verifier::read(Object::new(format!("{path}[{i}]"), v)?))
            .collect::<Result<_, _>>()?;
        o.finish()?;
        Ok(DsseRequestV002 { envelope, verifiers })
    }
}

impl Signature {
    pub(crate) fn read(mut o: Object) -> Result<Self, FieldError> {
        let content = o.required_bytes("content")?;
        let verifier = Verifier::read(o.required_object("verifier")?)?;
        o.finish()?;
        Ok(Signature { content, verifier })
    }
}

impl Verifier {
    pub(crate) fn read(mut o: Object) -> Result<Self, FieldError> {
        let public_key = o.object("publicKey")?;
        let certificate = o.object("x509Certificate")?;
        let key_details = o.required_enum("keyDetails", PublicKeyDetails::parse, KEY_DETAILS_NAMES)?;
        let key = match (public_key, certificate) {
            (Some(k), None) => VerifierKey::PublicKey(read_raw_bytes(k)?),
            (None, Some(c)) => VerifierKey::X509Certificate(read_raw_bytes(c)?),
            (Some(_), Some(_)) => {
                return Err(FieldError::OneofConflict {
                    field: o.path("verifier"),
                    found: "publicKey and x509Certificate".into(),
                })
            }
            (None, None) => {
                return Err(FieldError::MissingField {
                    field: o.path("publicKey|x509Certificate"),
                })
            }
        };
        o.finish()?;
        Ok(Verifier { key, key_details })
    }
}

/// Reads `{"rawBytes": …}` (a `PublicKey` or an `X509Certificate`).
fn read_raw_bytes(mut o: Object) -> Result<Vec<u8>, FieldError> {
    let raw = o.required_bytes("rawBytes")?;
    o.finish()?;
    Ok(raw)
}

// Serialisation writes members in RFC 8785 order, so the same code makes both a client's
// request and the canonical entry body (which embeds `Signature` and `Verifier`).

impl Serialize for CreateEntryRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            CreateEntryRequest::HashedRekordRequestV002(r) => {
                m.serialize_entry("hashedRekordRequestV002", r)?
            }
            CreateEntryRequest::DsseRequestV002(r) => m.serialize_entry("dsseRequestV002", r)?,
        }
        m.end()
    }
}

impl Serialize for HashedRekordRequestV002 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("HashedRekordRequestV002", 2)?;
        st.serialize_field("digest", &Bytes(&self.digest))?;
        st.serialize_field("signature", &self.signature)?;
        st.end()
    }
}

impl Serialize for DsseRequestV002 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("DSSERequestV002", 2)?;
        st.serialize_field("envelope", &self.envelope)?;
        st.serialize_field("verifiers", &self.verifiers)?;
        st.end()
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Signature", 2)?;
        st.serialize_field("content", &Bytes(&self.content))?;
        st.serialize_field("verifier", &self.verifier)?;
        st.end()
    }
}

impl Serialize for Verifier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct Raw<'a> {
            #[serde(rename = "rawBytes")]
            raw_bytes: Bytes<'a>,
        }
        let mut st = s.serialize_struct("Verifier", 2)?;
        st.serialize_field("keyDetails", self.key_details.as_str())?;
        match &self.key {
            VerifierKey::PublicKey(b) => st.serialize_field("publicKey", &Raw { raw_bytes: Bytes(b) })?,
            VerifierKey::X509Certificate(b) => {
                st.serialize_field("x509Certificate", &Raw { raw_bytes: Bytes(b) })?
            }
        }
        st.end()
    }
}
