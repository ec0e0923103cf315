//! Client spec §4.3: the certificate's identity matches the policy — the subject alternative
//! name, the issuer extension (1.3.6.1.4.1.57264.1.8, else .1.1), and any other Fulcio
//! extensions the policy names.

use signet_x509::CertificateIdentity;
use thiserror::Error;

use crate::policy::{ExtensionField, IdentityPolicy};

/// Why the identity did not match.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("the signing certificate's identity cannot be read: {0}")]
    Certificate(String),
    #[error("the signing certificate's identity is {found:?}; expected {expected}")]
    SubjectAlternativeName { expected: String, found: String },
    #[error("the signing certificate's OIDC issuer is {}; expected {expected}", found.as_deref().map_or("absent".to_string(), |f| format!("{f:?}")))]
    Issuer { expected: String, found: Option<String> },
    #[error("the signing certificate's {} extension is {}; expected {expected}", field.name(), found.as_deref().map_or("absent".to_string(), |f| format!("{f:?}")))]
    Extension {
        field: ExtensionField,
        expected: String,
        found: Option<String>,
    },
}

/// Matches `identity` against `policy`.
pub fn check_identity(policy: &IdentityPolicy, identity: &CertificateIdentity) -> Result<(), IdentityError> {
    let san = identity.san.value();
    if !policy.subject_alternative_name.matches(san) {
        return Err(IdentityError::SubjectAlternativeName {
            expected: policy.subject_alternative_name.to_string(),
            found: san.to_string(),
        });
    }
    let issuer = identity.extensions.issuer.as_deref();
    if !issuer.is_some_and(|i| policy.issuer.matches(i)) {
        return Err(IdentityError::Issuer {
            expected: policy.issuer.to_string(),
            found: issuer.map(str::to_string),
        });
    }
    for m in &policy.extensions {
        let value = m.field.value(&identity.extensions);
        if !value.is_some_and(|v| m.expected.matches(v)) {
            return Err(IdentityError::Extension {
                field: m.field,
                expected: m.expected.to_string(),
                found: value.map(str::to_string),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Matcher;
    use signet_x509::{FulcioExtensions, SubjectAlternativeName};

    fn identity() -> CertificateIdentity {
        CertificateIdentity {
            san: SubjectAlternativeName::Uri(
                "https://github.com/org/repo/.github/workflows/r.yml@refs/heads/main".into(),
            ),
            extensions: FulcioExtensions {
                issuer: Some("https://token.actions.githubusercontent.com".into()),
                source_repository_uri: Some("https://github.com/org/repo".into()),
                source_repository_ref: Some("refs/heads/main".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn exact_and_regex_policies() {
        let id = identity();
        let ok = IdentityPolicy::exact(id.san.value(), "https://token.actions.githubusercontent.com")
            .with_extension(
                ExtensionField::SourceRepositoryRef,
                Matcher::Exact("refs/heads/main".into()),
            );
        check_identity(&ok, &id).unwrap();

        let wrong_san = IdentityPolicy::exact(
            "someone@example.com",
            "https://token.actions.githubusercontent.com",
        );
        assert!(matches!(
            check_identity(&wrong_san, &id),
            Err(IdentityError::SubjectAlternativeName { .. })
        ));
        let wrong_issuer = IdentityPolicy::exact(id.san.value(), "https://accounts.google.com");
        assert!(matches!(
            check_identity(&wrong_issuer, &id),
            Err(IdentityError::Issuer { .. })
        ));

        let regex = IdentityPolicy {
            subject_alternative_name: Matcher::regex("^https://github.com/org/.*@refs/heads/main$").unwrap(),
            issuer: Matcher::regex("^https://token\\.actions\\.githubusercontent\\.com$").unwrap(),
            extensions: vec![],
        };
        check_identity(&regex, &id).unwrap();
        let regex_miss = IdentityPolicy {
            subject_alternative_name: Matcher::regex("^https://github.com/other/").unwrap(),
            ..regex.clone()
        };
        assert!(matches!(
            check_identity(&regex_miss, &id),
            Err(IdentityError::SubjectAlternativeName { .. })
        ));
        let ext_miss = regex.with_extension(
            ExtensionField::SourceRepositoryUri,
            Matcher::Exact("https://github.com/evil/repo".into()),
        );
        assert!(matches!(
            check_identity(&ext_miss, &id),
            Err(IdentityError::Extension { .. })
        ));
    }
}
