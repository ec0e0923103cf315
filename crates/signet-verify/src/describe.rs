//! How error messages name things for the person reading them: times in RFC 3339 (never Unix
//! seconds), digest algorithms as their standards name them (SHA-256, not the protobuf enum
//! `SHA2_256`), and the validity a trusted root gives an authority.

use signet_crypto::HashAlgorithm;
use signet_formats::common::{TimeRange, Timestamp};

/// `unix` seconds as an RFC 3339 UTC time (`2026-01-01T00:01:40Z`).
pub(crate) fn time(unix: i64) -> String {
    Timestamp::from_unix(unix).to_string()
}

/// A digest algorithm's standard name (`SHA-256`).
pub(crate) fn hash(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha2_256 => "SHA-256",
        HashAlgorithm::Sha2_384 => "SHA-384",
        HashAlgorithm::Sha2_512 => "SHA-512",
    }
}

/// When a trusted root trusts an authority or a log key, to follow "trusted …": `from
/// 2025-01-01T00:00:00Z to 2026-01-01T00:00:00Z`, `from 2025-01-01T00:00:00Z on`.
pub(crate) fn trusted_for(range: &TimeRange) -> String {
    match (&range.start, &range.end) {
        (None, _) => "at no time (its validFor is missing or has no start)".into(),
        (Some(_), None) if range.is_unbounded() => "at any time (it has no validFor)".into(),
        (Some(start), None) => format!("from {start} on"),
        (Some(start), Some(end)) => format!("from {start} to {end}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ranges_read_as_dates() {
        assert_eq!(time(1_767_225_700), "2026-01-01T00:01:40Z");
        assert_eq!(
            trusted_for(&TimeRange::starting(Timestamp::from_unix(1_767_225_600))),
            "from 2026-01-01T00:00:00Z on"
        );
        assert_eq!(
            trusted_for(&TimeRange {
                start: Some(Timestamp::from_unix(0)),
                end: Some(Timestamp::from_unix(86_400)),
            }),
            "from 1970-01-01T00:00:00Z to 1970-01-02T00:00:00Z"
        );
        assert!(trusted_for(&TimeRange::default()).starts_with("at no time"));
        assert!(trusted_for(&TimeRange::unbounded()).starts_with("at any time"));
    }
}
