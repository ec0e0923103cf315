//! Registry authentication as the wire carries it: the `WWW-Authenticate` challenge a registry
//! answers 401 with (RFC 7235 §2.1; the distribution spec's token auth puts `realm`, `service`
//! and `scope` in a `Bearer` challenge). The answer comes from the registry, so this parser
//! takes any text and never panics (fuzzed: `fuzz/fuzz_targets/oci_manifest.rs`).

use std::collections::BTreeMap;

/// `Bearer realm="https://auth.example/token",service="registry.example"` → the scheme and
/// its parameters (RFC 7235 §2.1, quoted strings unescaped).
pub fn parse_challenge(challenge: &str) -> (String, BTreeMap<String, String>) {
    let challenge = challenge.trim();
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                value.push(c);
                chars.next();
            }
        }
        params.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    (scheme.to_string(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_as_rfc_7235_says() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(params["realm"], "https://auth.example/token");
        assert_eq!(params["service"], "registry.example");
        assert_eq!(params["scope"], "repository:a/b:pull");
        let (scheme, params) = parse_challenge(r#"Basic realm="a \"quoted\" realm", charset=UTF-8"#);
        assert_eq!(scheme, "Basic");
        assert_eq!(params["realm"], r#"a "quoted" realm"#);
        assert_eq!(params["charset"], "UTF-8");
        assert!(parse_challenge("").1.is_empty());
    }

    #[test]
    fn odd_challenges_do_not_confuse_it() {
        // An unterminated quote takes the rest; a parameter without `=` ends the list.
        let (_, params) = parse_challenge(r#"Bearer realm="https://a.example/t"#);
        assert_eq!(params["realm"], "https://a.example/t");
        let (scheme, params) = parse_challenge("Bearer");
        assert_eq!(scheme, "Bearer");
        assert!(params.is_empty());
        let (_, params) = parse_challenge(r#"Bearer REALM="x", Service=y"#);
        assert_eq!(params["realm"], "x");
        assert_eq!(params["service"], "y");
        let (_, params) = parse_challenge("Bearer realm=\"\\");
        assert_eq!(params["realm"], "");
    }
}
