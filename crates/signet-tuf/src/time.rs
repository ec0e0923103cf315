//! `expires` (TUF §4.2: "an ISO 8601 / RFC 3339 date-time") and the one comparison TUF makes
//! with it. The core never reads a clock: callers pass `now` as Unix seconds.

use std::fmt;

/// A metadata expiry instant, parsed from RFC 3339 (`2026-11-20T13:58:18Z`, or with a fraction
/// and an offset as Sigstore's root v1 has: `2021-12-18T13:28:12.99008-06:00`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expires {
    unix: i64,
    nanos: u32,
    text: String,
}

impl Expires {
    /// Parses an RFC 3339 `date-time` (§5.6): a `T` separator, an optional fraction, and `Z`
    /// or a numeric offset. Returns why when the text is not one.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let (unix, nanos) = parse_rfc3339(text)?;
        Ok(Expires {
            unix,
            nanos,
            text: text.to_string(),
        })
    }

    /// The instant as Unix seconds, rounded down.
    pub fn unix_seconds(&self) -> i64 {
        self.unix
    }

    /// The text as the metadata has it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when metadata with this expiry is expired at `now` (Unix seconds). As python-tuf's
    /// `is_expired`, the expiry instant itself is already expired: `now >= expires`. With a
    /// fraction, `now` (whole seconds) reaches it only at the next whole second.
    pub fn is_expired_at(&self, now: i64) -> bool {
        let ceiling = self.unix.saturating_add(i64::from(self.nanos > 0));
        now >= ceiling
    }

    /// An expiry at `unix` seconds, written `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn from_unix(unix: i64) -> Self {
        Expires {
            unix,
            nanos: 0,
            text: format_rfc3339(unix),
        }
    }
}

impl fmt::Display for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn digits(s: &[u8], what: &'static str) -> Result<i64, &'static str> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(what);
    }
    Ok(s.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

fn parse_rfc3339(text: &str) -> Result<(i64, u32), &'static str> {
    let b = text.as_bytes();
    // full-date "T" partial-time: at least "YYYY-MM-DDTHH:MM:SS" plus an offset.
    if b.len() < 20 {
        return Err("too short for an RFC 3339 date-time");
    }
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err("not of the form YYYY-MM-DDTHH:MM:SS");
    }
    if b[10] != b'T' && b[10] != b't' {
        return Err("date and time are not separated by 'T'");
    }
    let year = digits(&b[0..4], "year is not four digits")?;
    let month = digits(&b[5..7], "month is not two digits")?;
    let day = digits(&b[8..10], "day is not two digits")?;
    let hour = digits(&b[11..13], "hour is not two digits")?;
    let minute = digits(&b[14..16], "minute is not two digits")?;
    let second = digits(&b[17..19], "second is not two digits")?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range for the month");
    }
    // RFC 3339 allows a leap second (60).
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time of day out of range");
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some((b'.', frac)) = rest.split_first() {
        let len = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return Err("empty fraction of a second");
        }
        // Nanoseconds from the first nine digits; a non-zero digit after them still makes the
        // instant fall after its whole second, which is all `is_expired_at` needs.
        for (i, d) in frac[..len].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            } else if *d != b'0' && nanos == 0 {
                nanos = 1;
            }
        }
        for _ in len..9 {
            nanos *= 10;
        }
        rest = &frac[len..];
    }
    let offset = match rest {
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2], "offset hour is not two digits")?;
            let m = digits(&[*m1, *m2], "offset minute is not two digits")?;
            if h > 23 || m > 59 {
                return Err("offset out of range");
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return Err("no time offset ('Z' or +HH:MM / -HH:MM) at the end"),
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3600 + minute * 60 + second;
    Ok((local - offset, nanos))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (Hinnant's `civil_from_days`).
pub(crate) fn format_rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sigstore_expiries() {
        let e = Expires::parse("2026-11-20T13:58:18Z").unwrap();
        assert_eq!(e.unix_seconds(), 1_795_183_098);
        assert!(!e.is_expired_at(1_795_183_097));
        assert!(e.is_expired_at(1_795_183_098));

        // Root v1: a fraction and a -06:00 offset: 2021-12-18T19:28:12.99008Z.
        let e = Expires::parse("2021-12-18T13:28:12.99008-06:00").unwrap();
        assert_eq!(e.unix_seconds(), 1_639_855_692);
        assert_eq!(e.nanos, 990_080_000);
        assert!(!e.is_expired_at(1_639_855_692));
        assert!(e.is_expired_at(1_639_855_693));

        let e = Expires::parse("2022-05-11T19:09:02.663975009Z").unwrap();
        assert_eq!(e.nanos, 663_975_009);
        assert_eq!(e.to_string(), "2022-05-11T19:09:02.663975009Z");
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "2026-11-20",
            "2026-11-20T13:58:18",
            "2026-11-20 13:58:18Z",
            "2026-13-20T13:58:18Z",
            "2026-02-29T13:58:18Z",
            "2026-11-31T13:58:18Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T13:58:18.Z",
            "2026-11-20T13:58:18+0100",
            "2026-11-20T13:58:18Zjunk",
            "+026-11-20T13:58:18Z",
            "2026-11-20T13:58:18+24:00",
            "２026-11-20T13:58:18Z",
        ] {
            assert!(Expires::parse(bad).is_err(), "{bad}");
        }
        assert!(Expires::parse("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn format_round_trips() {
        for unix in [0, 951_782_400, 1_795_183_098, -1, 253_402_300_799] {
            let text = format_rfc3339(unix);
            assert_eq!(Expires::parse(&text).unwrap().unix_seconds(), unix, "{text}");
        }
        assert_eq!(format_rfc3339(1_795_183_098), "2026-11-20T13:58:18Z");
    }
}
