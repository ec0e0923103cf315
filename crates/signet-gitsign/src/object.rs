//! Signed git objects: where a signature sits in a commit or a tag, and the bytes it is over.
//!
//! git's own rules (commit.c `parse_buffer_signed_by_header`, gpg-interface.c
//! `parse_signed_buffer`, git 2.39):
//!
//! - **Commit**: the signature is the value of the `gpgsig` header (`gpgsig-sha256` in a
//!   SHA-256 repository), continuation lines indented by one space; what was signed is the
//!   commit with every signature header (either name) removed.
//! - **Tag**: the signature is the last armored block at the end of the message; what was
//!   signed is everything before it.
//!
//! Unlike git, a second signature header of the same name is refused (git concatenates them,
//! which let an attacker append a signature of their own; gitsign fixed the same in
//! GHSA-7rmh-48mx-2vwc), and only the header section is searched.

use thiserror::Error;

/// The object format of a repository, which names the commit signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectFormat {
    /// `gpgsig`.
    Sha1,
    /// `gpgsig-sha256`.
    Sha256,
}

impl ObjectFormat {
    /// The commit header holding the signature in this format.
    pub fn signature_header(self) -> &'static str {
        match self {
            ObjectFormat::Sha1 => "gpgsig",
            ObjectFormat::Sha256 => "gpgsig-sha256",
        }
    }

    /// From `git rev-parse --show-object-format`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "sha1" => Some(ObjectFormat::Sha1),
            "sha256" => Some(ObjectFormat::Sha256),
            _ => None,
        }
    }
}

/// Why an object's signature could not be separated from it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectError {
    #[error("the object is not signed (no {0} header)")]
    Unsigned(&'static str),
    #[error("the tag is not signed (no armored signature at the end of its message)")]
    UnsignedTag,
    #[error("the commit has two {0} headers; a commit carries one signature")]
    TwoSignatures(&'static str),
}

/// A signed object taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedObject {
    /// The bytes that were signed.
    pub payload: Vec<u8>,
    /// The armored signature, un-indented.
    pub signature: Vec<u8>,
}

const ARMOR_STARTS: [&[u8]; 4] = [
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
];

/// Splits a raw commit (`git cat-file commit REV`) of a repository in `format`.
pub fn split_commit(raw: &[u8], format: ObjectFormat) -> Result<SignedObject, ObjectError> {
    let header = format.signature_header().as_bytes();
    let mut payload = Vec::with_capacity(raw.len());
    let mut signature = Vec::new();
    let mut seen = false;
    // Inside this format's signature header, or inside the other format's (also removed).
    let mut in_ours = false;
    let mut in_other = false;
    let mut rest = raw;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        if line == b"\n" {
            // The end of the headers: the message follows, signed as it is.
            payload.extend_from_slice(rest);
            break;
        }
        if line.starts_with(b" ") && (in_ours || in_other) {
            if in_ours {
                signature.extend_from_slice(&line[1..]);
            }
        } else if line.starts_with(header) && line.get(header.len()) == Some(&b' ') {
            if seen {
                return Err(ObjectError::TwoSignatures(format.signature_header()));
            }
            seen = true;
            in_ours = true;
            in_other = false;
            signature.extend_from_slice(&line[header.len() + 1..]);
        } else if line.starts_with(b"gpgsig") {
            in_ours = false;
            in_other = true;
        } else {
            in_ours = false;
            in_other = false;
            payload.extend_from_slice(line);
        }
        rest = &rest[end..];
    }
    if !seen {
        return Err(ObjectError::Unsigned(format.signature_header()));
    }
    Ok(SignedObject { payload, signature })
}

/// Splits a raw tag (`git cat-file tag REF`): the signature is the last armored block.
pub fn split_tag(raw: &[u8]) -> Result<SignedObject, ObjectError> {
    let mut start = None;
    let mut offset = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if ARMOR_STARTS.iter().any(|s| line.starts_with(s)) {
            start = Some(offset);
        }
        offset += line.len();
    }
    let start = start.ok_or(ObjectError::UnsignedTag)?;
    Ok(SignedObject {
        payload: raw[..start].to_vec(),
        signature: raw[start..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "gpgsig -----BEGIN SIGNED MESSAGE-----\n AAAA\n BBBB\n -----END SIGNED MESSAGE-----\n";

    fn commit(extra: &str) -> String {
        format!("tree 1111\nparent 2222\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n{extra}\nmessage\n\n gpgsig in the message stays\n")
    }

    #[test]
    fn commit_split_as_git_does() {
        let raw = commit(SIG);
        let s = split_commit(raw.as_bytes(), ObjectFormat::Sha1).unwrap();
        assert_eq!(s.payload, commit("").as_bytes());
        assert_eq!(
            s.signature,
            b"-----BEGIN SIGNED MESSAGE-----\nAAAA\nBBBB\n-----END SIGNED MESSAGE-----\n"
        );
    }

    #[test]
    fn other_format_header_is_removed_too() {
        let other = SIG.replace("gpgsig ", "gpgsig-sha256 ");
        let raw = commit(&format!("{SIG}{other}"));
        let s = split_commit(raw.as_bytes(), ObjectFormat::Sha1).unwrap();
        assert_eq!(s.payload, commit("").as_bytes());
        let s256 = split_commit(raw.as_bytes(), ObjectFormat::Sha256).unwrap();
        assert_eq!(s256.payload, commit("").as_bytes());
        assert_eq!(s256.signature, s.signature);
    }

    #[test]
    fn two_signature_headers_refused() {
        let raw = commit(&format!("{SIG}{SIG}"));
        assert_eq!(
            split_commit(raw.as_bytes(), ObjectFormat::Sha1),
            Err(ObjectError::TwoSignatures("gpgsig"))
        );
        // Split by another header, still two.
        let raw = commit(&format!("{SIG}encoding latin1\n{SIG}"));
        assert!(split_commit(raw.as_bytes(), ObjectFormat::Sha1).is_err());
    }

    #[test]
    fn unsigned() {
        assert_eq!(
            split_commit(commit("").as_bytes(), ObjectFormat::Sha1),
            Err(ObjectError::Unsigned("gpgsig"))
        );
        assert_eq!(
            split_commit(commit(SIG).as_bytes(), ObjectFormat::Sha256),
            Err(ObjectError::Unsigned("gpgsig-sha256"))
        );
    }

    #[test]
    fn tag_split_at_the_last_block() {
        let body = "object 1111\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nrelease\n";
        let sig = "-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n";
        let raw = format!("{body}{sig}");
        let s = split_tag(raw.as_bytes()).unwrap();
        assert_eq!(s.payload, body.as_bytes());
        assert_eq!(s.signature, sig.as_bytes());
        let twice = format!("{body}{sig}{sig}");
        let s = split_tag(twice.as_bytes()).unwrap();
        assert_eq!(s.payload, format!("{body}{sig}").as_bytes());
        assert_eq!(split_tag(body.as_bytes()), Err(ObjectError::UnsignedTag));
    }
}
