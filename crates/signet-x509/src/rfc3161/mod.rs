//! RFC 3161 time-stamp protocol: requests, responses, tokens and their verification.
//!
//! The ASN.1 types come from RustCrypto's `x509-tsp` (`TimeStampReq`, `TstInfo`) and `cms`
//! (`SignedData`), so the code reads like RFC 3161 and RFC 5652. `PKIStatusInfo` and
//! `TimeStampResp` are declared here instead: `x509-tsp` borrows them from `cmpv2`, whose
//! `PKIFailureInfo` flags are numbered as masks rather than bit positions.

mod ess;
mod request;
mod response;
mod token;
mod verify;

use der::asn1::BitString;
use der::Sequence;

pub use ess::{EssCertId, EssCertIdV2, IssuerSerial, SigningCertificate, SigningCertificateV2};
pub use request::{RequestError, TimestampRequest};
pub use response::{rejection_response, IssueError, TokenIssuer};
pub use token::{TimestampResponse, TimestampToken};
pub use verify::{verify_timestamp, TimestampError, TsaTrust, VerifiedTimestamp};
pub use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TstInfo};

/// RFC 3161 §2.4.2 `PKIStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkiStatus {
    Granted = 0,
    GrantedWithMods = 1,
    Rejection = 2,
    Waiting = 3,
    RevocationWarning = 4,
    RevocationNotification = 5,
}

impl PkiStatus {
    fn from_int(value: u8) -> Option<Self> {
        Some(match value {
            0 => PkiStatus::Granted,
            1 => PkiStatus::GrantedWithMods,
            2 => PkiStatus::Rejection,
            3 => PkiStatus::Waiting,
            4 => PkiStatus::RevocationWarning,
            5 => PkiStatus::RevocationNotification,
            _ => return None,
        })
    }
}

/// RFC 3161 §2.4.2 `PKIFailureInfo`: the named bits a TSA sets when it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported.
    UnacceptedExtension = 16,
    /// The additional information requested could not be understood or is not available.
    AddInfoNotAvailable = 17,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    const ALL: [FailureInfo; 8] = [
        FailureInfo::BadAlg,
        FailureInfo::BadRequest,
        FailureInfo::BadDataFormat,
        FailureInfo::TimeNotAvailable,
        FailureInfo::UnacceptedPolicy,
        FailureInfo::UnacceptedExtension,
        FailureInfo::AddInfoNotAvailable,
        FailureInfo::SystemFailure,
    ];

    /// A DER named-bit BIT STRING with just this bit set (trailing zero bits removed).
    fn to_bit_string(self) -> Result<BitString, der::Error> {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new((7 - bit % 8) as u8, bytes)
    }

    fn from_bit_string(bits: &BitString) -> Vec<FailureInfo> {
        let set: Vec<usize> = bits
            .bits()
            .enumerate()
            .filter(|(_, b)| *b)
            .map(|(i, _)| i)
            .collect();
        Self::ALL
            .into_iter()
            .filter(|f| set.contains(&(*f as usize)))
            .collect()
    }
}

/// RFC 3161 §2.4.2 `PKIStatusInfo`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// RFC 3161 §2.4.2 `TimeStampResp`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<cms::content_info::ContentInfo>,
}
