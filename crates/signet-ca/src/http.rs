//! Fulcio's REST API v2, as its gRPC gateway serves it: protobuf-JSON in and out (both the
//! camelCase and the proto field names are accepted), errors as `{"code","message"}` with the
//! gRPC code number. The clock is read here.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::pop::KeyProof;
use crate::{Ca, CaError, RejectReason};

/// Larger request bodies are refused: a request is a token, a key and a signature.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The CA's routes, at the root of its URL (the Python client drops any path prefix from the
/// CA URL): `POST /api/v2/signingCert`, `GET /api/v2/trustBundle`, `GET /api/v2/configuration`,
/// and `GET /metrics` (Prometheus text).
pub fn router(ca: Arc<Ca>) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(ca)
}

/// `CreateSigningCertificateRequest` (fulcio.proto).
#[derive(Debug, Deserialize)]
struct CreateSigningCertificateRequest {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default, alias = "public_key_request")]
    #[serde(rename = "publicKeyRequest")]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(default, alias = "certificate_signing_request")]
    #[serde(rename = "certificateSigningRequest")]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Credentials {
    #[serde(default, alias = "oidc_identity_token")]
    #[serde(rename = "oidcIdentityToken")]
    oidc_identity_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PublicKeyRequest {
    #[serde(default, alias = "public_key")]
    #[serde(rename = "publicKey")]
    public_key: Option<PublicKeyMessage>,
    #[serde(default, alias = "proof_of_possession")]
    #[serde(rename = "proofOfPossession")]
    proof_of_possession: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PublicKeyMessage {
    /// `PublicKeyAlgorithm`; informational (the key's own SPKI says what it is).
    #[serde(default)]
    #[allow(dead_code)]
    algorithm: Option<serde_json::Value>,
    #[serde(default)]
    content: String,
}

async fn signing_cert(
    State(ca): State<Arc<Ca>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            ca.stats.rejected(RejectReason::Request);
            return error_response(e.status(), &e.body_text());
        }
    };
    match parse_request(&headers, &body) {
        Ok((token, proof)) => match ca.issue(&token, &proof, unix_now()).await {
            Ok(chain) => {
                let certificates: Vec<String> = chain
                    .iter()
                    .map(|der| signet_keyfile::certificate_pem(der))
                    .collect();
                let body =
                    json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": certificates } } });
                (StatusCode::CREATED, Json(body)).into_response()
            }
            Err(e) => ca_error(&e),
        },
        Err(e) => {
            ca.stats.error(&e);
            ca_error(&e)
        }
    }
}

/// The token (from the body, else the Bearer header, as Fulcio reads it) and the key proof.
fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<(String, KeyProof), CaError> {
    let request: CreateSigningCertificateRequest = serde_json::from_slice(body).map_err(|e| {
        CaError::BadRequest(format!(
            "request body is not a CreateSigningCertificateRequest: {e}"
        ))
    })?;
    let token = request
        .credentials
        .and_then(|c| c.oidc_identity_token)
        .filter(|t| !t.is_empty())
        .or_else(|| bearer_token(headers))
        .ok_or(CaError::MissingToken)?;
    let proof = match (request.certificate_signing_request, request.public_key_request) {
        (Some(csr), _) if !csr.is_empty() => {
            let bytes = B64
                .decode(csr.trim())
                .map_err(|_| CaError::BadCsr("certificateSigningRequest is not base64".into()))?;
            KeyProof::Csr(bytes)
        }
        (_, Some(pkr)) => {
            let public_key = pkr
                .public_key
                .map(|k| k.content)
                .ok_or_else(|| CaError::BadPublicKey("publicKeyRequest.publicKey is missing".into()))?;
            let signature = B64
                .decode(pkr.proof_of_possession.unwrap_or_default().trim())
                .map_err(|_| CaError::BadProof("proofOfPossession is not base64".into()))?;
            if signature.is_empty() {
                return Err(CaError::BadProof("proofOfPossession is empty".into()));
            }
            KeyProof::SignedChallenge {
                public_key,
                signature,
            }
        }
        _ => return Err(CaError::MissingKeyProof),
    };
    Ok((token, proof))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_string())
}

async fn trust_bundle(State(ca): State<Arc<Ca>>) -> Response {
    let certificates: Vec<String> = ca
        .chain()
        .chain
        .iter()
        .map(|der| signet_keyfile::certificate_pem(der))
        .collect();
    Json(json!({ "chains": [ { "certificates": certificates } ] })).into_response()
}

async fn metrics(State(ca): State<Arc<Ca>>) -> signet_ct::metrics::MetricsWriter {
    crate::metrics::write(&ca)
}

async fn configuration(State(ca): State<Arc<Ca>>) -> Response {
    Json(configuration_json(ca.tokens().issuers())).into_response()
}

/// Fulcio's `Configuration` message: each trusted issuer with its audience and challenge
/// claim; meta issuers as `wildcardIssuerUrl`.
fn configuration_json(issuers: &signet_oidc::IssuerSet) -> serde_json::Value {
    let entry = |url_field: &str, url: &str, c: &signet_oidc::IssuerConfig| {
        let mut v = json!({ url_field: url, "audience": c.client_id, "challengeClaim": c.challenge_claim() });
        if let Some(domain) = &c.spiffe_trust_domain {
            v["spiffeTrustDomain"] = json!(domain);
        }
        v
    };
    let mut list: Vec<serde_json::Value> = issuers
        .issuers()
        .map(|c| entry("issuerUrl", &c.issuer_url, c))
        .collect();
    list.extend(
        issuers
            .meta_issuers()
            .map(|(pattern, c)| entry("wildcardIssuerUrl", pattern, c)),
    );
    json!({ "issuers": list })
}

fn ca_error(e: &CaError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        tracing::error!(error = %e, "certificate issuance failed");
    } else {
        tracing::debug!(error = %e, "certificate request rejected");
    }
    error_response(status, &e.to_string())
}

fn error_response(status: StatusCode, message: &str) -> Response {
    // gRPC codes as Fulcio's gateway writes them.
    let code = match status {
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
        StatusCode::UNAUTHORIZED => 16,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY => 14,
        _ => 13,
    };
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
