//! Trust material (protobuf-specs `sigstore_trustroot.proto`, `dev.sigstore.trustroot.v1`):
//! `TrustedRoot` (what to trust when verifying), `SigningConfig` (which services to sign
//! with) and `ClientTrustConfig` (both in one file, as `sigstore --trust-config` reads it).
//!
//! Output has no null or unknown fields, since sigstore-python parses these with pydantic
//! `extra=forbid`. Input ignores unknown fields, as sigstore-go does (`DiscardUnknown`), so
//! newer files still load.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::common::{DistinguishedName, LogId, PublicKey, TimeRange, X509CertificateChain};

/// The media type signet writes for a trusted root.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// The other trusted root media type the clients accept.
pub const TRUSTED_ROOT_MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.trustedroot.v0.2+json";
/// The signing config media type (v0.2: services carry an API version and validity).
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// The TUF target name under which a Sigstore instance publishes its `TrustedRoot`.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
/// The TUF target name under which a Sigstore instance publishes its `SigningConfig` (v0.2).
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";
/// The client trust config media type.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// Why trust material was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("{what} does not parse: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("{what} has mediaType {found:?}; expected {expected}")]
    MediaType {
        what: &'static str,
        found: String,
        expected: &'static str,
    },
}

/// `TrustedRoot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedRoot {
    #[serde(rename = "mediaType", alias = "media_type")]
    pub media_type: String,
    #[serde(default)]
    pub tlogs: Vec<TransparencyLogInstance>,
    #[serde(rename = "certificateAuthorities", alias = "certificate_authorities", default)]
    pub certificate_authorities: Vec<CertificateAuthority>,
    #[serde(default)]
    pub ctlogs: Vec<TransparencyLogInstance>,
    #[serde(rename = "timestampAuthorities", alias = "timestamp_authorities", default)]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// `TransparencyLogInstance`: a Rekor or CT log and the key its checkpoints / SCTs verify with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransparencyLogInstance {
    #[serde(rename = "baseUrl", alias = "base_url")]
    pub base_url: String,
    /// The log's Merkle hash, by its `HashAlgorithm` name (`SHA2_256`).
    #[serde(rename = "hashAlgorithm", alias = "hash_algorithm")]
    pub hash_algorithm: String,
    #[serde(rename = "publicKey", alias = "public_key")]
    pub public_key: PublicKey,
    #[serde(rename = "logId", alias = "log_id")]
    pub log_id: LogId,
    #[serde(
        rename = "checkpointKeyId",
        alias = "checkpoint_key_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub checkpoint_key_id: Option<LogId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// `CertificateAuthority`: a Fulcio instance or a timestamp authority, by its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateAuthority {
    #[serde(default)]
    pub subject: DistinguishedName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(rename = "certChain", alias = "cert_chain", default)]
    pub cert_chain: X509CertificateChain,
    /// When the authority is trusted. protobuf-specs (`sigstore_trustroot.proto`) does not
    /// require `validFor` here, and sigstore-go (`ParseCertificateAuthority`,
    /// `ParseTimestampingAuthority`), sigstore-python, sigstore-java and sigstore-js trust an
    /// authority without one at any time: absent (or `null`), it reads as
    /// [`TimeRange::unbounded`] and is written back as absent. A `validFor` without a `start`
    /// is kept as it is and contains no time.
    #[serde(
        rename = "validFor",
        alias = "valid_for",
        default = "TimeRange::unbounded",
        deserialize_with = "absent_is_unbounded",
        skip_serializing_if = "TimeRange::is_unbounded"
    )]
    pub valid_for: TimeRange,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// A `validFor` that is `null` means what an absent one means (protojson: `null` is "not set").
fn absent_is_unbounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TimeRange, D::Error> {
    Ok(Option::<TimeRange>::deserialize(d)?.unwrap_or_else(TimeRange::unbounded))
}

/// `SigningConfig` v0.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningConfig {
    #[serde(rename = "mediaType", alias = "media_type")]
    pub media_type: String,
    #[serde(rename = "caUrls", alias = "ca_urls", default)]
    pub ca_urls: Vec<Service>,
    #[serde(rename = "oidcUrls", alias = "oidc_urls", default)]
    pub oidc_urls: Vec<Service>,
    #[serde(rename = "rekorTlogUrls", alias = "rekor_tlog_urls", default)]
    pub rekor_tlog_urls: Vec<Service>,
    #[serde(
        rename = "rekorTlogConfig",
        alias = "rekor_tlog_config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rekor_tlog_config: Option<ServiceConfiguration>,
    #[serde(rename = "tsaUrls", alias = "tsa_urls", default)]
    pub tsa_urls: Vec<Service>,
    #[serde(
        rename = "tsaConfig",
        alias = "tsa_config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tsa_config: Option<ServiceConfiguration>,
}

/// `Service`: one endpoint, its major API version, validity and operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub url: String,
    #[serde(rename = "majorApiVersion", alias = "major_api_version", default)]
    pub major_api_version: u32,
    #[serde(
        rename = "validFor",
        alias = "valid_for",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_for: Option<TimeRange>,
    #[serde(default)]
    pub operator: String,
}

/// `ServiceConfiguration`: how many of the listed services a client should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfiguration {
    pub selector: ServiceSelector,
    /// For `EXACT`: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// `ServiceSelector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceSelector {
    #[serde(rename = "ALL")]
    All,
    #[serde(rename = "ANY")]
    Any,
    #[serde(rename = "EXACT")]
    Exact,
}

/// `ClientTrustConfig`: a trusted root and a signing config together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTrustConfig {
    #[serde(rename = "mediaType", alias = "media_type")]
    pub media_type: String,
    #[serde(rename = "trustedRoot", alias = "trusted_root")]
    pub trusted_root: TrustedRoot,
    #[serde(rename = "signingConfig", alias = "signing_config")]
    pub signing_config: SigningConfig,
}

fn parse<T: for<'de> Deserialize<'de>>(what: &'static str, json: &[u8]) -> Result<T, TrustError> {
    crate::protojson::from_json_object(json).map_err(|source| TrustError::Json { what, source })
}

fn check_media_type(what: &'static str, found: &str, accepted: &[&'static str]) -> Result<(), TrustError> {
    if accepted.contains(&found) {
        Ok(())
    } else {
        Err(TrustError::MediaType {
            what,
            found: found.to_string(),
            expected: accepted[0],
        })
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("trust material serialisation cannot fail")
}

impl TrustedRoot {
    /// An empty trusted root with signet's media type.
    pub fn new() -> Self {
        TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.to_string(),
            tlogs: Vec::new(),
            certificate_authorities: Vec::new(),
            ctlogs: Vec::new(),
            timestamp_authorities: Vec::new(),
        }
    }

    /// Parses a `trusted_root.json`, checking its media type.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustError> {
        let root: TrustedRoot = parse("trusted root", json)?;
        root.check()?;
        Ok(root)
    }

    fn check(&self) -> Result<(), TrustError> {
        check_media_type(
            "trusted root",
            &self.media_type,
            &[TRUSTED_ROOT_MEDIA_TYPE, TRUSTED_ROOT_MEDIA_TYPE_V0_2],
        )
    }

    /// Indented JSON.
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }
}

impl Default for TrustedRoot {
    fn default() -> Self {
        Self::new()
    }
}

impl SigningConfig {
    /// An empty v0.2 signing config.
    pub fn new() -> Self {
        SigningConfig {
            media_type: SIGNING_CONFIG_MEDIA_TYPE.to_string(),
            ca_urls: Vec::new(),
            oidc_urls: Vec::new(),
            rekor_tlog_urls: Vec::new(),
            rekor_tlog_config: None,
            tsa_urls: Vec::new(),
            tsa_config: None,
        }
    }

    /// Parses a `signing_config.v0.2.json`, checking its media type is v0.2.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustError> {
        let config: SigningConfig = parse("signing config", json)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), TrustError> {
        check_media_type("signing config", &self.media_type, &[SIGNING_CONFIG_MEDIA_TYPE])
    }

    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientTrustConfig {
    pub fn new(trusted_root: TrustedRoot, signing_config: SigningConfig) -> Self {
        ClientTrustConfig {
            media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE.to_string(),
            trusted_root,
            signing_config,
        }
    }

    /// Parses a client trust config, checking its media type and those of its parts.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustError> {
        let config: ClientTrustConfig = parse("client trust config", json)?;
        check_media_type(
            "client trust config",
            &config.media_type,
            &[CLIENT_TRUST_CONFIG_MEDIA_TYPE],
        )?;
        config.trusted_root.check()?;
        config.signing_config.check()?;
        Ok(config)
    }

    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }
}
