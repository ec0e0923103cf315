//! GnuPG status lines, the protocol git reads from its signing program (gpg-interface.c;
//! GnuPG `doc/DETAILS`). git parses only what it needs: `SIG_CREATED` after signing; `NEWSIG`,
//! then `GOODSIG`/`BADSIG`/`ERRSIG` (→ `%G?`), the key and user id after them (→ `%GK`,
//! `%GS`), `VALIDSIG`'s fingerprints (→ `%GF`, `%GP`) and a `TRUST_*` line (→ `%GT`, and
//! `gpg.minTrustLevel`) when verifying.

/// The trust level reported after a good signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The signer matched the configured identity policy.
    Fully,
    /// No identity policy was configured: the signature verified, but nobody said whose
    /// signature was expected (git's `%G?` shows `U`).
    Undefined,
}

/// GnuPG's public-key algorithm number for ECDSA (RFC 6637) and hash number for SHA-256
/// (RFC 4880 §9.4), as gitsign reports them.
const ECDSA: u8 = 19;
const SHA256: u8 = 8;

/// The uppercase hex fingerprint git shows for a certificate: SHA-1 of its DER, as gpgsm and
/// gitsign compute it.
pub fn fingerprint(certificate_der: &[u8]) -> String {
    hex::encode_upper(signet_crypto::sha1_fingerprint(certificate_der))
}

/// `SIG_CREATED`: a detached (`D`) signature was made at `unix` by `fingerprint`.
pub fn sig_created(fingerprint: &str, unix: i64) -> String {
    format!("[GNUPG:] SIG_CREATED D {ECDSA} {SHA256} 00 {unix} {fingerprint}\n")
}

/// The lines of a good signature by `uid` (the certificate's identity), at `unix`.
pub fn good(fingerprint: &str, uid: &str, unix: i64, trust: Trust) -> String {
    let date = date(unix);
    let trust = match trust {
        Trust::Fully => "TRUST_FULLY 0 shell",
        Trust::Undefined => "TRUST_UNDEFINED 0 shell",
    };
    format!(
        "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {fingerprint} {uid}\n[GNUPG:] VALIDSIG {fingerprint} {date} {unix} 0 4 0 {ECDSA} {SHA256} 00 {fingerprint}\n[GNUPG:] {trust}\n",
        uid = one_line(uid)
    )
}

/// The lines of a signature that was checked and is wrong, or is not from the expected signer.
pub fn bad(fingerprint: &str, uid: &str) -> String {
    format!(
        "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG {fingerprint} {uid}\n",
        uid = one_line(uid)
    )
}

/// The lines of a signature that could not be checked (`rc` 9: no public key / unusable).
pub fn error(fingerprint: Option<&str>, unix: Option<i64>) -> String {
    format!(
        "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG {} {ECDSA} {SHA256} 00 {} 9\n",
        fingerprint.unwrap_or("0000000000000000"),
        unix.unwrap_or(0)
    )
}

/// A status field must stay on its line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `YYYY-MM-DD` of a Unix time (UTC).
fn date(unix: i64) -> String {
    let text = signet_formats::common::Timestamp::from_unix(unix).to_string();
    text.split('T').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_685_981_480), "2023-06-05");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_798_675_200), "2026-12-31");
    }

    #[test]
    fn lines_git_reads() {
        let good = good("ABCD", "alice@example.com", 1_685_981_480, Trust::Undefined);
        // git looks for "\n[GNUPG:] GOODSIG " (hence NEWSIG first) and a TRUST_ line.
        assert!(good.contains("\n[GNUPG:] GOODSIG ABCD alice@example.com\n"));
        assert!(good.contains("\n[GNUPG:] VALIDSIG ABCD 2023-06-05 1685981480 "));
        assert!(good.ends_with("[GNUPG:] TRUST_UNDEFINED 0 shell\n"));
        assert!(bad("ABCD", "mallory\n[GNUPG:] GOODSIG x y")
            .contains("BADSIG ABCD mallory [GNUPG:] GOODSIG x y\n"));
        assert!(sig_created("ABCD", 5).starts_with("[GNUPG:] SIG_CREATED D "));
        assert!(error(None, None).contains("\n[GNUPG:] ERRSIG "));
    }
}
