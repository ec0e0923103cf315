//! Image references as users write them (`registry.example:5000/team/app:1.2@sha256:…`), read
//! as the docker CLI and go-containerregistry read them (distribution's `reference` grammar):
//! the first path component is a registry when it has a `.` or a `:` or is `localhost`, else the
//! image is on Docker Hub (`docker.io`, with `library/` before one-component names).

use std::fmt;

use crate::digest::{Digest, DigestError};

/// Docker Hub, the registry of a reference that names none.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is served.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The longest repository name distribution accepts.
pub const MAX_NAME_LEN: usize = 255;

/// Why a reference is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Empty, or a component that breaks the grammar.
    #[error("{reference:?} is not an image reference: {reason}")]
    Invalid {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The digest part does not parse.
    #[error("{reference:?}: {source}")]
    Digest {
        /// The text given.
        reference: String,
        /// Why the digest is refused.
        source: DigestError,
    },
}

/// A parsed image reference: where the image is, and which one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageReference {
    /// The registry's host (and port), `docker.io` for Docker Hub.
    pub registry: String,
    /// The repository within it (`library/alpine`, `team/app`).
    pub repository: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The digest, if one was given (it wins over the tag).
    pub digest: Option<Digest>,
}

impl ImageReference {
    /// Parses a reference as the docker CLI does.
    pub fn parse(text: &str) -> Result<ImageReference, ReferenceError> {
        let invalid = |reason: &str| ReferenceError::Invalid {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse().map_err(|source| ReferenceError::Digest {
                    reference: text.to_string(),
                    source,
                })?;
                (rest, Some(digest))
            }
            None => (text, None),
        };
        // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(invalid(
                    "the tag must be 1 to 128 of [A-Za-z0-9_.-], not starting with . or -",
                ));
            }
        }
        if name.is_empty() {
            return Err(invalid("no repository"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                if !valid_registry(first) {
                    return Err(invalid(
                        "the registry must be a host name or address, with an optional port",
                    ));
                }
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.len() > MAX_NAME_LEN {
            return Err(invalid("the repository name is longer than 255 characters"));
        }
        if !repository.split('/').all(valid_path_component) {
            return Err(invalid(
                "each repository path component must be lowercase letters and digits, separated by '.', '_', '__' or dashes",
            ));
        }
        Ok(ImageReference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The host to send registry API requests to (Docker Hub's API is on another host).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// What to ask the registry for: the digest if there is one, else the tag (`latest` when
    /// neither was given, as the docker CLI assumes).
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `registry/repository`, as cosign's simple-signing payload (and a legacy attestation's
    /// subject) names the image: Docker Hub as go-containerregistry names it,
    /// `index.docker.io/library/alpine`.
    pub fn repository_name(&self) -> String {
        let registry = if self.registry == DOCKER_HUB {
            "index.docker.io"
        } else {
            self.registry.as_str()
        };
        format!("{registry}/{}", self.repository)
    }

    /// The same image pinned to `digest` (no tag).
    pub fn with_digest(&self, digest: Digest) -> ImageReference {
        ImageReference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        if !(separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-'))
        {
            return false;
        }
    }
    true
}

/// A host name or IPv4 address (labels of letters, digits and inner dashes) or a bracketed IPv6
/// address, with an optional port.
fn valid_registry(registry: &str) -> bool {
    if let Some(rest) = registry.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return v6_ok && (after.is_empty() || after.strip_prefix(':').is_some_and(valid_port));
    }
    let (host, port) = match registry.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    host_ok && port.is_none_or(valid_port)
}

fn valid_port(port: &str) -> bool {
    (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|n| n <= 65535)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ImageReference {
        ImageReference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn references_read_as_the_docker_cli_reads_them() {
        let r = parse("alpine");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        assert_eq!(r.manifest_reference(), "latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");

        let r = parse("sigstore/cosign:v2.4.1");
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("sigstore/cosign", Some("v2.4.1"))
        );

        let r = parse("127.0.0.1:5055/team/app:1.0");
        assert_eq!(r.registry, "127.0.0.1:5055");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.manifest_reference(), "1.0");
        assert_eq!(r.repository_name(), "127.0.0.1:5055/team/app");
        // Docker Hub as cosign (go-containerregistry) names it in a payload.
        assert_eq!(
            parse("alpine:3.20").repository_name(),
            "index.docker.io/library/alpine"
        );
        assert_eq!(
            parse("docker.io/acme/app").repository_name(),
            "index.docker.io/acme/app"
        );

        let r = parse("localhost/app");
        assert_eq!(r.registry, "localhost");

        let d = Digest::sha256(b"m");
        let r = parse(&format!("ghcr.io/o/r:tag@{d}"));
        assert_eq!(r.manifest_reference(), d.to_string());
        assert_eq!(r.to_string(), format!("ghcr.io/o/r:tag@{d}"));
        assert_eq!(r.with_digest(d.clone()).to_string(), format!("ghcr.io/o/r@{d}"));

        let r = parse("[::1]:5000/app");
        assert_eq!(r.registry, "[::1]:5000");
        assert_eq!(parse("a.b-c/x__y/z-----w.v_u").repository, "x__y/z-----w.v_u");
    }

    #[test]
    fn what_the_grammar_refuses_is_refused() {
        for bad in [
            "",
            "Alpine",
            "app:",
            "app:-x",
            "app:.x",
            "reg.io/",
            "reg.io//app",
            "reg.io/app_",
            "reg.io/a___b",
            "reg.io/a..b",
            "reg.io:99999/app",
            "reg.io:port/app",
            "-reg.io/app",
            "[::1/app",
            "app@sha256:abc",
            "app@md5:00",
            &format!("app:{}", "t".repeat(129)),
            &format!("reg.io/{}", "a".repeat(256)),
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            ImageReference::parse("Alpine").unwrap_err().to_string(),
            "\"Alpine\" is not an image reference: each repository path component must be lowercase letters and digits, separated by '.', '_', '__' or dashes"
        );
    }
}
