//! The armor git stores: PEM with the label `SIGNED MESSAGE` (what gpgsm and gitsign write,
//! and the label by which git picks the x509 program to verify with).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use thiserror::Error;

/// The PEM label.
pub const LABEL: &str = "SIGNED MESSAGE";
const BEGIN: &str = "-----BEGIN SIGNED MESSAGE-----";
const END: &str = "-----END SIGNED MESSAGE-----";

/// Why armored text was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArmorError {
    #[error("no -----BEGIN SIGNED MESSAGE----- line")]
    NoBegin,
    #[error("no -----END SIGNED MESSAGE----- line")]
    NoEnd,
    #[error("text outside the SIGNED MESSAGE block (two signatures, or something appended)")]
    Trailing,
    #[error("the armor is not text")]
    NotText,
    #[error("the armor's base64 does not decode: {0}")]
    Base64(String),
}

/// `der` armored: 64-column base64 between BEGIN and END lines, `\n` line ends.
pub fn armor(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str(BEGIN);
    out.push('\n');
    for chunk in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every 64-byte chunk is a char boundary.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The DER inside exactly one `SIGNED MESSAGE` block. Only whitespace may surround it: a
/// second block (a commit with two signature headers, which git concatenates) is refused, as
/// is anything appended.
pub fn dearmor(text: &[u8]) -> Result<Vec<u8>, ArmorError> {
    let text = std::str::from_utf8(text).map_err(|_| ArmorError::NotText)?;
    let start = text.find(BEGIN).ok_or(ArmorError::NoBegin)?;
    if !text[..start].trim().is_empty() {
        return Err(ArmorError::Trailing);
    }
    let body_start = start + BEGIN.len();
    let end = text[body_start..].find(END).ok_or(ArmorError::NoEnd)? + body_start;
    if !text[end + END.len()..].trim().is_empty() {
        return Err(ArmorError::Trailing);
    }
    let b64: String = text[body_start..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if b64.contains("-----") {
        return Err(ArmorError::Trailing);
    }
    B64.decode(b64.as_bytes())
        .map_err(|e| ArmorError::Base64(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_line_length() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = armor(&der);
        assert!(text.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert_eq!(dearmor(text.as_bytes()).unwrap(), der);
        // git indents continuation lines of a header; after un-indenting the CRLF or spaces
        // around lines do not matter.
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(dearmor(crlf.as_bytes()).unwrap(), der);
    }

    #[test]
    fn two_blocks_or_trailing_text_refused() {
        let one = armor(b"abc");
        let two = format!("{one}{one}");
        assert_eq!(dearmor(two.as_bytes()), Err(ArmorError::Trailing));
        assert_eq!(
            dearmor(format!("{one}extra").as_bytes()),
            Err(ArmorError::Trailing)
        );
        assert_eq!(dearmor(format!("x\n{one}").as_bytes()), Err(ArmorError::Trailing));
        assert_eq!(dearmor(b"nothing"), Err(ArmorError::NoBegin));
        assert_eq!(dearmor(BEGIN.as_bytes()), Err(ArmorError::NoEnd));
        assert!(matches!(
            dearmor(format!("{BEGIN}\n!!!\n{END}\n").as_bytes()),
            Err(ArmorError::Base64(_))
        ));
        let pgp = "-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n";
        assert_eq!(dearmor(pgp.as_bytes()), Err(ArmorError::NoBegin));
    }
}
