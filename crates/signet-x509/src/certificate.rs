//! Reading certificates: validity windows, key usages, and issuer signatures. Building them is
//! in [`crate::profile`].

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use signet_crypto::PublicKey;
use signet_formats::common::DistinguishedName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};
use x509_cert::Certificate;

use crate::algorithm::verify_signature;
use crate::oid;

/// A DER certificate, parsed, with its encoding kept for comparison and hashing.
#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    pub der: Vec<u8>,
    pub cert: Certificate,
}

impl ParsedCertificate {
    pub fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        Ok(ParsedCertificate {
            der: der.to_vec(),
            cert: Certificate::from_der(der)?,
        })
    }

    /// `notBefore` and `notAfter` in Unix seconds; the window is closed (RFC 5280 §4.1.2.5).
    pub fn validity(&self) -> (i64, i64) {
        let v = &self.cert.tbs_certificate.validity;
        (
            unix(v.not_before.to_unix_duration()),
            unix(v.not_after.to_unix_duration()),
        )
    }

    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// The subject's organization and common name (UTF8String or PrintableString), as a
    /// trusted root's `certificateAuthorities[].subject` names a CA.
    pub fn subject_dn(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::default();
        for atv in self
            .cert
            .tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
        {
            let value = der::asn1::Utf8StringRef::try_from(&atv.value)
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    der::asn1::PrintableStringRef::try_from(&atv.value).map(|s| s.as_str().to_string())
                });
            match (atv.oid.to_string().as_str(), value) {
                ("2.5.4.10", Ok(v)) => dn.organization = v,
                ("2.5.4.3", Ok(v)) => dn.common_name = v,
                _ => {}
            }
        }
        dn
    }

    pub fn public_key(&self) -> Result<PublicKey, String> {
        let spki = self
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        PublicKey::from_spki_der(&spki).map_err(|e| e.to_string())
    }

    /// Whether BasicConstraints says `cA`.
    pub fn is_ca(&self) -> bool {
        self.extension::<BasicConstraints>(&oid::ID_CE_BASIC_CONSTRAINTS)
            .is_some_and(|(_, bc)| bc.ca)
    }

    /// The extended key usages and whether the extension is critical.
    pub fn extended_key_usage(&self) -> Option<(bool, Vec<ObjectIdentifier>)> {
        self.extension::<ExtendedKeyUsage>(&oid::ID_CE_EXT_KEY_USAGE)
            .map(|(critical, eku)| (critical, eku.0))
    }

    fn extension<'a, T: Decode<'a>>(&'a self, id: &ObjectIdentifier) -> Option<(bool, T)> {
        let ext = self
            .cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == *id)?;
        T::from_der(ext.extn_value.as_bytes())
            .ok()
            .map(|v| (ext.critical, v))
    }

    /// The DER TBSCertificate exactly as it appears in [`Self::der`]: the bytes the issuer
    /// signed (RFC 5280 §4.1.1.3), sliced out rather than re-encoded from the parsed form.
    pub fn tbs_der(&self) -> Result<&[u8], der::Error> {
        use der::Reader as _;
        let mut reader = der::SliceReader::new(&self.der)?;
        der::Header::decode(&mut reader)?;
        reader.tlv_bytes()
    }

    /// Checks this certificate's signature with `issuer`'s key, and that the names chain.
    pub fn verify_issued_by(&self, issuer: &ParsedCertificate) -> Result<(), String> {
        if self.cert.tbs_certificate.issuer != issuer.cert.tbs_certificate.subject {
            return Err(format!(
                "issuer {} is not the subject {}",
                self.cert.tbs_certificate.issuer,
                issuer.subject()
            ));
        }
        self.verify_signature_by(&issuer.public_key()?)
    }

    /// Checks this certificate's signature with an issuer key the caller has already parsed
    /// (a verifier parses each trusted CA's key once). Names are not compared here: callers
    /// pair a certificate with its issuer first, as [`Self::verify_issued_by`] does.
    pub fn verify_signature_by(&self, issuer_key: &PublicKey) -> Result<(), String> {
        let tbs = self.tbs_der().map_err(|e| e.to_string())?;
        let signature = self
            .cert
            .signature
            .as_bytes()
            .ok_or("signature bit string is not octet aligned")?;
        verify_signature(
            issuer_key,
            &self.cert.signature_algorithm.oid,
            None,
            tbs,
            signature,
        )
    }
}

fn unix(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// `notBefore` and `notAfter` of a DER certificate in Unix seconds: a verifier checks a
/// timestamp against the signing certificate's lifetime with this.
pub fn certificate_validity(cert_der: &[u8]) -> Result<(i64, i64), der::Error> {
    Ok(ParsedCertificate::from_der(cert_der)?.validity())
}

/// Checks a chain [issuing, …, root] (each certificate issued by the next, the root
/// self-signed) and makes its `certificateAuthorities` / `timestampAuthorities` entry for a
/// trusted root: subject from the root, `validFor` starting at the latest notBefore (when every
/// certificate is valid), `uri` left for the caller, who knows where it is served.
pub fn authority_entry(chain: &[Vec<u8>]) -> Result<signet_formats::trust::CertificateAuthority, String> {
    use signet_formats::common::{TimeRange, Timestamp, X509Certificate, X509CertificateChain};
    let parsed = chain
        .iter()
        .map(|c| ParsedCertificate::from_der(c).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let root = parsed.last().ok_or("empty chain")?;
    for pair in parsed.windows(2) {
        pair[0].verify_issued_by(&pair[1])?;
    }
    root.verify_issued_by(root)
        .map_err(|e| format!("the root is not self-signed: {e}"))?;
    let valid_from = parsed.iter().map(|c| c.validity().0).max().unwrap_or(0);
    Ok(signet_formats::trust::CertificateAuthority {
        subject: root.subject_dn(),
        uri: None,
        cert_chain: X509CertificateChain {
            certificates: chain
                .iter()
                .map(|der| X509Certificate {
                    raw_bytes: der.clone(),
                })
                .collect(),
        },
        valid_for: TimeRange::starting(Timestamp::from_unix(valid_from)),
        operator: None,
    })
}
