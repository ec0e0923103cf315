//! Reading certificates: validity windows, extensions (decoded and checked as Go's
//! `crypto/x509` parser does, see [`ParsedCertificate::check_extensions`]), and issuer
//! signatures. Building them is in [`crate::profile`].

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use signet_crypto::PublicKey;
use signet_formats::common::DistinguishedName;
use thiserror::Error;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, NameConstraints, SubjectAltName};
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use crate::algorithm::verify_signature;
use crate::oid;

/// Why a certificate's extensions are refused: what Go's `x509.ParseCertificate` refuses among
/// the extensions signet relies on, and critical extensions nothing here processes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    #[error("extension {oid} appears more than once; RFC 5280 §4.2 allows one instance of each (Go's parser refuses duplicates)")]
    Duplicate { oid: ObjectIdentifier },
    #[error("the {name} extension ({oid}) does not decode: expected DER {expected}; {reason}")]
    Malformed {
        name: &'static str,
        oid: ObjectIdentifier,
        expected: &'static str,
        reason: String,
    },
    #[error("the {name} extension ({oid}) is marked critical; RFC 5280 {section} has conforming CAs mark it non-critical, and Go's parser refuses such a certificate")]
    MustNotBeCritical {
        name: &'static str,
        oid: ObjectIdentifier,
        section: &'static str,
    },
    #[error("critical extension {oid} is {seen}; RFC 5280 §4.2 requires refusing a certificate with a critical extension the verifier cannot process (Go: x509.UnhandledCriticalExtension); expected only keyUsage, basicConstraints, extKeyUsage, subjectAltName, cRLDistributionPoints, certificatePolicies or (on an end-entity certificate) nameConstraints to be critical")]
    UnhandledCritical {
        oid: ObjectIdentifier,
        /// What the extension is and why it is not processed.
        seen: &'static str,
    },
}

/// Where a certificate sits on a certification path: which critical extensions a verifier
/// processes depends on it (name constraints, for one, constrain only what a CA issues).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateRole {
    /// The certificate being verified (a Fulcio signing certificate).
    EndEntity,
    /// A certificate of a trusted authority's chain: an intermediate or the root.
    Authority,
}

/// BasicConstraints (RFC 5280 §4.2.1.9), as Go's `parseBasicConstraintsExtension` reads it:
/// `cA` DEFAULT FALSE (an explicit FALSE is accepted, as Go does), `pathLenConstraint` any
/// non-negative INTEGER (x509-cert's type caps it at 255, which Go does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, der::Sequence)]
pub struct BasicConstraintsValue {
    #[asn1(default = "Default::default")]
    pub ca: bool,
    pub path_len_constraint: Option<u64>,
}

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

    /// The certificate's extensions, in order (empty for a v1/v2 certificate).
    pub fn extensions(&self) -> &[Extension] {
        self.cert.tbs_certificate.extensions.as_deref().unwrap_or(&[])
    }

    /// BasicConstraints, `None` when the certificate has none. An extension that does not
    /// decode is an error, never "not a CA": Go's `x509.ParseCertificate` refuses such a
    /// certificate, and reading it as absent would let a leaf with a BER-encoded `cA TRUE`
    /// (`30 03 01 01 01`) pass a "not a CA" check.
    pub fn basic_constraints(&self) -> Result<Option<BasicConstraintsValue>, ExtensionError> {
        self.decode_extension(
            &oid::ID_CE_BASIC_CONSTRAINTS,
            "basicConstraints",
            "SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }",
        )
        .map(|found| found.map(|(_, bc)| bc))
    }

    /// Whether BasicConstraints says `cA` (false when it is absent); an error when it does
    /// not decode, so that neither "is a CA" nor "is not a CA" can be concluded from it.
    pub fn is_ca(&self) -> Result<bool, ExtensionError> {
        Ok(self.basic_constraints()?.is_some_and(|bc| bc.ca))
    }

    /// KeyUsage and whether it is critical, `None` when absent; an error when it does not
    /// decode.
    pub fn key_usage(&self) -> Result<Option<(bool, KeyUsage)>, ExtensionError> {
        self.decode_extension(&oid::ID_CE_KEY_USAGE, "keyUsage", "BIT STRING")
    }

    /// The extended key usages and whether the extension is critical. `None` when absent or
    /// when it does not decode: callers that must fail closed on a malformed one run
    /// [`Self::check_extensions`] first, which refuses it.
    pub fn extended_key_usage(&self) -> Option<(bool, Vec<ObjectIdentifier>)> {
        self.extended_key_usages().ok().flatten()
    }

    /// [`Self::extended_key_usage`], with a malformed extension an error.
    pub fn extended_key_usages(&self) -> Result<Option<(bool, Vec<ObjectIdentifier>)>, ExtensionError> {
        self.decode_extension::<ExtendedKeyUsage>(
            &oid::ID_CE_EXT_KEY_USAGE,
            "extKeyUsage",
            "SEQUENCE OF KeyPurposeId",
        )
        .map(|found| found.map(|(critical, eku)| (critical, eku.0)))
    }

    fn decode_extension<'a, T: Decode<'a>>(
        &'a self,
        id: &ObjectIdentifier,
        name: &'static str,
        expected: &'static str,
    ) -> Result<Option<(bool, T)>, ExtensionError> {
        let Some(ext) = self.extensions().iter().find(|e| e.extn_id == *id) else {
            return Ok(None);
        };
        T::from_der(ext.extn_value.as_bytes())
            .map(|v| Some((ext.critical, v)))
            .map_err(|e| ExtensionError::Malformed {
                name,
                oid: *id,
                expected,
                reason: e.to_string(),
            })
    }

    /// The extension checks Go's `x509.ParseCertificate` and `Certificate.Verify` make, for a
    /// certificate in `role`:
    ///
    /// - no extension appears twice (RFC 5280 §4.2; Go refuses duplicates);
    /// - basicConstraints, keyUsage and extKeyUsage decode (Go refuses the certificate when one
    ///   does not, and signet decides CA-ness and usages from them);
    /// - subjectKeyIdentifier, authorityKeyIdentifier and authorityInfoAccess are not critical
    ///   (RFC 5280 §4.2.1.2, §4.2.1.1, §4.2.2.1; Go's parser refuses them critical);
    /// - every critical extension is one a verifier processes (RFC 5280 §4.2: "A
    ///   certificate-using system MUST reject the certificate if it encounters a critical
    ///   extension it does not recognize"; Go's `Verify` returns UnhandledCriticalExtension).
    ///
    /// The critical extensions processed are those Go's parser handles, less what signet
    /// cannot act on: keyUsage, basicConstraints, extKeyUsage, cRLDistributionPoints and
    /// certificatePolicies (inert without policy constraints, which are refused below);
    /// subjectAltName — on an end-entity certificate always, since the identity check reads
    /// every SAN form Fulcio issues and sigstore-go likewise drops it from Go's unhandled list
    /// for the otherName SAN Go cannot parse; on a CA only when it holds a dNSName, rfc822Name,
    /// iPAddress or URI, as Go requires; nameConstraints on an end-entity certificate when every
    /// subtree is one of those four types (Go's rule; constraints in a leaf constrain nothing).
    /// Refused when critical: nameConstraints on a CA (Go enforces them on what the CA issued;
    /// signet does not), policyMappings, policyConstraints and inhibitAnyPolicy (Go runs
    /// RFC 5280 §6.1 policy processing on them; signet does not), Fulcio's own
    /// 1.3.6.1.4.1.57264.1.* extensions (never critical in a real certificate), and anything
    /// else.
    pub fn check_extensions(&self, role: CertificateRole) -> Result<(), ExtensionError> {
        let extensions = self.extensions();
        for (i, ext) in extensions.iter().enumerate() {
            if extensions[..i].iter().any(|e| e.extn_id == ext.extn_id) {
                return Err(ExtensionError::Duplicate { oid: ext.extn_id });
            }
        }
        self.basic_constraints()?;
        self.key_usage()?;
        self.extended_key_usages()?;
        for ext in extensions {
            if let Some((name, section)) = must_not_be_critical(&ext.extn_id) {
                if ext.critical {
                    return Err(ExtensionError::MustNotBeCritical {
                        name,
                        oid: ext.extn_id,
                        section,
                    });
                }
            }
            if ext.critical {
                check_critical_extension(ext, role)?;
            }
        }
        Ok(())
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

/// The extensions RFC 5280 requires non-critical and Go's parser refuses when critical, with
/// their names and sections.
fn must_not_be_critical(id: &ObjectIdentifier) -> Option<(&'static str, &'static str)> {
    match *id {
        oid::ID_CE_SUBJECT_KEY_IDENTIFIER => Some(("subjectKeyIdentifier", "§4.2.1.2")),
        oid::ID_CE_AUTHORITY_KEY_IDENTIFIER => Some(("authorityKeyIdentifier", "§4.2.1.1")),
        oid::ID_PE_AUTHORITY_INFO_ACCESS => Some(("authorityInfoAccess", "§4.2.2.1")),
        _ => None,
    }
}

/// Refuses the critical extension `ext` unless a verifier processes it for a certificate in
/// `role` (see [`ParsedCertificate::check_extensions`]).
fn check_critical_extension(ext: &Extension, role: CertificateRole) -> Result<(), ExtensionError> {
    let unhandled = |seen| {
        Err(ExtensionError::UnhandledCritical {
            oid: ext.extn_id,
            seen,
        })
    };
    match ext.extn_id {
        oid::ID_CE_KEY_USAGE
        | oid::ID_CE_BASIC_CONSTRAINTS
        | oid::ID_CE_EXT_KEY_USAGE
        | oid::ID_CE_CRL_DISTRIBUTION_POINTS
        | oid::ID_CE_CERTIFICATE_POLICIES => Ok(()),
        oid::ID_CE_SUBJECT_ALT_NAME => match role {
            CertificateRole::EndEntity => Ok(()),
            CertificateRole::Authority => {
                let names = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| {
                    ExtensionError::Malformed {
                        name: "subjectAltName",
                        oid: ext.extn_id,
                        expected: "GeneralNames",
                        reason: e.to_string(),
                    }
                })?;
                if names.0.iter().any(go_parses_general_name) {
                    Ok(())
                } else {
                    unhandled("a subjectAltName on a CA with no dNSName, rfc822Name, iPAddress or URI (the only forms Go processes)")
                }
            }
        },
        oid::ID_CE_NAME_CONSTRAINTS => match role {
            CertificateRole::Authority => {
                unhandled("nameConstraints on a CA, which signet does not enforce on the certificates below it")
            }
            CertificateRole::EndEntity => {
                let malformed = |reason: String| ExtensionError::Malformed {
                    name: "nameConstraints",
                    oid: ext.extn_id,
                    expected: "NameConstraints with at least one non-empty subtree list (RFC 5280 §4.2.1.10)",
                    reason,
                };
                let nc = NameConstraints::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| malformed(e.to_string()))?;
                // RFC 5280 §4.2.1.10: one of the two lists is present, and a list is
                // SIZE (1..MAX); Go refuses the certificate otherwise.
                let subtrees = [&nc.permitted_subtrees, &nc.excluded_subtrees];
                let absent = subtrees.iter().all(|s| s.is_none());
                let empty = subtrees.iter().any(|s| s.as_ref().is_some_and(Vec::is_empty));
                if absent || empty {
                    return Err(malformed("no subtrees".into()));
                }
                if subtrees
                    .iter()
                    .flat_map(|s| s.iter().flatten())
                    .all(|subtree| go_parses_general_name(&subtree.base))
                {
                    Ok(())
                } else {
                    unhandled("nameConstraints with a subtree other than dNSName, rfc822Name, iPAddress or URI (Go leaves those unhandled)")
                }
            }
        },
        oid::ID_CE_POLICY_MAPPINGS | oid::ID_CE_POLICY_CONSTRAINTS | oid::ID_CE_INHIBIT_ANY_POLICY => {
            unhandled("a certificate-policy processing extension, and signet does not run RFC 5280 §6.1 policy processing")
        }
        id if id.parent() == Some(oid::FULCIO_ARC) => {
            unhandled("a Fulcio extension (1.3.6.1.4.1.57264.1.*), which Fulcio never marks critical")
        }
        _ => unhandled("not an extension signet processes"),
    }
}

/// The GeneralName forms Go's parser reads out of a SAN or a name constraint (RFC 5280
/// §4.2.1.6): a critical extension holding only other forms is unhandled in Go.
fn go_parses_general_name(name: &GeneralName) -> bool {
    matches!(
        name,
        GeneralName::DnsName(_)
            | GeneralName::Rfc822Name(_)
            | GeneralName::IpAddress(_)
            | GeneralName::UniformResourceIdentifier(_)
    )
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
