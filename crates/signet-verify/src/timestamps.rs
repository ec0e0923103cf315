//! Client spec §4.2, "Establishing a time for the signature": verified RFC 3161 timestamps over
//! the signature bytes, and Rekor v1 integrated times backed by a verified SET (checked in
//! [`crate::tlog::verify_inclusion_promise`]). At least one time is required; Rekor v2 entries
//! carry no integrated time, so bundles from it need a timestamp.

use signet_x509::{verify_timestamp, TimestampError, TsaTrust};
use thiserror::Error;

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
    #[error("RFC 3161 timestamp {index} does not verify: {source}")]
    Rfc3161 { index: usize, source: TimestampError },
    #[error("RFC 3161 timestamp {index} has genTime {gen_time}, after the verification time {now}")]
    InFuture { index: usize, gen_time: i64, now: i64 },
    #[error("the bundle has RFC 3161 timestamps but the trust material has no timestamp authority")]
    NoAuthorities,
    #[error("no verified signing time: {found} found, at least {required} needed (an RFC 3161 timestamp, or a Rekor v1 integrated time with a signed entry timestamp; Rekor v2 entries need a timestamp)")]
    Threshold { required: usize, found: usize },
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
