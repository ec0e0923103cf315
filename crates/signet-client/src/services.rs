//! Choosing services from a signing config (protobuf-specs `SigningConfig` v0.2): keep the
//! services whose `majorApiVersion` the client speaks and whose `validFor` contains now, one
//! per operator (its highest version), highest version first, then apply the selector.

use anyhow::bail;
use signet_formats::trust::{Service, ServiceConfiguration, ServiceSelector, SigningConfig};

/// Rekor API versions signet writes to (v2: `/api/v2/log/entries`, v1: `/api/v1/log/entries`).
pub const REKOR_VERSIONS: &[u32] = &[2, 1];
/// Fulcio, timestamp authority and OpenID provider API version.
pub const V1: &[u32] = &[1];

/// The services one signing uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningServices {
    /// `None` for key-based signing.
    pub ca: Option<Service>,
    /// The transparency logs to write to.
    pub tlogs: Vec<Service>,
    /// The timestamp authorities to ask.
    pub tsas: Vec<Service>,
}

/// Which transparency logs a signature is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogChoice {
    /// As the signing config selects, among the Rekor versions signet writes
    /// ([`REKOR_VERSIONS`]).
    #[default]
    AsConfigured,
    /// One Rekor v1 log, whatever the selector says: cosign's legacy image format carries a v1
    /// entry's signed entry timestamp (SET), which a Rekor v2 entry does not have.
    RekorV1,
}

/// Chooses the CA (unless `keyless` is false), logs and timestamp authorities at `now`.
pub fn signing_services(config: &SigningConfig, keyless: bool, now: i64) -> anyhow::Result<SigningServices> {
    signing_services_for(config, keyless, now, LogChoice::AsConfigured)
}

/// [`signing_services`], with the logs chosen as `logs` says.
pub fn signing_services_for(
    config: &SigningConfig,
    keyless: bool,
    now: i64,
    logs: LogChoice,
) -> anyhow::Result<SigningServices> {
    let ca = if keyless {
        let ca = select(&config.ca_urls, V1, None, now)?.into_iter().next();
        if ca.is_none() {
            bail!(
                "the signing config lists no certificate authority valid now with API version 1; keyless signing needs one (or sign with --key)"
            );
        }
        ca
    } else {
        None
    };
    // A log is required: a signature no log has seen cannot be verified by a Sigstore client.
    let tlogs = match logs {
        LogChoice::AsConfigured => select(
            &config.rekor_tlog_urls,
            REKOR_VERSIONS,
            config.rekor_tlog_config,
            now,
        )?,
        LogChoice::RekorV1 => {
            let v1 = select(&config.rekor_tlog_urls, &[1], None, now)?;
            if v1.is_empty() {
                bail!(
                    "the signing config lists no Rekor v1 transparency log valid now; cosign's legacy format needs a Rekor v1 entry (its signed entry timestamp)"
                );
            }
            v1
        }
    };
    if tlogs.is_empty() {
        bail!("the signing config lists no transparency log valid now with API version 1 or 2");
    }
    let tsas = select(&config.tsa_urls, V1, config.tsa_config, now)?;
    if tsas.is_empty() && tlogs.iter().any(|t| t.major_api_version >= 2) {
        bail!(
            "the signing config lists no timestamp authority valid now, and Rekor v2 entries need a signed timestamp"
        );
    }
    Ok(SigningServices { ca, tlogs, tsas })
}

/// The OpenID issuer to log in with, if the config names one valid now.
pub fn oidc_issuer(config: &SigningConfig, now: i64) -> Option<String> {
    select(&config.oidc_urls, V1, None, now)
        .ok()
        .and_then(|s| s.into_iter().next())
        .map(|s| s.url)
}

/// The services of `services` a client speaking `versions` should use at `now` under `config`
/// (no config: `ANY`, one service).
pub fn select(
    services: &[Service],
    versions: &[u32],
    config: Option<ServiceConfiguration>,
    now: i64,
) -> anyhow::Result<Vec<Service>> {
    let mut chosen: Vec<&Service> = Vec::new();
    for s in services {
        let valid = s.valid_for.as_ref().is_none_or(|range| range.contains(now));
        if !valid || !versions.contains(&s.major_api_version) {
            continue;
        }
        // One per operator: keep its highest version, at the place of the first seen.
        match chosen
            .iter_mut()
            .find(|c| !s.operator.is_empty() && c.operator == s.operator)
        {
            Some(c) if c.major_api_version < s.major_api_version => *c = s,
            Some(_) => {}
            None => chosen.push(s),
        }
    }
    // Highest version first; a stable sort keeps the config's order within a version.
    chosen.sort_by_key(|s| std::cmp::Reverse(s.major_api_version));
    let selector = config.map(|c| c.selector).unwrap_or(ServiceSelector::Any);
    let chosen: Vec<Service> = chosen.into_iter().cloned().collect();
    match selector {
        ServiceSelector::All => Ok(chosen),
        ServiceSelector::Any => Ok(chosen.into_iter().take(1).collect()),
        ServiceSelector::Exact => {
            let count = config.and_then(|c| c.count).unwrap_or(0) as usize;
            if count == 0 {
                bail!("the signing config has selector EXACT without a count");
            }
            if chosen.len() < count {
                bail!(
                    "the signing config asks for EXACT {count} services but only {} are usable now",
                    chosen.len()
                );
            }
            Ok(chosen.into_iter().take(count).collect())
        }
    }
}
