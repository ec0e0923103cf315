//! The search API's query string, parsed and bounded before anything touches the database:
//! `identity`, `issuer`, `digest`, `key`, `cert`, and the Fulcio workflow/build extensions by
//! name (`github_workflow_repository`, `github_workflow_ref`, `source_repository_uri`,
//! `source_repository_ref`, `build_signer_uri`, ...: `signet_x509::oid::FULCIO_FIELDS`)
//! (terms, ANDed), `limit` and `cursor`.
//! Untrusted input; fuzzed by `fuzz/fuzz_targets/search_query.rs`.

use signet_x509::oid::FulcioField;
use thiserror::Error;

/// Longest term value accepted (a SAN URI of a GitHub workflow is ~150 bytes; RFC 5280 puts no
/// bound on SANs, so this one is ours).
pub const MAX_VALUE_LEN: usize = 1024;
/// Longest query string accepted.
pub const MAX_QUERY_LEN: usize = 4096;
/// Page size when none is asked for, and the largest page served.
pub const DEFAULT_LIMIT: u32 = 25;
pub const MAX_LIMIT: u32 = 100;

/// What a posting is keyed by. The codes ([`Field::code`]) are stored in the index file:
/// never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The artifact digest, `sha256:<hex>` (hashedrekord `data`, dsse payload hash).
    Digest,
    /// A Fulcio certificate's SAN (email, URI, GitHub workflow URI).
    Identity,
    /// A Fulcio certificate's OIDC issuer (1.3.6.1.4.1.57264.1.8, else .1.1).
    Issuer,
    /// Hex SHA-256 of a verifier's DER SubjectPublicKeyInfo.
    KeyFingerprint,
    /// Hex SHA-256 of a verifier's DER certificate.
    CertFingerprint,
    /// One certificate's identity and issuer together ([`identity_issuer`]): the question a
    /// verification policy asks, answered by one index lookup instead of an intersection of
    /// a busy issuer's postings with an identity's (BENCHMARKS.md, "Search").
    IdentityIssuer,
    /// A Fulcio workflow/build extension, 1.3.6.1.4.1.57264.1.`arc`, one of
    /// `signet_x509::oid::FULCIO_FIELDS` (the repository, ref, workflow, build signer, ... a certificate
    /// names); its value exactly as the certificate holds it.
    Fulcio(u32),
}

/// The index file's schema: 2 added the [`Field::Fulcio`] postings (an older file is emptied
/// and rebuilt from the log when opened).
pub const SCHEMA_VERSION: i64 = 2;

/// The value of an [`Field::IdentityIssuer`] posting: the issuer's length, `:`, the issuer and
/// the identity. The length prefix keeps it unambiguous whatever bytes either holds.
pub fn identity_issuer(identity: &str, issuer: &str) -> String {
    format!("{}:{issuer}{identity}", issuer.len())
}

impl Field {
    /// The number the index file stores for the field: 1 to 6 for the fixed fields, 100 +
    /// the arc for a Fulcio extension.
    pub fn code(self) -> i64 {
        match self {
            Field::Digest => 1,
            Field::Identity => 2,
            Field::Issuer => 3,
            Field::KeyFingerprint => 4,
            Field::CertFingerprint => 5,
            Field::IdentityIssuer => 6,
            Field::Fulcio(arc) => 100 + i64::from(arc),
        }
    }

    /// The query parameter naming this field.
    pub fn param(self) -> &'static str {
        match self {
            Field::Digest => "digest",
            Field::Identity => "identity",
            Field::Issuer => "issuer",
            Field::KeyFingerprint => "key",
            Field::CertFingerprint => "cert",
            Field::IdentityIssuer => "identity+issuer",
            Field::Fulcio(arc) => FulcioField::by_arc(arc).map_or("fulcio", |f| f.name),
        }
    }

    /// The field a query parameter names: a fixed one, or a Fulcio extension by its
    /// `FULCIO_FIELDS` name (`github_workflow_repository`, `source_repository_ref`, ...).
    pub fn from_param(name: &str) -> Option<Field> {
        [
            Field::Digest,
            Field::Identity,
            Field::Issuer,
            Field::KeyFingerprint,
            Field::CertFingerprint,
        ]
        .into_iter()
        .find(|f| f.param() == name)
        .or_else(|| FulcioField::by_name(name).map(|f| Field::Fulcio(f.arc)))
    }

    /// The field of a Fulcio extension OID, if it is one of `FULCIO_FIELDS`.
    pub fn of_extension(oid: &der::asn1::ObjectIdentifier) -> Option<Field> {
        FulcioField::by_oid(oid).map(|f| Field::Fulcio(f.arc))
    }
}

/// A parsed search: every term must match (AND); results in log-index order from `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// At least one, each field at most once, in the order given.
    pub terms: Vec<(Field, String)>,
    /// The first log index to return (from a `next` cursor); 0 without one.
    pub start: u64,
    pub limit: u32,
}

/// Why a query was refused (a 400 answer).
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    #[error("query string longer than {MAX_QUERY_LEN} bytes")]
    TooLong,
    #[error("query string is not application/x-www-form-urlencoded: {0}")]
    Encoding(String),
    #[error("unknown query parameter {0:?}; expected identity, issuer, digest, key, cert, a Fulcio extension (github_workflow_repository, source_repository_uri, source_repository_ref, build_signer_uri, ...), limit or cursor")]
    UnknownParameter(String),
    #[error("query parameter {0:?} given twice")]
    Repeated(String),
    #[error("{param} is {len} bytes long; at most {MAX_VALUE_LEN} are accepted")]
    ValueTooLong { param: &'static str, len: usize },
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("digest {0:?} is not sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>")]
    Digest(String),
    #[error("{param} {value:?} is not a hex SHA-256 fingerprint (64 hex digits)")]
    Fingerprint { param: &'static str, value: String },
    #[error("limit {0:?} is not a number from 1 to {MAX_LIMIT}")]
    Limit(String),
    #[error("cursor {0:?} is not one this server returned as next")]
    Cursor(String),
    #[error("no search term: give identity, issuer, digest, key or cert")]
    NoTerm,
}

impl SearchQuery {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw: &str) -> Result<SearchQuery, QueryError> {
        if raw.len() > MAX_QUERY_LEN {
            return Err(QueryError::TooLong);
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw).map_err(|e| QueryError::Encoding(e.to_string()))?;
        let mut query = SearchQuery {
            terms: Vec::new(),
            start: 0,
            limit: DEFAULT_LIMIT,
        };
        let (mut limit_seen, mut cursor_seen) = (false, false);
        for (name, value) in pairs {
            match name.as_str() {
                "limit" => {
                    once(&mut limit_seen, "limit")?;
                    query.limit = parse_limit(&value)?;
                }
                "cursor" => {
                    once(&mut cursor_seen, "cursor")?;
                    query.start = decode_cursor(&value)?;
                }
                _ => {
                    let field = Field::from_param(&name).ok_or(QueryError::UnknownParameter(name.clone()))?;
                    if query.terms.iter().any(|(f, _)| *f == field) {
                        return Err(QueryError::Repeated(name));
                    }
                    query.terms.push((field, normalize(field, &value)?));
                }
            }
        }
        if query.terms.is_empty() {
            return Err(QueryError::NoTerm);
        }
        Ok(query)
    }

    /// The terms as the index is asked them: identity and issuer joined into one
    /// [`Field::IdentityIssuer`] term, most selective first (the first drives the lookup, the
    /// others are checked per row).
    pub fn plan(&self) -> Vec<(Field, String)> {
        let find = |f: Field| self.terms.iter().find(|(g, _)| *g == f).map(|(_, v)| v.as_str());
        let mut terms: Vec<(Field, String)> = match (find(Field::Identity), find(Field::Issuer)) {
            (Some(identity), Some(issuer)) => self
                .terms
                .iter()
                .filter(|(f, _)| !matches!(f, Field::Identity | Field::Issuer))
                .cloned()
                .chain([(Field::IdentityIssuer, identity_issuer(identity, issuer))])
                .collect(),
            _ => self.terms.clone(),
        };
        // Digests and per-run values are nearly unique; an issuer, a runner environment or a
        // trigger is shared by most entries.
        let rank = |f: &Field| match f {
            Field::Digest => 0,
            Field::CertFingerprint => 1,
            Field::KeyFingerprint => 2,
            Field::Fulcio(3 | 10 | 13 | 19 | 21) => 3,
            Field::IdentityIssuer => 4,
            Field::Identity => 5,
            Field::Fulcio(2 | 11 | 20 | 22) => 8,
            Field::Fulcio(_) => 6,
            Field::Issuer => 7,
        };
        terms.sort_by_key(|(f, _)| rank(f));
        terms
    }
}

fn once(seen: &mut bool, name: &str) -> Result<(), QueryError> {
    if std::mem::replace(seen, true) {
        return Err(QueryError::Repeated(name.to_string()));
    }
    Ok(())
}

fn parse_limit(value: &str) -> Result<u32, QueryError> {
    let bad = || QueryError::Limit(value.chars().take(40).collect());
    if value.is_empty() || value.len() > 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u32 = value.parse().map_err(|_| bad())?;
    if n == 0 || n > MAX_LIMIT {
        return Err(bad());
    }
    Ok(n)
}

/// The stored form of a term's value: digests and fingerprints lower-case hex (a bare 64-digit
/// digest is taken as SHA-256), identities and issuers exactly as given.
pub fn normalize(field: Field, value: &str) -> Result<String, QueryError> {
    let param = field.param();
    if value.len() > MAX_VALUE_LEN {
        return Err(QueryError::ValueTooLong {
            param,
            len: value.len(),
        });
    }
    if value.is_empty() {
        return Err(QueryError::Empty(param));
    }
    match field {
        // Taken literally: no patterns, no case folding (a certificate's value is exact).
        Field::Identity | Field::Issuer | Field::IdentityIssuer | Field::Fulcio(_) => Ok(value.to_string()),
        Field::Digest => {
            let (alg, hex) = value.split_once(':').unwrap_or(("sha256", value));
            let want = match alg.to_ascii_lowercase().as_str() {
                "sha256" => 64,
                "sha384" => 96,
                "sha512" => 128,
                _ => 0,
            };
            if want == 0 || hex.len() != want || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(QueryError::Digest(value.chars().take(140).collect()));
            }
            Ok(format!(
                "{}:{}",
                alg.to_ascii_lowercase(),
                hex.to_ascii_lowercase()
            ))
        }
        Field::KeyFingerprint | Field::CertFingerprint => {
            if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(QueryError::Fingerprint {
                    param,
                    value: value.chars().take(80).collect(),
                });
            }
            Ok(value.to_ascii_lowercase())
        }
    }
}

/// A `next` cursor: the log index the next page starts at, as `i` and its decimal digits. Not
/// a secret and not signed: any start index is a fair question, and the answers carry their
/// own proofs.
pub fn encode_cursor(start: u64) -> String {
    format!("i{start}")
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<u64, QueryError> {
    let bad = || QueryError::Cursor(cursor.chars().take(40).collect());
    let digits = cursor.strip_prefix('i').ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    // SQLite integers are i64; an index beyond that is in no log.
    if n > i64::MAX as u64 {
        return Err(bad());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms_limit_and_cursor() {
        let d = "AB".repeat(32);
        let q = SearchQuery::parse(&format!(
            "identity=a%40example.com&issuer=https%3A%2F%2Fi&digest={d}&limit=7&cursor=i42"
        ))
        .unwrap();
        assert_eq!(
            q.terms,
            vec![
                (Field::Identity, "a@example.com".into()),
                (Field::Issuer, "https://i".into()),
                (Field::Digest, format!("sha256:{}", d.to_lowercase())),
            ]
        );
        assert_eq!((q.start, q.limit), (42, 7));
        assert_eq!(decode_cursor(&encode_cursor(9)).unwrap(), 9);
    }

    #[test]
    fn identity_and_issuer_are_asked_together_and_unambiguously() {
        let q = SearchQuery::parse("issuer=x&identity=a&digest=sha256:".to_string().as_str());
        assert!(q.is_err());
        let q = SearchQuery::parse("issuer=x&identity=a").unwrap();
        assert_eq!(q.plan(), vec![(Field::IdentityIssuer, identity_issuer("a", "x"))]);
        // A separator inside either value cannot make two pairs meet.
        assert_ne!(identity_issuer("b", "x\na"), identity_issuer("a\nb", "x"));
        assert_ne!(identity_issuer("b", "x:a"), identity_issuer("a:b", "x"));
        let q = SearchQuery::parse("identity=a").unwrap();
        assert_eq!(q.plan(), q.terms);
    }

    #[test]
    fn fulcio_extension_terms_are_named_like_cosigns_flags() {
        let q = SearchQuery::parse(
            "github_workflow_repository=acme%2Fsignet&source_repository_ref=refs%2Ftags%2Fv1&identity=x&issuer=i",
        )
        .unwrap();
        assert_eq!(
            q.terms[..2],
            [
                (Field::Fulcio(5), "acme/signet".into()),
                (Field::Fulcio(14), "refs/tags/v1".into())
            ]
        );
        // Every field of the table is a parameter, stored under its own code.
        let mut codes = std::collections::BTreeSet::new();
        for f in signet_x509::oid::FULCIO_FIELDS {
            let field = Field::from_param(f.name).unwrap();
            assert_eq!((field, field.param()), (Field::Fulcio(f.arc), f.name));
            assert!(codes.insert(field.code()) && field.code() > 100);
        }
        // The per-run and digest fields drive the lookup before the identity and issuer.
        let plan = SearchQuery::parse(
            "issuer=i&runner_environment=github-hosted&github_workflow_sha=abc&identity=x",
        )
        .unwrap()
        .plan();
        let fields: Vec<Field> = plan.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [Field::Fulcio(3), Field::IdentityIssuer, Field::Fulcio(11)]
        );
        // Literal values: a wildcard is a value like any other; the issuer arcs are `issuer`.
        let q = SearchQuery::parse("source_repository_uri=*").unwrap();
        assert_eq!(q.terms, [(Field::Fulcio(12), "*".into())]);
        for raw in [
            "github_workflow_repository=",
            "build_signer_uri=a&build_signer_uri=b",
            "fulcio=1",
            "issuer_v2=x",
        ] {
            assert!(SearchQuery::parse(raw).is_err(), "{raw}");
        }
        assert!(matches!(
            SearchQuery::parse(&format!(
                "source_repository_ref={}",
                "r".repeat(MAX_VALUE_LEN + 1)
            )),
            Err(QueryError::ValueTooLong {
                param: "source_repository_ref",
                ..
            })
        ));
    }

    #[test]
    fn refuses_bad_input() {
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        for (raw, want) in [
            ("", QueryError::NoTerm),
            ("limit=5", QueryError::NoTerm),
            ("digest=sha256:abc", QueryError::Digest("sha256:abc".into())),
            ("digest=md5:00", QueryError::Digest("md5:00".into())),
            ("identity=", QueryError::Empty("identity")),
            ("identity=a&identity=b", QueryError::Repeated("identity".into())),
            ("identity=a&limit=0", QueryError::Limit("0".into())),
            ("identity=a&limit=101", QueryError::Limit("101".into())),
            (
                "identity=a&limit=99999999999",
                QueryError::Limit("99999999999".into()),
            ),
            ("identity=a&limit=-1", QueryError::Limit("-1".into())),
            ("identity=a&cursor=42", QueryError::Cursor("42".into())),
            (
                "identity=a&cursor=i99999999999999999999",
                QueryError::Cursor("i99999999999999999999".into()),
            ),
            (
                "key=zz",
                QueryError::Fingerprint {
                    param: "key",
                    value: "zz".into(),
                },
            ),
            ("email=a", QueryError::UnknownParameter("email".into())),
        ] {
            assert_eq!(SearchQuery::parse(raw), Err(want), "{raw}");
        }
        assert!(matches!(
            SearchQuery::parse(&format!("identity={long}")),
            Err(QueryError::ValueTooLong {
                param: "identity",
                ..
            })
        ));
        assert_eq!(
            SearchQuery::parse(&"a".repeat(MAX_QUERY_LEN + 1)),
            Err(QueryError::TooLong)
        );
        // SQL-looking text is a value like any other (parameterised SQL only).
        let q = SearchQuery::parse("identity=%27%20OR%201%3D1%3B%20DROP%20TABLE%20postings%3B--").unwrap();
        assert_eq!(q.terms[0].1, "' OR 1=1; DROP TABLE postings;--");
    }
}
