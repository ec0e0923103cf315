//! The JWT claims set (RFC 7519 §4) and the registered-claim checks an ID token must pass
//! (OpenID Connect Core §3.1.3.7): `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`.

use serde_json::{Map, Value};

use crate::TokenError;

/// A token's claims: a JSON object, read through typed accessors that fail with the claim's
/// name.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub(crate) fn from_json(payload: &[u8]) -> Result<Self, TokenError> {
        serde_json::from_slice::<Map<String, Value>>(payload)
            .map(Claims)
            .map_err(|e| TokenError::MalformedClaims {
                reason: e.to_string(),
            })
    }

    /// The raw value of a claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string claim; `None` when absent or JSON null, an error when of another type.
    pub fn string(&self, name: &str) -> Result<Option<&str>, TokenError> {
        string_at(self.0.get(name), name)
    }

    /// A string claim that must be present and non-empty.
    pub fn required_string(&self, name: &str) -> Result<&str, TokenError> {
        match self.string(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(missing(name)),
        }
    }

    /// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional (floored).
    pub fn numeric_date(&self, name: &str) -> Result<Option<i64>, TokenError> {
        let Some(value) = self.0.get(name) else {
            return Ok(None);
        };
        if let Some(i) = value.as_i64() {
            return Ok(Some(i));
        }
        match value.as_f64() {
            Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
            _ => Err(invalid(name, "a NumericDate", value)),
        }
    }

    /// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
    pub fn audience(&self) -> Result<Vec<&str>, TokenError> {
        match self.0.get("aud") {
            None | Some(Value::Null) => Err(missing("aud")),
            Some(Value::String(s)) => Ok(vec![s.as_str()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| invalid("aud", "a string or an array of strings", v))
                })
                .collect(),
            Some(other) => Err(invalid("aud", "a string or an array of strings", other)),
        }
    }

    /// Follows a `$.a.b.c` path through nested objects (the subset of JSONPath Fulcio's
    /// `IssuerClaim` uses) to a string.
    pub fn string_at_path(&self, path: &str) -> Result<&str, TokenError> {
        let mut names = path.strip_prefix("$.").unwrap_or(path).split('.');
        let first = names.next().unwrap_or_default();
        let mut value = self.0.get(first);
        for name in names {
            value = value.and_then(|v| v.get(name));
        }
        match string_at(value, path)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(missing(path)),
        }
    }
}

fn string_at<'a>(value: Option<&'a Value>, name: &str) -> Result<Option<&'a str>, TokenError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(name, "a string", other)),
    }
}

pub(crate) fn missing(name: &str) -> TokenError {
    TokenError::MissingClaim {
        claim: name.to_owned(),
    }
}

pub(crate) fn invalid(name: &str, expected: &'static str, got: &Value) -> TokenError {
    let mut got = got.to_string();
    if got.len() > 200 {
        let mut end = 200;
        while !got.is_char_boundary(end) {
            end -= 1;
        }
        got.truncate(end);
        got.push('…');
    }
    TokenError::InvalidClaim {
        claim: name.to_owned(),
        expected,
        got,
    }
}

/// The registered claims every accepted token has, after [`check_registered_claims`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClaims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: Option<i64>,
}

/// What the registered claims are checked against.
#[derive(Debug, Clone, Copy)]
pub struct ClaimExpectations<'a> {
    /// `iss` must equal this exactly (OpenID Connect Core §3.1.3.7 step 2).
    pub issuer: &'a str,
    /// `aud` must contain this (step 3).
    pub client_id: &'a str,
    /// The time of the check, Unix seconds.
    pub now: i64,
    /// Allowed clock difference between us and the issuer, seconds.
    pub clock_skew: i64,
}

/// Checks `iss`, `aud`, `exp`, `nbf` and `iat`, and that `sub` is present. `exp` and `iat` are
/// required, as go-oidc and Fulcio require them of ID tokens.
pub fn check_registered_claims(
    claims: &Claims,
    expect: ClaimExpectations<'_>,
) -> Result<RegisteredClaims, TokenError> {
    let ClaimExpectations {
        issuer,
        client_id,
        now,
        clock_skew: skew,
    } = expect;
    let iss = claims.required_string("iss")?;
    if iss != issuer {
        return Err(TokenError::InvalidClaim {
            claim: "iss".into(),
            expected: "the configured issuer URL",
            got: format!("{iss:?} (configured: {issuer:?})"),
        });
    }
    let audience = claims.audience()?;
    if !audience.contains(&client_id) {
        return Err(TokenError::WrongAudience {
            audience: audience.into_iter().map(str::to_owned).collect(),
            client_id: client_id.to_owned(),
        });
    }
    let exp = claims.numeric_date("exp")?.ok_or_else(|| missing("exp"))?;
    let iat = claims.numeric_date("iat")?.ok_or_else(|| missing("iat"))?;
    let nbf = claims.numeric_date("nbf")?;
    if now.saturating_sub(skew) > exp {
        return Err(TokenError::Expired { exp, now, skew });
    }
    if let Some(nbf) = nbf {
        if nbf > now.saturating_add(skew) {
            return Err(TokenError::NotYetValid { nbf, now, skew });
        }
    }
    if iat > now.saturating_add(skew) {
        return Err(TokenError::IssuedInFuture { iat, now, skew });
    }
    let sub = claims.required_string("sub")?;
    Ok(RegisteredClaims {
        iss: iss.to_owned(),
        sub: sub.to_owned(),
        exp,
        iat,
        nbf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Claims {
        Claims::from_json(v.to_string().as_bytes()).unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    fn expect() -> ClaimExpectations<'static> {
        ClaimExpectations {
            issuer: "https://issuer.example",
            client_id: "sigstore",
            now: NOW,
            clock_skew: 60,
        }
    }

    fn good() -> Value {
        serde_json::json!({
            "iss": "https://issuer.example", "sub": "alice", "aud": ["other", "sigstore"],
            "exp": NOW + 600, "iat": NOW - 10, "nbf": NOW - 10,
        })
    }

    fn with(key: &str, value: Value) -> Claims {
        let mut v = good();
        v[key] = value;
        claims(v)
    }

    fn without(key: &str) -> Claims {
        let mut v = good();
        v.as_object_mut().unwrap().remove(key);
        claims(v)
    }

    #[test]
    fn accepts_good_claims_and_string_audience() {
        let r = check_registered_claims(&claims(good()), expect()).unwrap();
        assert_eq!((r.sub.as_str(), r.exp, r.iat), ("alice", NOW + 600, NOW - 10));
        check_registered_claims(&with("aud", "sigstore".into()), expect()).unwrap();
        // Fractional NumericDate.
        check_registered_claims(&with("exp", (NOW as f64 + 0.5).into()), expect()).unwrap();
    }

    #[test]
    fn time_checks_honour_the_skew() {
        // Just inside the skew passes, just outside fails.
        check_registered_claims(&with("exp", (NOW - 60).into()), expect()).unwrap();
        let e = check_registered_claims(&with("exp", (NOW - 61).into()), expect()).unwrap_err();
        assert!(
            matches!(e, TokenError::Expired { exp, .. } if exp == NOW - 61),
            "{e}"
        );
        check_registered_claims(&with("nbf", (NOW + 60).into()), expect()).unwrap();
        let e = check_registered_claims(&with("nbf", (NOW + 61).into()), expect()).unwrap_err();
        assert!(matches!(e, TokenError::NotYetValid { .. }), "{e}");
        check_registered_claims(&with("iat", (NOW + 60).into()), expect()).unwrap();
        let e = check_registered_claims(&with("iat", (NOW + 61).into()), expect()).unwrap_err();
        assert!(matches!(e, TokenError::IssuedInFuture { .. }), "{e}");
        let no_skew = ClaimExpectations {
            clock_skew: 0,
            ..expect()
        };
        let e = check_registered_claims(&with("exp", (NOW - 1).into()), no_skew).unwrap_err();
        assert!(matches!(e, TokenError::Expired { .. }), "{e}");
    }

    #[test]
    fn each_claim_failure_names_the_claim() {
        for (c, name) in [
            (without("exp"), "exp"),
            (without("iat"), "iat"),
            (without("sub"), "sub"),
            (without("aud"), "aud"),
            (without("iss"), "iss"),
            (with("sub", "".into()), "sub"),
        ] {
            match check_registered_claims(&c, expect()) {
                Err(TokenError::MissingClaim { claim }) => assert_eq!(claim, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        for (c, name) in [
            (with("exp", "soon".into()), "exp"),
            (with("aud", serde_json::json!(["sigstore", 3])), "aud"),
            (with("iss", "https://evil.example".into()), "iss"),
            (with("sub", serde_json::json!({"a": 1})), "sub"),
        ] {
            match check_registered_claims(&c, expect()) {
                Err(TokenError::InvalidClaim { claim, .. }) => assert_eq!(claim, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        match check_registered_claims(&with("aud", "not-sigstore".into()), expect()) {
            Err(TokenError::WrongAudience { audience, client_id }) => {
                assert_eq!(audience, ["not-sigstore"]);
                assert_eq!(client_id, "sigstore");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_path() {
        let c = claims(
            serde_json::json!({"federated_claims": {"connector_id": "https://github.com/login/oauth"}}),
        );
        assert_eq!(
            c.string_at_path("$.federated_claims.connector_id").unwrap(),
            "https://github.com/login/oauth"
        );
        assert!(matches!(
            c.string_at_path("$.federated_claims.user_id"),
            Err(TokenError::MissingClaim { .. })
        ));
    }
}
