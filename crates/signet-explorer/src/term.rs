//! The search box: one free-text TERM (`/explorer/?q=TERM`), read as whatever it can be.
//! Untrusted input, bounded and checked before any source sees it; fuzzed by
//! `fuzz/fuzz_targets/explorer_query.rs`.
//!
//! | TERM                               | searched as                                        |
//! |------------------------------------|----------------------------------------------------|
//! | decimal number                     | log index, in every log                            |
//! | `sha256:`/`sha384:`/`sha512:` hex  | artifact digest                                    |
//! | 64 hex digits                      | sha256 digest, key or certificate fingerprint, and entry UUID (leaf hash) |
//! | 80 hex digits                      | Rekor v1 entry UUID: tree ID (16) + leaf hash (64) |
//! | `NAME:VALUE`, NAME a Fulcio field   | that workflow/build extension, exactly (below)     |
//! | `http://…`, `https://…`            | identity (URI SAN) and issuer                      |
//! | anything else                      | identity (email, SAN) — taken literally: no patterns |

//!
//! NAME is a Fulcio workflow/build extension's name (`signet_x509::oid::FULCIO_FIELDS`, the
//! search API's parameter): `github_workflow_repository:acme/app`,
//! `github_workflow_ref:refs/tags/v1`, `source_repository_uri:https://github.com/acme/app`,
//! `build_signer_uri:…`, `runner_environment:github-hosted`, ... The entry page links each
//! extension value it shows to this search. One term per search (the API and `signet search`
//! combine several).

use signet_x509::oid::FulcioField;

use crate::source::Term;

/// Longest TERM accepted (signet-index accepts values up to 1024 bytes).
pub const MAX_TERM_LEN: usize = 1024;
/// Longest query string a results page accepts (`q`, `as`, `cursor`, `limit`).
pub const MAX_QUERY_LEN: usize = 4096;
/// Results per kind of match on a page, unless `limit` says fewer.
pub const DEFAULT_LIMIT: u32 = 25;
/// The most results per kind a page shows.
pub const MAX_LIMIT: u32 = 100;

/// What a TERM asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// Searched one after the other; each gets its own section of results.
    pub terms: Vec<Term>,
    /// An entry UUID: the entries with this leaf hash.
    pub leaf_hash: Option<[u8; 32]>,
    /// A log index: that entry of every log.
    pub log_index: Option<u64>,
}

/// A results page's whole query: the TERM, optionally narrowed to one kind of match (`as`)
/// and paged (`cursor`, `limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// The TERM as typed (trimmed); `None`: the bare search form.
    pub q: Option<String>,
    pub lookup: Lookup,
    /// Only this kind of [`Term`] (its [`Term::kind`]).
    pub only: Option<String>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Why a query is refused (a 400 page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TermError {
    #[error("the query string is longer than {MAX_QUERY_LEN} bytes")]
    QueryTooLong,
    #[error("the search term is {0} bytes long; at most {MAX_TERM_LEN} are accepted")]
    TooLong(usize),
    #[error("the search term contains control characters")]
    Control,
    #[error("{0:?} is not a digest: expected sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>")]
    Digest(String),
    #[error("{0:?} is not a log index (at most 19 digits)")]
    LogIndex(String),
    #[error("unknown parameter {0:?}; expected q, as, cursor or limit")]
    UnknownParameter(String),
    #[error("parameter {0:?} is given twice")]
    Repeated(String),
    #[error("as={0:?} is not one of identity, issuer, digest, key, cert or a Fulcio extension's name")]
    Kind(String),
    #[error("limit {0:?} is not a number from 1 to {MAX_LIMIT}")]
    Limit(String),
    #[error("cursor is malformed")]
    Cursor,
    #[error("{0}: gives no value to search for")]
    EmptyValue(&'static str),
}

/// Parses a results page's raw query string (without `?`).
pub fn parse_page_query(raw: &str) -> Result<PageQuery, TermError> {
    if raw.len() > MAX_QUERY_LEN {
        return Err(TermError::QueryTooLong);
    }
    let mut out = PageQuery {
        q: None,
        lookup: Lookup::default(),
        only: None,
        cursor: None,
        limit: DEFAULT_LIMIT,
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        if seen.iter().any(|s| *s == name) {
            return Err(TermError::Repeated(clip(&name, 40)));
        }
        seen.push(name.to_string());
        match &*name {
            "q" => {
                let term = value.trim();
                if !term.is_empty() {
                    out.lookup = parse_term(term)?;
                    out.q = Some(term.to_string());
                }
            }
            "as" => {
                if !["identity", "issuer", "digest", "key", "cert"].contains(&&*value)
                    && FulcioField::by_name(&value).is_none()
                {
                    return Err(TermError::Kind(clip(&value, 40)));
                }
                out.only = Some(value.to_string());
            }
            "cursor" => {
                // Cursors are the source's; only their size and alphabet are ours to bound.
                if value.is_empty()
                    || value.len() > 64
                    || !value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
                {
                    return Err(TermError::Cursor);
                }
                out.cursor = Some(value.to_string());
            }
            "limit" => {
                let bad = || TermError::Limit(clip(&value, 40));
                if value.is_empty() || value.len() > 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let n: u32 = value.parse().map_err(|_| bad())?;
                if n == 0 || n > MAX_LIMIT {
                    return Err(bad());
                }
                out.limit = n;
            }
            _ => return Err(TermError::UnknownParameter(clip(&name, 40))),
        }
    }
    if let Some(kind) = &out.only {
        out.lookup.terms.retain(|t| t.kind() == kind);
        out.lookup.leaf_hash = None;
        out.lookup.log_index = None;
    }
    Ok(out)
}

/// Reads one TERM (already trimmed, non-empty) as the table in the module docs says.
pub fn parse_term(term: &str) -> Result<Lookup, TermError> {
    if term.len() > MAX_TERM_LEN {
        return Err(TermError::TooLong(term.len()));
    }
    if term.chars().any(char::is_control) {
        return Err(TermError::Control);
    }
    let mut out = Lookup::default();
    if let Some(field) = term
        .split_once(':')
        .and_then(|(name, _)| FulcioField::by_name(name))
    {
        let value = term[field.name.len() + 1..].trim();
        if value.is_empty() {
            return Err(TermError::EmptyValue(field.name));
        }
        out.terms.push(Term::Extension {
            arc: field.arc,
            value: value.to_string(),
        });
        return Ok(out);
    }
    let is_hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if term.bytes().all(|b| b.is_ascii_digit()) {
        // SQLite integers are i64; no log is longer.
        let n = (term.len() <= 19)
            .then(|| term.parse::<u64>().ok())
            .flatten()
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| TermError::LogIndex(clip(term, 40)))?;
        out.log_index = Some(n);
        // A 64-digit decimal number is also hex; it was refused above as an index.
        return Ok(out);
    }
    if let Some((alg, hex)) = term.split_once(':') {
        let want = match alg.to_ascii_lowercase().as_str() {
            "sha256" => Some(64),
            "sha384" => Some(96),
            "sha512" => Some(128),
            _ => None,
        };
        if let Some(want) = want {
            if hex.len() != want || !is_hex(hex) {
                return Err(TermError::Digest(clip(term, 140)));
            }
            out.terms.push(Term::Digest(format!(
                "{}:{}",
                alg.to_ascii_lowercase(),
                hex.to_ascii_lowercase()
            )));
            return Ok(out);
        }
    }
    if is_hex(term) {
        let hex = term.to_ascii_lowercase();
        match hex.len() {
            64 => {
                out.terms.push(Term::Digest(format!("sha256:{hex}")));
                out.terms.push(Term::KeyFingerprint(hex.clone()));
                out.terms.push(Term::CertFingerprint(hex.clone()));
                out.leaf_hash = Some(leaf_hash(&hex));
                return Ok(out);
            }
            80 => {
                out.leaf_hash = Some(leaf_hash(&hex[16..]));
                return Ok(out);
            }
            96 => {
                out.terms.push(Term::Digest(format!("sha384:{hex}")));
                return Ok(out);
            }
            128 => {
                out.terms.push(Term::Digest(format!("sha512:{hex}")));
                return Ok(out);
            }
            _ => {}
        }
    }
    out.terms.push(Term::Identity(term.to_string()));
    if term.starts_with("https://") || term.starts_with("http://") {
        out.terms.push(Term::Issuer(term.to_string()));
    }
    Ok(out)
}

fn leaf_hash(hex64: &str) -> [u8; 32] {
    let mut h = [0u8; 32];
    // Infallible: the caller checked 64 hex digits.
    hex::decode_to_slice(hex64, &mut h).unwrap_or_default();
    h
}

/// The first `n` characters of an untrusted value, for an error message.
fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_read_as_what_they_can_be() {
        let t = |s: &str| parse_term(s).unwrap();
        assert_eq!(
            t("alice@example.com").terms,
            vec![Term::Identity("alice@example.com".into())]
        );
        assert_eq!(
            t("https://issuer.example").terms,
            vec![
                Term::Identity("https://issuer.example".into()),
                Term::Issuer("https://issuer.example".into())
            ]
        );
        assert_eq!(t("42").log_index, Some(42));
        assert!(t("42").terms.is_empty());
        let hex = "AB".repeat(32);
        let l = t(&hex);
        assert_eq!(l.terms[0], Term::Digest(format!("sha256:{}", hex.to_lowercase())));
        assert_eq!(l.terms.len(), 3);
        assert_eq!(l.leaf_hash, Some([0xab; 32]));
        let uuid = format!("{}{}", "0".repeat(16), "cd".repeat(32));
        assert_eq!(t(&uuid).leaf_hash, Some([0xcd; 32]));
        assert_eq!(
            t(&format!("SHA256:{hex}")).terms,
            vec![Term::Digest(format!("sha256:{}", hex.to_lowercase()))]
        );
        // Patterns are text like any other.
        assert_eq!(
            t(".*@example.com").terms,
            vec![Term::Identity(".*@example.com".into())]
        );
        assert_eq!(
            t("' OR 1=1; DROP TABLE postings;--").terms,
            vec![Term::Identity("' OR 1=1; DROP TABLE postings;--".into())]
        );
    }

    #[test]
    fn fulcio_extension_terms() {
        let t = |s: &str| parse_term(s).unwrap().terms;
        assert_eq!(
            t("github_workflow_repository:acme/app"),
            vec![Term::Extension {
                arc: 5,
                value: "acme/app".into()
            }]
        );
        // The value is everything after the first colon (URIs have their own).
        assert_eq!(
            t("source_repository_uri:https://github.com/acme/app"),
            vec![Term::Extension {
                arc: 12,
                value: "https://github.com/acme/app".into()
            }]
        );
        assert_eq!(t("runner_environment:*")[0].value(), "*");
        assert_eq!(t("build_trigger:push")[0].kind(), "build_trigger");
        // Not a field's name: an identity as before.
        assert_eq!(t("repo:acme/app"), vec![Term::Identity("repo:acme/app".into())]);
        assert_eq!(
            parse_term("build_signer_uri: "),
            Err(TermError::EmptyValue("build_signer_uri"))
        );
        let only =
            parse_page_query("q=source_repository_ref%3Arefs%2Ftags%2Fv1&as=source_repository_ref").unwrap();
        assert_eq!(only.lookup.terms.len(), 1);
    }

    #[test]
    fn bad_terms_are_refused() {
        assert!(matches!(parse_term("sha256:abc"), Err(TermError::Digest(_))));
        assert!(matches!(parse_term("sha512:zz"), Err(TermError::Digest(_))));
        assert!(matches!(parse_term(&"9".repeat(20)), Err(TermError::LogIndex(_))));
        assert!(matches!(
            parse_term("99999999999999999999"),
            Err(TermError::LogIndex(_))
        ));
        assert!(matches!(parse_term("a\u{0}b"), Err(TermError::Control)));
        assert!(matches!(
            parse_term(&"a".repeat(MAX_TERM_LEN + 1)),
            Err(TermError::TooLong(_))
        ));
    }

    #[test]
    fn page_queries_are_bounded() {
        let q = parse_page_query("q=alice%40example.com&limit=5&cursor=i42").unwrap();
        assert_eq!(q.q.as_deref(), Some("alice@example.com"));
        assert_eq!((q.limit, q.cursor.as_deref()), (5, Some("i42")));
        assert_eq!(parse_page_query("").unwrap().q, None);
        assert_eq!(parse_page_query("q=++").unwrap().q, None);
        for (raw, want) in [
            ("q=a&limit=0", TermError::Limit("0".into())),
            ("q=a&limit=101", TermError::Limit("101".into())),
            ("q=a&limit=99999999999", TermError::Limit("99999999999".into())),
            ("q=a&limit=-1", TermError::Limit("-1".into())),
            ("q=a&q=b", TermError::Repeated("q".into())),
            ("q=a&as=regex", TermError::Kind("regex".into())),
            ("q=a&cursor=%3Cscript%3E", TermError::Cursor),
            ("q=a&sort=desc", TermError::UnknownParameter("sort".into())),
        ] {
            assert_eq!(parse_page_query(raw), Err(want), "{raw}");
        }
        assert_eq!(
            parse_page_query(&"q=".repeat(MAX_QUERY_LEN)),
            Err(TermError::QueryTooLong)
        );
        let only = parse_page_query(&format!("q={}&as=key", "ab".repeat(32))).unwrap();
        assert_eq!(only.lookup.terms, vec![Term::KeyFingerprint("ab".repeat(32))]);
        assert_eq!(only.lookup.leaf_hash, None);
    }
}
