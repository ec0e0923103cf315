//! Parsing `TimeStampResp` and `TimeStampToken` (RFC 3161 §2.4.2).

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::Decode;
use x509_tsp::TstInfo;

use super::verify::TimestampError;
use super::{FailureInfo, PkiStatus, TimeStampResp};
use crate::oid;

/// A parsed `TimeStampResp`: the status and, when granted, the token.
#[derive(Debug, Clone)]
pub struct TimestampResponse {
    pub status: PkiStatus,
    pub status_text: Vec<String>,
    pub failure_info: Vec<FailureInfo>,
    pub token: Option<TimestampToken>,
}

impl TimestampResponse {
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, TimestampError> {
        let resp =
            TimeStampResp::from_der(der_bytes).map_err(|e| TimestampError::Malformed(e.to_string()))?;
        let status = PkiStatus::from_int(resp.status.status)
            .ok_or_else(|| TimestampError::Malformed(format!("PKIStatus {}", resp.status.status)))?;
        Ok(TimestampResponse {
            status,
            status_text: resp.status.status_string.unwrap_or_default(),
            failure_info: resp
                .status
                .fail_info
                .as_ref()
                .map(FailureInfo::from_bit_string)
                .unwrap_or_default(),
            token: resp
                .time_stamp_token
                .map(TimestampToken::from_content_info)
                .transpose()?,
        })
    }
}

/// A `TimeStampToken`: CMS SignedData whose encapsulated content is a `TSTInfo`.
#[derive(Debug, Clone)]
pub struct TimestampToken {
    pub signed_data: SignedData,
    pub tst_info: TstInfo,
    /// The eContent bytes exactly as signed: the messageDigest attribute is over these.
    pub tst_info_der: Vec<u8>,
}

impl TimestampToken {
    /// Parses a DER `TimeStampToken` (a ContentInfo).
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, TimestampError> {
        let ci = ContentInfo::from_der(der_bytes).map_err(|e| TimestampError::Malformed(e.to_string()))?;
        Self::from_content_info(ci)
    }

    /// Parses either a whole `TimeStampResp` (which must be granted) or a bare token: the
    /// bundle's `signedTimestamp` holds a response, other tools store the token.
    pub fn from_response_or_token(der_bytes: &[u8]) -> Result<Self, TimestampError> {
        match TimestampResponse::from_der(der_bytes) {
            Ok(resp) => match (resp.status, resp.token) {
                (PkiStatus::Granted | PkiStatus::GrantedWithMods, Some(token)) => Ok(token),
                (status, _) => Err(TimestampError::NotGranted { status }),
            },
            Err(_) => Self::from_der(der_bytes),
        }
    }

    fn from_content_info(ci: ContentInfo) -> Result<Self, TimestampError> {
        if ci.content_type != oid::ID_SIGNED_DATA {
            return Err(TimestampError::ContentType {
                what: "ContentInfo",
                found: ci.content_type.to_string(),
            });
        }
        let signed_data: SignedData = ci
            .content
            .decode_as()
            .map_err(|e| TimestampError::Malformed(e.to_string()))?;
        let encap = &signed_data.encap_content_info;
        if encap.econtent_type != oid::ID_CT_TST_INFO {
            return Err(TimestampError::ContentType {
                what: "eContentType",
                found: encap.econtent_type.to_string(),
            });
        }
        let tst_info_der = encap
            .econtent
            .as_ref()
            .ok_or_else(|| TimestampError::Malformed("SignedData has no eContent".into()))?
            .decode_as::<der::asn1::OctetString>()
            .map_err(|e| TimestampError::Malformed(format!("eContent: {e}")))?
            .into_bytes();
        let tst_info = TstInfo::from_der(&tst_info_der)
            .map_err(|e| TimestampError::Malformed(format!("TSTInfo: {e}")))?;
        Ok(TimestampToken {
            signed_data,
            tst_info,
            tst_info_der,
        })
    }

    /// genTime in Unix seconds.
    pub fn gen_time(&self) -> i64 {
        i64::try_from(self.tst_info.gen_time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    }
}
