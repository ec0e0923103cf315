//! Building `TimeStampResp`: a granted response carrying a signed token, or a rejection.

use std::sync::Arc;
use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Encode, Tag};
use signet_crypto::HashAlgorithm;
use spki::AlgorithmIdentifierOwned;
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
use crate::signer::{Signer, SignerError};

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

/// Issues tokens for one signer and its certificate. Everything that does not change per
/// request (the ESSCertIDv2 attribute, the signer identifier, the algorithms) is made once.
pub struct TokenIssuer {
    signer: Arc<dyn Signer>,
    certificate: ParsedCertificate,
    policy: ObjectIdentifier,
    digest: HashAlgorithm,
    signature_algorithm: AlgorithmIdentifierOwned,
    signing_certificate_attr: Attribute,
    accuracy_seconds: u64,
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
        let signature_algorithm = signature_algorithm_identifier(details).map_err(IssueError::Certificate)?;
        // RFC 5035 §3: ESSCertIDv2 over the whole certificate, SHA-256 (the DEFAULT, so absent).
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(HashAlgorithm::Sha2_256.digest(certificate_der))?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        certificate.cert.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: certificate.cert.tbs_certificate.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        Ok(TokenIssuer {
            signing_certificate_attr: attribute(oid::ID_AA_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
            digest: details.hash_algorithm(),
            signer,
            certificate,
            policy,
            signature_algorithm,
            accuracy_seconds: accuracy_seconds.max(1),
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

        // RFC 5652 §5.4: with signed attributes present, the signature is over their DER
        // encoding as a SET OF (tag 0x31), not the [0] IMPLICIT form they are sent in.
        let signed_attrs: SetOfVec<Attribute> = SetOfVec::try_from(vec![
            attribute(oid::ID_CONTENT_TYPE, Any::encode_from(&oid::ID_CT_TST_INFO)?)?,
            attribute(
                oid::ID_SIGNING_TIME,
                Any::encode_from(
                    &UtcTime::from_unix_duration(when).map_err(|_| IssueError::Time(gen_time))?,
                )?,
            )?,
            attribute(
                oid::ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(self.digest.digest(&tst_info))?)?,
            )?,
            self.signing_certificate_attr.clone(),
        ])?;
        let signature = self.signer.sign(&signed_attrs.to_der()?)?;

        let tbs = &self.certificate.cert.tbs_certificate;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            }),
            digest_alg: digest_algorithm_identifier(self.digest),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: self.signature_algorithm.clone(),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        // Only the signer's certificate: a one-element SET is trivially in DER order, which
        // sigstore-python's strict parser needs (INTEROP.md point 7).
        let certificates = if request.cert_req {
            let mut set = CertificateSet(SetOfVec::new());
            set.0
                .insert(CertificateChoices::Certificate(self.certificate.cert.clone()))?;
            Some(set)
        } else {
            None
        };
        let signed_data = SignedData {
            // RFC 5652 §5.1: version 3 since eContentType is not id-data.
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm_identifier(self.digest)])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid::ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        Ok(TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Granted as u8,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(ContentInfo {
                content_type: oid::ID_SIGNED_DATA,
                content: Any::encode_from(&signed_data)?,
            }),
        }
        .to_der()?)
    }
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
