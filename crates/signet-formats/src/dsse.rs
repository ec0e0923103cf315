//! DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse `envelope.md`,
//! protobuf `io.intoto.Envelope`): a payload, its type, and signatures over the
//! pre-authentication encoding of the two.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::common::Bytes;
use crate::protojson::{FieldError, Object};

/// `io.intoto.Envelope`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The payload bytes (base64 on the wire).
    pub payload: Vec<u8>,
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

/// `io.intoto.Signature`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    pub sig: Vec<u8>,
    /// Unauthenticated hint naming the key; empty when unset.
    pub keyid: String,
}

/// The DSSE v1 pre-authentication encoding, the message every envelope signature signs:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let payload_len = payload.len().to_string();
    let mut out =
        Vec::with_capacity(9 + type_len.len() + payload_type.len() + payload_len.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// The message the signatures sign.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Parses an envelope from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        crate::protojson::from_json_object(json)
    }

    /// Reads an envelope at `o`, refusing more than `max_signatures` signatures.
    pub(crate) fn read(mut o: Object, max_signatures: usize) -> Result<Self, FieldError> {
        let payload = o.bytes("payload")?;
        let payload_type = o.string("payloadType")?;
        let items = o.array("signatures", max_signatures)?;
        let sig_path = o.path("signatures");
        o.finish()?;
        let signatures = items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let mut s = Object::new(format!("{sig_path}[{i}]"), v)?;
                let sig = s.bytes("sig")?;
                let keyid = s.string("keyid")?;
                s.finish()?;
                Ok(Signature { sig, keyid })
            })
            .collect::<Result<_, FieldError>>()?;
        Ok(Envelope {
            payload,
            payload_type,
            signatures,
        })
    }
}

// Members are written in RFC 8785 order, so the JSON of an envelope is canonical.
impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Envelope", 3)?;
        st.serialize_field("payload", &Bytes(&self.payload))?;
        st.serialize_field("payloadType", &self.payload_type)?;
        st.serialize_field("signatures", &self.signatures)?;
        st.end()
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Signature", 2)?;
        if self.keyid.is_empty() {
            st.skip_field("keyid")?;
        } else {
            st.serialize_field("keyid", &self.keyid)?;
        }
        st.serialize_field("sig", &Bytes(&self.sig))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Object::new("envelope", v)
            .and_then(|o| Envelope::read(o, usize::MAX))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn envelope_round_trips() {
        let json = br#"{"payloadType":"application/vnd.in-toto+json","payload":"aGk","signatures":[{"sig":"AAE=","keyid":""}]}"#;
        let env = Envelope::from_json(json).unwrap();
        assert_eq!(env.payload, b"hi");
        assert_eq!(env.signatures[0].sig, [0, 1]);
        let out = serde_json::to_string(&env).unwrap();
        assert_eq!(
            out,
            r#"{"payload":"aGk=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAE="}]}"#
        );
        assert_eq!(Envelope::from_json(out.as_bytes()).unwrap(), env);
        assert!(Envelope::from_json(br#"{"payload":"aGk","bogus":1}"#).is_err());
    }
}
