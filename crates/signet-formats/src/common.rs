//! Messages of `dev.sigstore.common.v1` (protobuf-specs `sigstore_common.proto`) shared by the
//! trust material, bundles and log entries.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use signet_crypto::{HashAlgorithm, PublicKeyDetails};
use thiserror::Error;

use crate::protojson::{self, FieldError, Object};

/// A `google.protobuf.Timestamp` in its JSON form: an RFC 3339 UTC-or-offset date-time string.
/// The text is kept as written, so a file round-trips byte for byte; its value is parsed once,
/// when the timestamp is made, so reading it never fails and never parses again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    /// Seconds since the Unix epoch and the nanoseconds within that second.
    unix: (i64, u32),
}

/// Why a timestamp string was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("timestamp {found:?} is not RFC 3339 ({why}); expected e.g. 2025-01-31T12:00:00Z")]
pub struct TimestampError {
    pub found: String,
    pub why: &'static str,
}

impl Timestamp {
    /// 0001-01-01T00:00:00Z, the earliest time a `google.protobuf.Timestamp` can hold.
    pub const MIN_UNIX_SECONDS: i64 = -62_135_596_800;

    /// Validates `text` as an RFC 3339 date-time.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        parse_rfc3339(text).map(|unix| Timestamp {
            text: text.to_string(),
            unix,
        })
    }

    /// The UTC second `unix_seconds`, written `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn from_unix(unix_seconds: i64) -> Self {
        let days = unix_seconds.div_euclid(86_400);
        let secs = unix_seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        Timestamp {
            text: format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            ),
            unix: (unix_seconds, 0),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch and the nanoseconds within that second.
    pub fn unix(&self) -> (i64, u32) {
        self.unix
    }

    /// Seconds since the Unix epoch, the fraction dropped (rounded towards the past).
    pub fn unix_seconds(&self) -> i64 {
        self.unix().0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to (Unix seconds, nanoseconds).
fn parse_rfc3339(text: &str) -> Result<(i64, u32), TimestampError> {
    let err = |why| TimestampError {
        found: text.to_string(),
        why,
    };
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    if b.len() < 20 {
        return Err(err("too short"));
    }
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return Err(err("separators are not YYYY-MM-DDTHH:MM:SS"));
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return Err(err("date or time has a non-digit"));
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(err("no such date"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(err("no such time of day"));
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(err("empty fraction of a second"));
        }
        if n < 9 {
            nanos *= 10u32.pow((9 - n) as u32);
        }
    }
    let offset = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (Some(h), Some(m)) = (num(i + 1..i + 3), num(i + 4..i + 6)) else {
                return Err(err("offset has a non-digit"));
            };
            if h > 23 || m > 59 {
                return Err(err("no such offset"));
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err(err("expected Z or ±HH:MM after the time")),
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Ok((secs, nanos))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `TimeRange`: a closed interval `[start, end]`; no `end` means still valid.
///
/// `start` is required (protobuf-specs `sigstore_common.proto` marks only `end` optional), but
/// one conformance trust root leaves it out (to test that verifiers refuse it), so reading
/// tolerates its absence and a range without a start contains no time at all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TimeRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// The whole time line a `google.protobuf.Timestamp` can express: from
    /// 0001-01-01T00:00:00Z on, with no end. What a certificate or timestamp authority whose
    /// trusted-root entry has no `validFor` at all is trusted for (see
    /// [`crate::trust::CertificateAuthority::valid_for`]).
    pub fn unbounded() -> Self {
        TimeRange::starting(Timestamp::from_unix(Timestamp::MIN_UNIX_SECONDS))
    }

    /// Whether this is [`TimeRange::unbounded`].
    pub fn is_unbounded(&self) -> bool {
        self.end.is_none()
            && self
                .start
                .as_ref()
                .is_some_and(|s| s.unix() == (Timestamp::MIN_UNIX_SECONDS, 0))
    }

    /// Valid from `start` on, with no end.
    pub fn starting(start: Timestamp) -> Self {
        TimeRange {
            start: Some(start),
            end: None,
        }
    }

    /// Whether `unix_seconds` lies in the closed range. A range without a start contains nothing.
    pub fn contains(&self, unix_seconds: i64) -> bool {
        let Some(start) = &self.start else {
            return false;
        };
        start.unix() <= (unix_seconds, 0)
            && self
                .end
                .as_ref()
                .is_none_or(|end| (unix_seconds, 0) <= end.unix())
    }
}

/// `LogId`: a log's identity, for Rekor the SHA-256 of its key (or, for Rekor v2, of its
/// signed-note key name and key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogId {
    #[serde(rename = "keyId", alias = "key_id", with = "protojson::bytes")]
    pub key_id: Vec<u8>,
}

/// `PublicKey` as trust material carries it: DER SPKI, the scheme, and a validity period.
///
/// `key_details` is kept as its protobuf name, since trust roots in the wild name schemes
/// signet cannot verify (e.g. the deprecated `PKCS1_RSA_PKCS1V5`); [`PublicKey::details`]
/// gives the typed value where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    #[serde(
        rename = "rawBytes",
        alias = "raw_bytes",
        default,
        skip_serializing_if = "Option::is_none",
        with = "protojson::opt_bytes"
    )]
    pub raw_bytes: Option<Vec<u8>>,
    #[serde(rename = "keyDetails", alias = "key_details")]
    pub key_details: String,
    #[serde(
        rename = "validFor",
        alias = "valid_for",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_for: Option<TimeRange>,
}

impl PublicKey {
    pub fn new(spki_der: Vec<u8>, details: PublicKeyDetails, valid_for: TimeRange) -> Self {
        PublicKey {
            raw_bytes: Some(spki_der),
            key_details: details.as_str().to_string(),
            valid_for: Some(valid_for),
        }
    }

    /// The scheme, if signet knows its name.
    pub fn details(&self) -> Option<PublicKeyDetails> {
        PublicKeyDetails::parse(&self.key_details)
    }
}

/// `DistinguishedName`: the subject of a certificate authority as the trust root names it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DistinguishedName {
    #[serde(default)]
    pub organization: String,
    #[serde(rename = "commonName", alias = "common_name", default)]
    pub common_name: String,
}

/// `X509Certificate`: one DER certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct X509Certificate {
    #[serde(rename = "rawBytes", alias = "raw_bytes", with = "protojson::bytes")]
    pub raw_bytes: Vec<u8>,
}

/// `X509CertificateChain`: DER certificates, leaf first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct X509CertificateChain {
    #[serde(default)]
    pub certificates: Vec<X509Certificate>,
}

/// `HashOutput`: a digest and the algorithm that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashOutput {
    pub algorithm: HashAlgorithm,
    pub digest: Vec<u8>,
}

impl Serialize for HashOutput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Members in RFC 8785 order, so this is already canonical.
        let mut st = s.serialize_struct("HashOutput", 2)?;
        st.serialize_field("algorithm", self.algorithm.proto_name())?;
        st.serialize_field("digest", &Bytes(&self.digest))?;
        st.end()
    }
}

impl HashOutput {
    pub(crate) fn read(mut o: Object) -> Result<Self, FieldError> {
        let algorithm = o.required_enum(
            "algorithm",
            HashAlgorithm::from_proto_name,
            "SHA2_256, SHA2_384, SHA2_512",
        )?;
        let digest = o.required_bytes("digest")?;
        o.finish()?;
        Ok(HashOutput { algorithm, digest })
    }
}

/// Serialises borrowed bytes as protojson base64.
pub(crate) struct Bytes<'a>(pub &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        protojson::bytes::serialize(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_and_convert() {
        let t = Timestamp::parse("2022-04-13T20:06:15.000Z").unwrap();
        assert_eq!(t.unix(), (1_649_880_375, 0));
        assert_eq!(
            Timestamp::parse("2021-01-12T11:53:27Z").unwrap().unix_seconds(),
            1_610_452_407
        );
        assert_eq!(
            Timestamp::parse("2022-10-31T23:59:59.999Z").unwrap().unix(),
            (1_667_260_799, 999_000_000)
        );
        assert_eq!(
            Timestamp::parse("1970-01-01T01:00:00+01:00").unwrap().unix(),
            (0, 0)
        );
        assert_eq!(
            Timestamp::from_unix(1_649_880_375).as_str(),
            "2022-04-13T20:06:15Z"
        );
        assert_eq!(Timestamp::from_unix(-1).as_str(), "1969-12-31T23:59:59Z");
        assert_eq!(
            Timestamp::from_unix(Timestamp::MIN_UNIX_SECONDS).as_str(),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::parse("0001-01-01T00:00:00Z").unwrap().unix(),
            (Timestamp::MIN_UNIX_SECONDS, 0)
        );
        for bad in [
            "2022-02-30T00:00:00Z",
            "2022-04-13 20:06:15Z",
            "2022-04-13T20:06:15",
            "2022-04-13T24:00:00Z",
            "2022-04-13T20:06:15.Z",
            "2022-04-13T20:06:15+0100",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 10_956, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn time_range_is_closed() {
        let r = TimeRange {
            start: Some(Timestamp::from_unix(10)),
            end: Some(Timestamp::from_unix(20)),
        };
        assert!(r.contains(10) && r.contains(20) && !r.contains(9) && !r.contains(21));
        assert!(!TimeRange::default().contains(0));
        let all = TimeRange::unbounded();
        assert!(all.is_unbounded() && all.contains(i64::from(i32::MIN)) && all.contains(i64::MAX));
        assert!(!TimeRange::default().is_unbounded() && !r.is_unbounded());
    }
}
