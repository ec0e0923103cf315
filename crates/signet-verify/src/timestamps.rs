//! Client spec §4.2, "Establishing a time for the signature": verified RFC 3161 timestamps over
//! the signature bytes, and Rekor v1 integrated times backed by a verified SET (checked in
//! [`crate::tlog::verify_inclusion_promise`]). At least one time is required; Rekor v2 entries
//! carry no integrated time, so bundles from it need a timestamp.

use signet_crypto::HashAlgorithm;
use signet_x509::rfc3161::PkiStatus;
use signet_x509::{verify_timestamp, TimestampError, TsaTrust};
use thiserror::Error;

use crate::describe;

/// Where a signing time came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeSource {
    /// An RFC 3161 timestamp: its position in the bundle and the authority that signed it.
    Rfc3161 { index: usize, authority: String },
    /// A Rekor v1 `integratedTime` under a verified signed entry timestamp.
    IntegratedTime { log_base_url: String, log_index: u64 },
}

/// A verified time at which the signature existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningTime {
    /// Unix seconds.
    pub unix: i64,
    pub source: TimeSource,
}

/// Why the signing time could not be established.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampCheckError {
    #[error("the bundle's RFC 3161 timestamp {index} does not verify: {}", describe_timestamp_error(.source))]
    Rfc3161 { index: usize, source: TimestampError },
    #[error("the bundle's RFC 3161 timestamp {index} is dated {}, after the verification time {}", describe::time(*.gen_time), describe::time(*.now))]
    InFuture { index: usize, gen_time: i64, now: i64 },
    #[error("the bundle has RFC 3161 timestamps, but the trusted root lists no timestamp authority")]
    NoAuthorities,
    #[error("the bundle has no verified signing time ({found} found, {required} needed): it needs an RFC 3161 timestamp from a trusted timestamp authority, or a Rekor v1 log entry with a signed entry timestamp (Rekor v2 entries carry no time of their own)")]
    Threshold { required: usize, found: usize },
}

/// A timestamp failure in words, its times in RFC 3339 (signet-x509's own messages give
/// Unix seconds).
fn describe_timestamp_error(e: &TimestampError) -> String {
    match e {
        TimestampError::OutsideCertificateValidity {
            subject,
            gen_time,
            not_before,
            not_after,
        } => format!(
            "its time {} is outside the validity of the timestamp authority's certificate {subject} ({} to {})",
            describe::time(*gen_time),
            describe::time(*not_before),
            describe::time(*not_after)
        ),
        TimestampError::OutsideAuthorityValidity { gen_time, valid_for } => format!(
            "its time {} is outside the time the trusted root trusts the timestamp authority for ({valid_for})",
            describe::time(*gen_time)
        ),
        TimestampError::ImprintMismatch { algorithm } => format!(
            "its message imprint is not the {} digest of the bundle's signature",
            HashAlgorithm::from_proto_name(algorithm).map_or(*algorithm, describe::hash)
        ),
        TimestampError::NotGranted { status } => format!(
            "the timestamp authority did not grant it (status: {})",
            match status {
                PkiStatus::Granted => "granted",
                PkiStatus::GrantedWithMods => "granted with modifications",
                PkiStatus::Rejection => "rejection",
                PkiStatus::Waiting => "waiting",
                PkiStatus::RevocationWarning => "revocation warning",
                PkiStatus::RevocationNotification => "revocation notification",
            }
        ),
        TimestampError::NoAuthorityVerified(errors) => format!(
            "no timestamp authority in the trusted root verified it: {}",
            errors
                .iter()
                .map(describe_timestamp_error)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => other.to_string(),
    }
}

/// The fewest verified signing times a bundle must carry.
pub const SIGNING_TIME_THRESHOLD: usize = 1;

/// Verifies every RFC 3161 token in the bundle over `signature`: each must verify (client spec
/// §4.2.1: "If verification or timestamp parsing fails, the Verifier MUST abort").
pub fn verify_rfc3161_timestamps(
    tokens: &[Vec<u8>],
    signature: &[u8],
    authorities: &[TsaTrust],
    now: i64,
) -> Result<Vec<SigningTime>, TimestampCheckError> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    if authorities.is_empty() {
        return Err(TimestampCheckError::NoAuthorities);
    }
    tokens
        .iter()
        .enumerate()
        .map(|(index, token)| {
            let v = verify_timestamp(token, signature, authorities)
                .map_err(|source| TimestampCheckError::Rfc3161 { index, source })?;
            if v.gen_time > now {
                return Err(TimestampCheckError::InFuture {
                    index,
                    gen_time: v.gen_time,
                    now,
                });
            }
            Ok(SigningTime {
                unix: v.gen_time,
                source: TimeSource::Rfc3161 {
                    index,
                    authority: authorities[v.authority].name.clone(),
                },
            })
        })
        .collect()
}

/// Checks the threshold over all verified times.
pub fn check_threshold(times: &[SigningTime]) -> Result<(), TimestampCheckError> {
    if times.len() < SIGNING_TIME_THRESHOLD {
        return Err(TimestampCheckError::Threshold {
            required: SIGNING_TIME_THRESHOLD,
            found: times.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_and_garbage_tokens() {
        assert!(matches!(
            check_threshold(&[]),
            Err(TimestampCheckError::Threshold { found: 0, .. })
        ));
        assert_eq!(verify_rfc3161_timestamps(&[], b"sig", &[], 0), Ok(vec![]));
        assert!(matches!(
            verify_rfc3161_timestamps(&[vec![1, 2, 3]], b"sig", &[], 0),
            Err(TimestampCheckError::NoAuthorities)
        ));
    }
}
