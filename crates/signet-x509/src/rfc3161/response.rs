//! Building `TimeStampResp`: a granted response carrying a signed token, or a rejection.

use std::sync::Arc;
use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{CertificateSet, SignerIdentifier};
use der::asn1::{Any, ContextSpecific, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Encode, Tag, TagMode, TagNumber};
use signet_crypto::HashAlgorithm;
use thiserror::Error;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_tsp::{Accuracy, TspVersion, TstInfo};

use super::ess::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use super::request::{int_from_unsigned, message_imprint, TimestampRequest};
use super::{FailureInfo, PkiStatus, PkiStatusInfo, TimeStampResp};
use crate::algorithm::{digest_algorithm_identifier, signature_algorithm_identifier};
use crate::certificate::ParsedCertificate;
use crate::oid;
use signet_crypto::{Signer, SignerError};

/// Why a token could not be issued. A TSA answers these with `systemFailure`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IssueError {
    #[error("encoding the response: {0}")]
    Encoding(#[from] der::Error),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("the TSA certificate does not fit the signer: {0}")]
    Certificate(String),
    #[error("genTime {0} cannot be encoded")]
    Time(i64),
}

/// Issues tokens for one signer and its certificate.
///
/// Everything that does not change per token is DER-encoded once, in [`TokenIssuer::new`], by
/// the same `der` types a token is made of: the certificate set, the SignerInfo's fields
/// around its signed attributes (version, signer identifier, algorithms), the content-type and
/// ESSCertIDv2 attributes, and the SignedData's version and digest algorithms. Per token only
/// the TSTInfo, the signing-time and message-digest attributes and the signature are encoded,
/// and the pieces are framed with DER headers.
pub struct TokenIssuer {
    signer: Arc<dyn Signer>,
    certificate: ParsedCertificate,
    policy: ObjectIdentifier,
    digest: HashAlgorithm,
    accuracy_seconds: u64,
    encoded: Encoded,
}

/// The constant parts of a token, DER-encoded (see [`TokenIssuer`]).
struct Encoded {
    /// `[0] IMPLICIT CertificateSet` holding the TSA certificate.
    certificates: Vec<u8>,
    /// SignerInfo `version`, `sid` and `digestAlgorithm`: what precedes `signedAttrs`.
    signer_info_head: Vec<u8>,
    /// SignerInfo `signatureAlgorithm`: what follows `signedAttrs`.
    signature_algorithm: Vec<u8>,
    /// SignedData `version` and `digestAlgorithms`.
    signed_data_head: Vec<u8>,
    content_type_attr: Vec<u8>,
    signing_certificate_attr: Vec<u8>,
    /// The signed attributes in DER SET OF order, which is the same for every token: the
    /// attributes' lengths are fixed per issuer and their OIDs differ.
    attribute_order: [SignedAttr; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignedAttr {
    ContentType,
    SigningTime,
    MessageDigest,
    SigningCertificate,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("subject", &self.certificate.subject())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// `certificate_der` must certify `signer`'s key. `accuracy_seconds` is how far genTime
    /// may be from the true time (genTime is truncated to whole seconds, so at least 1).
    pub fn new(
        signer: Arc<dyn Signer>,
        certificate_der: &[u8],
        policy: ObjectIdentifier,
        accuracy_seconds: u64,
    ) -> Result<Self, IssueError> {
        let certificate = ParsedCertificate::from_der(certificate_der)
            .map_err(|e| IssueError::Certificate(e.to_string()))?;
        if certificate.public_key().map_err(IssueError::Certificate)? != *signer.public_key() {
            return Err(IssueError::Certificate(
                "certificate key is not the signer's key".into(),
            ));
        }
        let details = signer.details();
        let digest = details.hash_algorithm();
        let signature_algorithm = signature_algorithm_identifier(details).map_err(IssueError::Certificate)?;
        let tbs = &certificate.cert.tbs_certificate;
        // RFC 5035 §3: ESSCertIDv2 over the whole certificate, SHA-256 (the DEFAULT, so absent).
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(HashAlgorithm::Sha2_256.digest(certificate_der))?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        let content_type_attr = attribute(oid::ID_CONTENT_TYPE, Any::encode_from(&oid::ID_CT_TST_INFO)?)?;
        let signing_certificate_attr = attribute(oid::ID_AA_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?;
        // Only the signer's certificate: a one-element SET is trivially in DER order, which
        // sigstore-python's strict parser needs (INTEROP.md point 7).
        let mut certificates = CertificateSet(SetOfVec::new());
        certificates
            .0
            .insert(CertificateChoices::Certificate(certificate.cert.clone()))?;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });
        let digest_algorithm = digest_algorithm_identifier(digest);
        // The order a SET OF sorts the attributes into, from stand-ins of the per-token ones.
        let stand_ins = SetOfVec::try_from(vec![
            content_type_attr.clone(),
            signing_time_attr(0)?,
            message_digest_attr(&vec![0; digest.output_len()])?,
            signing_certificate_attr.clone(),
        ])?;
        let attribute_order = std::array::from_fn(|i| match stand_ins.as_slice()[i].oid {
            oid::ID_CONTENT_TYPE => SignedAttr::ContentType,
            oid::ID_SIGNING_TIME => SignedAttr::SigningTime,
            oid::ID_MESSAGE_DIGEST => SignedAttr::MessageDigest,
            _ => SignedAttr::SigningCertificate,
        });
        let encoded = Encoded {
            certificates: ContextSpecific {
                tag_number: TagNumber::N0,
                tag_mode: TagMode::Implicit,
                value: certificates,
            }
            .to_der()?,
            signer_info_head: [
                CmsVersion::V1.to_der()?,
                sid.to_der()?,
                digest_algorithm.to_der()?,
            ]
            .concat(),
            signature_algorithm: signature_algorithm.to_der()?,
            signed_data_head: [
                // RFC 5652 §5.1: version 3 since eContentType is not id-data.
                CmsVersion::V3.to_der()?,
                SetOfVec::try_from(vec![digest_algorithm])?.to_der()?,
            ]
            .concat(),
            content_type_attr: content_type_attr.to_der()?,
            signing_certificate_attr: signing_certificate_attr.to_der()?,
            attribute_order,
        };
        Ok(TokenIssuer {
            digest,
            signer,
            certificate,
            policy,
            accuracy_seconds: accuracy_seconds.max(1),
            encoded,
        })
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate.der
    }

    /// A granted `TimeStampResp` for `request`, stamped `gen_time` (Unix seconds) with serial
    /// number `serial` (big-endian, unique per token: RFC 3161 §2.4.2).
    pub fn issue(
        &self,
        request: &TimestampRequest,
        serial: &[u8],
        gen_time: i64,
    ) -> Result<Vec<u8>, IssueError> {
        let secs = u64::try_from(gen_time).map_err(|_| IssueError::Time(gen_time))?;
        let when = Duration::from_secs(secs);
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy: request.policy.unwrap_or(self.policy),
            message_imprint: message_imprint(request.hash_algorithm, &request.hashed_message)?,
            serial_number: int_from_unsigned(serial)?,
            gen_time: GeneralizedTime::from_unix_duration(when).map_err(|_| IssueError::Time(gen_time))?,
            accuracy: Some(Accuracy {
                seconds: Some(self.accuracy_seconds),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: request.nonce.as_deref().map(int_from_unsigned).transpose()?,
            tsa: Some(GeneralName::DirectoryName(
                self.certificate.cert.tbs_certificate.subject.clone(),
            )),
            extensions: None,
        }
        .to_der()?;

        let e = &self.encoded;
        let signing_time = signing_time_attr(gen_time)?.to_der()?;
        let message_digest = message_digest_attr(&self.digest.digest(&tst_info))?.to_der()?;
        let attrs: Vec<&[u8]> = e
            .attribute_order
            .iter()
            .map(|a| match a {
                SignedAttr::ContentType => e.content_type_attr.as_slice(),
                SignedAttr::SigningTime => &signing_time,
                SignedAttr::MessageDigest => &message_digest,
                SignedAttr::SigningCertificate => &e.signing_certificate_attr,
            })
            .collect();
        // RFC 5652 §5.4: with signed attributes present, the signature is over their DER
        // encoding as a SET OF (tag 0x31), not the [0] IMPLICIT form they are sent in.
        let mut signed_attrs = tlv(Tag::Set.into(), &attrs)?;
        let signature = self.signer.sign(&signed_attrs)?;
        signed_attrs[0] = CONTEXT_0;

        let signer_info = tlv(
            Tag::Sequence.into(),
            &[
                &e.signer_info_head,
                &signed_attrs,
                &e.signature_algorithm,
                &tlv(Tag::OctetString.into(), &[&signature])?,
            ],
        )?;
        let encap_content_info = tlv(
            Tag::Sequence.into(),
            &[
                &oid::ID_CT_TST_INFO.to_der()?,
                &tlv(CONTEXT_0, &[&tlv(Tag::OctetString.into(), &[&tst_info])?])?,
            ],
        )?;
        let certificates: &[u8] = if request.cert_req { &e.certificates } else { &[] };
        let signed_data = tlv(
            Tag::Sequence.into(),
            &[
                &e.signed_data_head,
                &encap_content_info,
                certificates,
                &tlv(Tag::Set.into(), &[&signer_info])?,
            ],
        )?;
        let content_info = tlv(
            Tag::Sequence.into(),
            &[&oid::ID_SIGNED_DATA.to_der()?, &tlv(CONTEXT_0, &[&signed_data])?],
        )?;
        Ok(tlv(Tag::Sequence.into(), &[GRANTED_STATUS, &content_info])?)
    }
}

/// `[0]` constructed: ContentInfo's `content` and eContent (EXPLICIT), SignerInfo's
/// `signedAttrs` (IMPLICIT SET OF).
const CONTEXT_0: u8 = 0xa0;
/// `PKIStatusInfo { status granted }`.
const GRANTED_STATUS: &[u8] = &[0x30, 0x03, 0x02, 0x01, PkiStatus::Granted as u8];

/// One DER TLV: `tag`, the definite length of `parts` together, then `parts`.
fn tlv(tag: u8, parts: &[&[u8]]) -> Result<Vec<u8>, der::Error> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let length = der::Length::try_from(len)?;
    let mut out = Vec::with_capacity(1 + 5 + len);
    out.push(tag);
    length.encode_to_vec(&mut out)?;
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(out)
}

fn signing_time_attr(gen_time: i64) -> Result<Attribute, IssueError> {
    let time = u64::try_from(gen_time)
        .ok()
        .and_then(|secs| UtcTime::from_unix_duration(Duration::from_secs(secs)).ok())
        .ok_or(IssueError::Time(gen_time))?;
    Ok(attribute(oid::ID_SIGNING_TIME, Any::encode_from(&time)?)?)
}

fn message_digest_attr(digest: &[u8]) -> Result<Attribute, der::Error> {
    attribute(
        oid::ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(digest)?)?,
    )
}

/// A `TimeStampResp` with status rejection, one failure bit and a human-readable reason.
pub fn rejection_response(failure: FailureInfo, reason: &str) -> Vec<u8> {
    let encode = |status_string: Option<Vec<String>>| -> Result<Vec<u8>, der::Error> {
        TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Rejection as u8,
                status_string,
                fail_info: Some(failure.to_bit_string()?),
            },
            time_stamp_token: None,
        }
        .to_der()
    };
    // A reason that cannot be encoded (it never should) still leaves a valid rejection.
    encode(Some(vec![reason.to_string()]))
        .or_else(|_| encode(None))
        .unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}
