//! The object identifiers this crate reads and writes, named as in their RFCs.

use der::asn1::ObjectIdentifier as Oid;

/// RFC 5652 §5.1 `id-signedData`.
pub const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// RFC 3161 §2.4.2 `id-ct-TSTInfo`.
pub const ID_CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// RFC 5652 §11.1 `id-contentType`.
pub const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// RFC 5652 §11.2 `id-messageDigest`.
pub const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// RFC 5652 §11.3 `id-signingTime`.
pub const ID_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
/// RFC 2634 §5.4 `id-aa-signingCertificate` (ESSCertID, SHA-1).
pub const ID_AA_SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// RFC 5035 §3 `id-aa-signingCertificateV2` (ESSCertIDv2).
pub const ID_AA_SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// RFC 5280 §4.2.1.12 `id-kp-timeStamping`.
pub const ID_KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
/// RFC 5280 §4.2.1.12 `id-ce-extKeyUsage`.
pub const ID_CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
/// RFC 5280 §4.2.1.9 `id-ce-basicConstraints`.
pub const ID_CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");

/// The policy Sigstore's timestamp authority puts in every TSTInfo.
pub const SIGSTORE_TSA_POLICY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.2");

pub const ID_SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
pub const ID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const ID_SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const ID_SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
pub const ID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
pub const ID_ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// RFC 5280 §4.2.1.6 `id-ce-subjectAltName`.
pub const ID_CE_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
/// RFC 5280 §4.2.1.2 `id-ce-subjectKeyIdentifier`.
pub const ID_CE_SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");
/// RFC 5280 §4.2.1.1 `id-ce-authorityKeyIdentifier`.
pub const ID_CE_AUTHORITY_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.35");
/// RFC 5280 §4.2.1.3 `id-ce-keyUsage`.
pub const ID_CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// RFC 5280 §4.2.1.10 `id-ce-nameConstraints`.
pub const ID_CE_NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
/// RFC 5280 §4.2.1.13 `id-ce-cRLDistributionPoints`.
pub const ID_CE_CRL_DISTRIBUTION_POINTS: Oid = Oid::new_unwrap("2.5.29.31");
/// RFC 5280 §4.2.1.4 `id-ce-certificatePolicies`.
pub const ID_CE_CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
/// RFC 5280 §4.2.1.5 `id-ce-policyMappings`.
pub const ID_CE_POLICY_MAPPINGS: Oid = Oid::new_unwrap("2.5.29.33");
/// RFC 5280 §4.2.1.11 `id-ce-policyConstraints`.
pub const ID_CE_POLICY_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.36");
/// RFC 5280 §4.2.1.14 `id-ce-inhibitAnyPolicy`.
pub const ID_CE_INHIBIT_ANY_POLICY: Oid = Oid::new_unwrap("2.5.29.54");
/// RFC 5280 §4.2.2.1 `id-pe-authorityInfoAccess`.
pub const ID_PE_AUTHORITY_INFO_ACCESS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
/// RFC 5280 §4.2.1.12 `id-kp-codeSigning`.
pub const ID_KP_CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");

// The RFC 6962 OIDs (precertificate poison, SCT list) are in `crate::sct`.

/// Fulcio's arc (`docs/oid-info.md`): 1.3.6.1.4.1.57264.1.<n> holds one fact about the signer.
pub const FULCIO_ARC: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1");
/// 1.3.6.1.4.1.57264.1.1, Issuer (deprecated): raw UTF-8 bytes, no DER inside.
pub const FULCIO_ISSUER_V1: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// 1.3.6.1.4.1.57264.1.7: the otherName type-id of a `username` SAN (UTF8String value).
pub const FULCIO_OTHERNAME_SAN: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// 1.3.6.1.4.1.57264.1.8, Issuer (V2): DER UTF8String.
pub const FULCIO_ISSUER_V2: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// 1.3.6.1.4.1.57264.1.<arc>, for `arc` in Fulcio's arc.
pub fn fulcio(arc: u32) -> Oid {
    FULCIO_ARC
        .push_arc(arc)
        .expect("a 1.3.6.1.4.1.57264.1 child fits an OID")
}

/// One of Fulcio's extensions that describe the signer's workflow or build
/// (docs/oid-info.md), as search and display name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FulcioField {
    /// The last arc: the extension is 1.3.6.1.4.1.57264.1.`arc`.
    pub arc: u32,
    /// snake_case, as [`crate::FulcioExtensions`] names the field: signet's search parameter.
    pub name: &'static str,
    /// The command-line flag (without `--`): cosign's `verify` flag where cosign has one
    /// (`certificate-github-workflow-*`), else `certificate-` and the name in kebab-case.
    pub flag: &'static str,
    /// Fulcio's title for it.
    pub title: &'static str,
}

macro_rules! fulcio_fields {
    ($($arc:literal $name:ident $flag:literal $title:literal;)*) => {
        /// The workflow and build extensions, by arc: the legacy GitHub ones (.1.2–.1.6, raw
        /// bytes) and the current ones (.1.9–.1.23, DER UTF8String). The issuer arcs (.1.1,
        /// .1.8) are not here: they are the certificate's issuer, searched as such.
        pub const FULCIO_FIELDS: &[FulcioField] = &[
            $(FulcioField { arc: $arc, name: stringify!($name), flag: $flag, title: $title },)*
        ];
    };
}

fulcio_fields! {
    2 github_workflow_trigger "certificate-github-workflow-trigger" "GitHub Workflow Trigger (deprecated)";
    3 github_workflow_sha "certificate-github-workflow-sha" "GitHub Workflow SHA (deprecated)";
    4 github_workflow_name "certificate-github-workflow-name" "GitHub Workflow Name (deprecated)";
    5 github_workflow_repository "certificate-github-workflow-repository" "GitHub Workflow Repository (deprecated)";
    6 github_workflow_ref "certificate-github-workflow-ref" "GitHub Workflow Ref (deprecated)";
    9 build_signer_uri "certificate-build-signer-uri" "Build Signer URI";
    10 build_signer_digest "certificate-build-signer-digest" "Build Signer Digest";
    11 runner_environment "certificate-runner-environment" "Runner Environment";
    12 source_repository_uri "certificate-source-repository-uri" "Source Repository URI";
    13 source_repository_digest "certificate-source-repository-digest" "Source Repository Digest";
    14 source_repository_ref "certificate-source-repository-ref" "Source Repository Ref";
    15 source_repository_identifier "certificate-source-repository-identifier" "Source Repository Identifier";
    16 source_repository_owner_uri "certificate-source-repository-owner-uri" "Source Repository Owner URI";
    17 source_repository_owner_identifier "certificate-source-repository-owner-identifier" "Source Repository Owner Identifier";
    18 build_config_uri "certificate-build-config-uri" "Build Config URI";
    19 build_config_digest "certificate-build-config-digest" "Build Config Digest";
    20 build_trigger "certificate-build-trigger" "Build Trigger";
    21 run_invocation_uri "certificate-run-invocation-uri" "Run Invocation URI";
    22 source_repository_visibility_at_signing "certificate-source-repository-visibility-at-signing" "Source Repository Visibility At Signing";
    23 deployment_environment "certificate-deployment-environment" "Deployment Environment";
}

impl FulcioField {
    /// The field of `arc`, if it is one.
    pub fn by_arc(arc: u32) -> Option<&'static FulcioField> {
        FULCIO_FIELDS.iter().find(|f| f.arc == arc)
    }

    /// The field named `name` (its snake_case name), if any.
    pub fn by_name(name: &str) -> Option<&'static FulcioField> {
        FULCIO_FIELDS.iter().find(|f| f.name == name)
    }

    /// The field an extension OID is, if it is one.
    pub fn by_oid(oid: &Oid) -> Option<&'static FulcioField> {
        if oid.parent() != Some(FULCIO_ARC) {
            return None;
        }
        Self::by_arc(oid.arc(oid.len() - 1)?)
    }

    /// Its OID.
    pub fn oid(&self) -> Oid {
        fulcio(self.arc)
    }
}
