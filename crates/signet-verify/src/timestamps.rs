//! Client spec §4.2, "Establishing a time for the signature": verified RFC 3161 timestamps over
//! the signature bytes, and Rekor v1 integrated times backed by a verified SET (checked in
//! [`crate::tlog::verify_inclusion_promise`]). At least one time is required; Rekor v2 entries
//! carry no integrated time, so bundles from it need a timestamp.

use signet_x509::{verify_timestamp, TimestampError, TsaTrust, VerifiedTimestamp};
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
    verify_tokens(tokens, authorities, now, |token| {
        verify_timestamp(token, signature, authorities)
    })
}

/// [`verify_rfc3161_timestamps`] against authorities prepared once (see [`PreparedTsas`]).
pub(crate) fn verify_rfc3161_timestamps_prepared(
    tokens: &[Vec<u8>],
    signature: &[u8],
    prepared: &PreparedTsas,
    now: i64,
) -> Result<Vec<SigningTime>, TimestampCheckError> {
    verify_tokens(tokens, &prepared.full, now, |token| {
        prepared.verify(token, signature)
    })
}

fn verify_tokens(
    tokens: &[Vec<u8>],
    authorities: &[TsaTrust],
    now: i64,
    verify_one: impl Fn(&[u8]) -> Result<VerifiedTimestamp, TimestampError>,
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
            let v = verify_one(token).map_err(|source| TimestampCheckError::Rfc3161 { index, source })?;
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

/// Timestamp authorities prepared for many tokens.
///
/// `verify_timestamp` checks, for every token, that the TSA certificate is issued by the next
/// certificate of the trusted chain, and so on up: one or two signature verifications (P-384
/// for the public instance: 370 µs) whose inputs are all trust material when the trusted root
/// names the TSA's leaf — the signer is then always that leaf (an embedded certificate must
/// equal it). Here that chain is verified once, exactly as `verify_timestamp` would (each
/// issuer a CA, each certificate issued by the next), and such an authority is also kept cut
/// to its leaf (`fast`), with the window in which all its CA certificates are valid.
///
/// A token is verified against `fast` first. The cut authority runs a subset of the full
/// checks, so a token it refuses is refused by the full one too; one it accepts is accepted
/// by the full one exactly when genTime lies in the CA certificates' window (the only checks
/// left out, the chain signatures, were done at preparation). Every other outcome — any
/// error, or an acceptance outside the window — is decided by verifying again against `full`,
/// so results and error messages are those of `verify_timestamp` on the trusted root itself.
#[derive(Debug)]
pub(crate) struct PreparedTsas {
    full: Vec<TsaTrust>,
    fast: Vec<TsaTrust>,
    /// For each cut authority, `[max notBefore, min notAfter]` of its CA certificates.
    windows: Vec<Option<(i64, i64)>>,
}

impl PreparedTsas {
    pub(crate) fn new(authorities: &[TsaTrust]) -> Self {
        let (fast, windows) = authorities.iter().map(cut_to_leaf).unzip();
        PreparedTsas {
            full: authorities.to_vec(),
            fast,
            windows,
        }
    }

    fn verify(&self, token: &[u8], signature: &[u8]) -> Result<VerifiedTimestamp, TimestampError> {
        match verify_timestamp(token, signature, &self.fast) {
            Ok(v)
                if self.windows[v.authority].is_none_or(|(not_before, not_after)| {
                    not_before <= v.gen_time && v.gen_time <= not_after
                }) =>
            {
                Ok(v)
            }
            _ => verify_timestamp(token, signature, &self.full),
        }
    }
}

/// The authority cut to its trusted leaf if its chain names one and verifies, with its CA
/// certificates' common validity window; else the authority as it is.
fn cut_to_leaf(authority: &TsaTrust) -> (TsaTrust, Option<(i64, i64)>) {
    let uncut = || (authority.clone(), None);
    let Some((leaf, anchors)) = authority.chain.split_first() else {
        return uncut();
    };
    if leaf.is_ca() || anchors.is_empty() {
        return uncut();
    }
    // As `verify_timestamp`'s chain check on the path [leaf, anchors…].
    let chain_ok = authority
        .chain
        .windows(2)
        .all(|pair| pair[1].is_ca() && pair[0].verify_issued_by(&pair[1]).is_ok());
    if !chain_ok {
        return uncut();
    }
    let window = anchors
        .iter()
        .map(|c| c.validity())
        .fold((i64::MIN, i64::MAX), |(nb, na), (b, a)| (nb.max(b), na.min(a)));
    let cut = TsaTrust {
        chain: vec![leaf.clone()],
        valid_for: authority.valid_for.clone(),
        name: authority.name.clone(),
    };
    (cut, Some(window))
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
