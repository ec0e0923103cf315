//! The DER that PKCS#11 leaves to the caller: a SubjectPublicKeyInfo built from a token's
//! `CKA_EC_PARAMS`/`CKA_EC_POINT`, and the X.509/Sigstore ECDSA signature (a DER
//! `Ecdsa-Sig-Value`, RFC 3279 §2.2.3) from the raw `r || s` that `CKM_ECDSA` returns
//! (PKCS#11 3.0 §2.3.1).

/// The curves a token key may be on, as signet signs with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    Ed25519,
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// PKCS#11 3.0 §2.3.5 also lets `CKA_EC_PARAMS` of an Edwards key name the curve as a
/// PrintableString (what OpenSC's `pkcs11-tool --key-type EC:edwards25519` writes).
const NAME_ED25519: &[u8] = b"\x13\x0cedwards25519";

impl Curve {
    /// The curve `CKA_EC_PARAMS` names (a DER OID, or for Edwards keys the curve's name).
    pub(crate) fn from_ec_params(params: &[u8], edwards: bool) -> Option<Curve> {
        match (edwards, params) {
            (false, p) if p == OID_P256 => Some(Curve::P256),
            (false, p) if p == OID_P384 => Some(Curve::P384),
            (true, p) if p == OID_ED25519 || p == NAME_ED25519 => Some(Curve::Ed25519),
            _ => None,
        }
    }

    /// Bytes of the public point as the SPKI carries it.
    fn point_len(self) -> usize {
        match self {
            Curve::P256 => 65,
            Curve::P384 => 97,
            Curve::Ed25519 => 32,
        }
    }

    /// Bytes of `r || s` from `CKM_ECDSA` (or of an Ed25519 signature).
    pub(crate) fn raw_signature_len(self) -> usize {
        match self {
            Curve::P256 => 64,
            Curve::P384 => 96,
            Curve::Ed25519 => 64,
        }
    }
}

/// The SubjectPublicKeyInfo DER for the public point in `CKA_EC_POINT`, which PKCS#11 wraps in
/// a DER OCTET STRING (some modules give it bare; both are accepted).
pub(crate) fn spki_from_ec_point(curve: Curve, ec_point: &[u8]) -> Option<Vec<u8>> {
    let n = curve.point_len();
    let point = if ec_point.len() == n {
        ec_point
    } else if ec_point.len() == n + 2 && ec_point[0] == 0x04 && usize::from(ec_point[1]) == n {
        &ec_point[2..]
    } else {
        return None;
    };
    if curve != Curve::Ed25519 && point[0] != 0x04 {
        return None; // only uncompressed points
    }
    let algorithm = match curve {
        Curve::P256 => tlv(0x30, &[OID_EC_PUBLIC_KEY, OID_P256].concat()),
        Curve::P384 => tlv(0x30, &[OID_EC_PUBLIC_KEY, OID_P384].concat()),
        Curve::Ed25519 => tlv(0x30, OID_ED25519),
    };
    let bits = tlv(0x03, &[&[0u8][..], point].concat());
    Some(tlv(0x30, &[algorithm, bits].concat()))
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from the fixed-width `r || s`.
pub(crate) fn ecdsa_der_from_raw(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Some(tlv(0x30, &[integer(r), integer(s)].concat()))
}

/// A DER INTEGER of the unsigned big-endian `bytes`: leading zeros dropped, one zero added
/// when the top bit is set (so it stays positive).
fn integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[start..];
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(0x02, &content)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::{KeyKind, PublicKey, SigningKey};

    /// A key signet-crypto made, taken apart into its point and put back together as a token's
    /// attributes would give it, is the same SubjectPublicKeyInfo.
    #[test]
    fn spki_from_point_matches_signet_crypto() {
        for (kind, curve) in [
            (KeyKind::EcdsaP256, Curve::P256),
            (KeyKind::EcdsaP384, Curve::P384),
            (KeyKind::Ed25519, Curve::Ed25519),
        ] {
            let key = SigningKey::generate(kind).unwrap();
            let public = key.public_key();
            let point = public.raw_bytes();
            let wrapped = [&[0x04, point.len() as u8][..], point].concat();
            assert_eq!(spki_from_ec_point(curve, &wrapped).unwrap(), public.spki_der());
            assert_eq!(spki_from_ec_point(curve, point).unwrap(), public.spki_der());
            assert!(PublicKey::from_spki_der(&spki_from_ec_point(curve, point).unwrap()).is_ok());
            assert!(spki_from_ec_point(curve, &point[1..]).is_none());
        }
    }

    #[test]
    fn raw_signatures_become_der_that_verifies() {
        // aws-lc signs in DER; take r and s out, pad them to the fixed width, and rebuild.
        for (kind, width) in [(KeyKind::EcdsaP256, 32), (KeyKind::EcdsaP384, 48)] {
            let key = SigningKey::generate(kind).unwrap();
            for i in 0..32u8 {
                let message = [i; 7];
                let der = key.sign(&message).unwrap();
                let (r, s) = split_der(&der);
                let pad = |x: &[u8]| {
                    let x = &x[x.iter().position(|&b| b != 0).unwrap_or(x.len())..];
                    [vec![0u8; width - x.len()], x.to_vec()].concat()
                };
                let raw = [pad(r), pad(s)].concat();
                let rebuilt = ecdsa_der_from_raw(&raw).unwrap();
                assert_eq!(rebuilt, der);
                key.public_key().verify_default(&message, &rebuilt).unwrap();
            }
        }
        assert_eq!(
            ecdsa_der_from_raw(&[0, 0]).unwrap(),
            vec![0x30, 6, 2, 1, 0, 2, 1, 0]
        );
        assert!(ecdsa_der_from_raw(&[1, 2, 3]).is_none());
    }

    fn split_der(der: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(der[0], 0x30);
        let body = if der[1] & 0x80 != 0 { &der[3..] } else { &der[2..] };
        let rlen = usize::from(body[1]);
        let r = &body[2..2 + rlen];
        let rest = &body[2 + rlen..];
        let s = &rest[2..2 + usize::from(rest[1])];
        (r, s)
    }

    #[test]
    fn long_lengths_use_the_long_form() {
        let long = tlv(0x04, &[7u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
