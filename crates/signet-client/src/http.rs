//! The client's HTTP: blocking `ureq` (no async runtime in client commands), TLS by rustls on
//! the workspace's aws-lc-rs provider, Mozilla's roots plus the system's (read at the first TLS
//! connection) plus `$SSL_CERT_FILE`. Every failure
//! is one line naming the URL, the status and the server's JSON `message`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use rustls::pki_types::{CertificateDer, ServerName};

/// Connecting may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole request (connect, send, read the answer) may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read from any service: chains, log entries and tokens are a few KiB.
pub const MAX_RESPONSE_BYTES: u64 = 4 << 20;

/// A blocking HTTP client with the client's timeouts and limits.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client with the default timeouts, the response-size bound and rustls with Mozilla's
    /// roots (plus `$SSL_CERT_FILE`).
    pub fn new() -> anyhow::Result<Self> {
        Http::with_extra_roots(&[])
    }

    /// [`Http::new`], also trusting the CA certificates in the PEM files `extra` (a private
    /// registry's CA: `--registry-cacert`).
    pub fn with_extra_roots(extra: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirects(0)
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .tls_connector(Arc::new(RustlsConnector::new(extra)?))
            .build();
        Ok(Http { agent })
    }

    /// POSTs JSON and parses a JSON answer.
    pub fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        bearer: Option<&str>,
    ) -> anyhow::Result<serde_json::Value> {
        check_scheme(url)?;
        let mut req = self
            .agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("Accept", "application/json");
        if let Some(token) = bearer {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        let bytes = finish(url, req.send_bytes(body.to_string().as_bytes()))?;
        parse_json(url, &bytes)
    }

    /// POSTs raw bytes of `content_type` and returns the raw answer.
    pub fn post_bytes(&self, url: &str, content_type: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
        check_scheme(url)?;
        let req = self.agent.post(url).set("Content-Type", content_type);
        finish(url, req.send_bytes(body))
    }

    /// POSTs an `application/x-www-form-urlencoded` form and parses a JSON answer.
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> anyhow::Result<serde_json::Value> {
        check_scheme(url)?;
        let req = self.agent.post(url).set("Accept", "application/json");
        let bytes = finish(url, req.send_form(form))?;
        parse_json(url, &bytes)
    }

    /// POSTs an `application/x-www-form-urlencoded` form and returns whatever status came
    /// back, its body bounded by `max_len`: for protocols whose error answers the caller reads
    /// (an OAuth token endpoint's `authorization_pending`).
    pub fn post_form_exchange(
        &self,
        url: &str,
        form: &[(&str, &str)],
        max_len: u64,
    ) -> anyhow::Result<Exchange> {
        check_scheme(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.exchange(
            "POST",
            url,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            Some(body.as_bytes()),
            max_len,
        )
    }

    /// GETs a JSON document, with an optional `Authorization` header value.
    pub fn get_json(&self, url: &str, authorization: Option<&str>) -> anyhow::Result<serde_json::Value> {
        check_scheme(url)?;
        let mut req = self.agent.get(url).set("Accept", "application/json");
        if let Some(auth) = authorization {
            req = req.set("Authorization", auth);
        }
        let bytes = finish(url, req.call())?;
        parse_json(url, &bytes)
    }
}

impl Http {
    /// GETs raw bytes, reading at most `max_len` of them. `Ok(None)` when the file does not
    /// exist: HTTP 404, or 403 as S3 and GCS answer for a missing object (TUF repositories
    /// are often served from one).
    pub fn get_limited(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, GetError> {
        check_scheme(url).map_err(|e| GetError::Other(format!("{e:#}")))?;
        match self.agent.get(url).call() {
            Err(ureq::Error::Status(404 | 403, _)) => Ok(None),
            Ok(resp) => {
                let mut body = Vec::new();
                resp.into_reader()
                    .take(max_len.saturating_add(1))
                    .read_to_end(&mut body)
                    .map_err(|e| GetError::Other(format!("reading the answer from {url}: {e}")))?;
                if body.len() as u64 > max_len {
                    return Err(GetError::TooLong);
                }
                Ok(Some(body))
            }
            other => finish(url, other)
                .map(Some)
                .map_err(|e| GetError::Other(format!("{e:#}"))),
        }
    }
}

/// One HTTP exchange whose status the caller judges (a registry's 401 challenge, 404 for
/// an API it lacks): the status, the headers signet reads, and the body (bounded).
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`.
    pub docker_content_digest: Option<String>,
    /// `WWW-Authenticate`.
    pub www_authenticate: Option<String>,
    /// `Location`.
    pub location: Option<String>,
    /// The body, at most the caller's bound.
    pub body: Vec<u8>,
}

impl Http {
    /// Sends a request and returns whatever status came back, reading at most `max_len` bytes
    /// of the body (more is an error). Transport failures are one line naming the URL. The
    /// scheme is the caller's to judge (the registry client allows plain http to this machine,
    /// or where the user allowed it); the other methods here allow it to loopback only.
    pub fn exchange(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        max_len: u64,
    ) -> anyhow::Result<Exchange> {
        let mut req = self.agent.request(method, url);
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let sent = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let resp = match sent {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => return Err(transport_error(url, &t)),
        };
        let (mut exchange, resp) = exchange_headers(resp);
        resp.into_reader()
            .take(max_len.saturating_add(1))
            .read_to_end(&mut exchange.body)
            .with_context(|| format!("reading the answer from {url}"))?;
        if exchange.body.len() as u64 > max_len {
            return Err(anyhow!(
                "{url} answered with more than {max_len} bytes; refusing it"
            ));
        }
        Ok(exchange)
    }

    /// A GET whose successful (200) body is copied into `sink` rather than kept, at most
    /// `max_len` bytes of it (a blob too large to hold in memory: an image layer). Any other
    /// status is returned as [`Http::exchange`] returns it, its body bounded by `max_error`.
    pub fn get_into(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        sink: &mut dyn Write,
        max_len: u64,
        max_error: u64,
    ) -> anyhow::Result<Exchange> {
        let mut req = self.agent.get(url);
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let resp = match req.call() {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => return Err(transport_error(url, &t)),
        };
        let (mut exchange, resp) = exchange_headers(resp);
        let bound = if exchange.status == 200 {
            max_len
        } else {
            max_error
        };
        let mut reader = resp.into_reader().take(bound.saturating_add(1));
        let copied = if exchange.status == 200 {
            std::io::copy(&mut reader, sink)
        } else {
            reader.read_to_end(&mut exchange.body).map(|n| n as u64)
        }
        .with_context(|| format!("reading the answer from {url}"))?;
        if copied > bound {
            return Err(anyhow!(
                "{url} answered with more than {bound} bytes; refusing it"
            ));
        }
        Ok(exchange)
    }
}

/// The status and the headers signet reads, with the response left to read.
fn exchange_headers(resp: ureq::Response) -> (Exchange, ureq::Response) {
    let header = |name: &str| resp.header(name).map(str::to_string);
    let exchange = Exchange {
        status: resp.status(),
        content_type: header("Content-Type"),
        docker_content_digest: header("Docker-Content-Digest"),
        www_authenticate: header("WWW-Authenticate"),
        location: header("Location"),
        body: Vec::new(),
    };
    (exchange, resp)
}

/// Why [`Http::get_limited`] failed.
#[derive(Debug)]
pub enum GetError {
    /// The answer was longer than the caller allowed.
    TooLong,
    /// Anything else, as one line naming the URL.
    Other(String),
}

/// https anywhere; plain http only to this machine (a local `signet server`), since tokens and
/// certificates would otherwise cross the network in the clear.
pub(crate) fn check_scheme(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(anyhow!(
            "refusing plain http to {url}: only loopback addresses may use http; use https"
        )),
        other => Err(anyhow!("{url}: unsupported URL scheme {other:?}; use https")),
    }
}

pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn parse_json(url: &str, bytes: &[u8]) -> anyhow::Result<serde_json::Value> {
    serde_json::from_slice(bytes).with_context(|| format!("{url} answered with a body that is not JSON"))
}

/// Reads the answer (at most [`MAX_RESPONSE_BYTES`]) or turns the failure into one line.
fn finish(url: &str, result: Result<ureq::Response, ureq::Error>) -> anyhow::Result<Vec<u8>> {
    match result {
        Ok(resp) => read_capped(url, resp),
        Err(ureq::Error::Status(status, resp)) => {
            let body = read_capped(url, resp).unwrap_or_default();
            Err(anyhow!("{url} answered HTTP {status}{}", server_message(&body)))
        }
        Err(ureq::Error::Transport(t)) => Err(transport_error(url, &t)),
    }
}

/// A connection, TLS or protocol failure as one line naming the URL.
fn transport_error(url: &str, t: &ureq::Transport) -> anyhow::Error {
    let mut detail = t.kind().to_string();
    if let Some(m) = t.message() {
        detail = format!("{detail}: {m}");
    }
    if let Some(source) = std::error::Error::source(t) {
        detail = format!("{detail}: {source}");
    }
    anyhow!("cannot reach {url}: {}", one_line(&detail))
}

fn read_capped(url: &str, resp: ureq::Response) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("reading the answer from {url}"))?;
    if body.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(anyhow!(
            "{url} answered with more than {MAX_RESPONSE_BYTES} bytes; refusing it"
        ));
    }
    Ok(body)
}

/// `: <message>` from a JSON error body (`message`, or OAuth's `error_description`/`error`),
/// else a short excerpt of the text, else nothing.
pub(crate) fn server_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        // The distribution spec's errors: `{"errors":[{"code":"…","message":"…"}]}`.
        if let Some(first) = v.get("errors").and_then(|e| e.get(0)) {
            let message = first.get("message").and_then(|m| m.as_str()).unwrap_or("");
            let code = first.get("code").and_then(|c| c.as_str()).unwrap_or("");
            match (message.is_empty(), code.is_empty()) {
                (false, false) => return format!(": {} ({})", one_line(message), one_line(code)),
                (false, true) => return format!(": {}", one_line(message)),
                (true, false) => return format!(": {}", one_line(code)),
                (true, true) => {}
            }
        }
        for key in ["message", "error_description", "error"] {
            if let Some(m) = v.get(key).and_then(|m| m.as_str()) {
                return format!(": {}", one_line(m));
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = one_line(text.trim());
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", text.chars().take(200).collect::<String>())
    }
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// rustls as ureq's TLS, so the binary has one crypto provider (aws-lc-rs).
struct RustlsConnector {
    /// The CA certificates given explicitly ($SSL_CERT_FILE, `--registry-cacert`), read when
    /// the client is made so a bad file is reported at once.
    extra: Vec<CertificateDer<'static>>,
    /// Built at the first TLS connection: the system's roots are read only by commands that
    /// connect over TLS, not by every `verify`.
    config: std::sync::OnceLock<Arc<rustls::ClientConfig>>,
}

impl RustlsConnector {
    fn new(extra: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let mut given = rustls::RootCertStore::empty();
        // A private instance's CA (e.g. `signet server`'s generated local CA), as curl,
        // Python and Go honour it.
        let mut certificates = Vec::new();
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            certificates.extend(read_pem_certificates(
                std::path::Path::new(&path),
                "$SSL_CERT_FILE ",
            )?);
        }
        for path in extra {
            certificates.extend(read_pem_certificates(path, "")?);
        }
        for (certificate, path) in &certificates {
            given
                .add(certificate.clone())
                .with_context(|| format!("a certificate in {path}"))?;
        }
        Ok(RustlsConnector {
            extra: certificates.into_iter().map(|(c, _)| c).collect(),
            config: std::sync::OnceLock::new(),
        })
    }

    /// The TLS configuration: Mozilla's roots (compiled in), the system's (as the docker CLI
    /// and cosign trust them: a registry's private CA is often installed there), and the CA
    /// certificates given.
    fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                // A system store that cannot be read, or a certificate in it that does not parse,
                // leaves the other roots; it is not an error of the command.
                let system = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(system.certs);
                roots.add_parsable_certificates(self.extra.iter().cloned());
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("aws-lc-rs supports the safe default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Arc::new(config)
            })
            .clone()
    }
}

/// Every certificate of the PEM file `path`, each with the file's name for messages; a file
/// with none is an error (a wrong path given as a CA should not silently trust nothing new).
fn read_pem_certificates(
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<Vec<(CertificateDer<'static>, String)>> {
    let shown = path.display();
    let text = std::fs::read(path).with_context(|| format!("reading {what}{shown}"))?;
    let blocks = pem::parse_many(&text).with_context(|| format!("{what}{shown} is not PEM"))?;
    let certificates: Vec<_> = blocks
        .iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| {
            (
                CertificateDer::from(b.contents().to_vec()),
                format!("{what}{shown}"),
            )
        })
        .collect();
    if certificates.is_empty() {
        return Err(anyhow!("{what}{shown} holds no PEM certificate"));
    }
    Ok(certificates)
}

impl ureq::TlsConnector for RustlsConnector {
    fn connect(
        &self,
        dns_name: &str,
        io: Box<dyn ureq::ReadWrite>,
    ) -> Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        let name = ServerName::try_from(dns_name.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let conn = rustls::ClientConnection::new(self.config(), name)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Box::new(TlsStream(rustls::StreamOwned::new(conn, io))))
    }
}

struct TlsStream(rustls::StreamOwned<rustls::ClientConnection, Box<dyn ureq::ReadWrite>>);

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsStream")
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl ureq::ReadWrite for TlsStream {
    fn socket(&self) -> Option<&TcpStream> {
        self.0.sock.socket()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_message_prefers_json_message() {
        assert_eq!(server_message(br#"{"message":"bad\ntoken"}"#), ": bad token");
        assert_eq!(
            server_message(br#"{"error":"invalid_grant","error_description":"expired"}"#),
            ": expired"
        );
        assert_eq!(server_message(b"  "), "");
        assert_eq!(server_message(b"oops"), ": oops");
        assert_eq!(
            server_message(
                br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#
            ),
            ": requested access to the resource is denied (DENIED)"
        );
        assert_eq!(
            server_message(br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#),
            ": UNAUTHORIZED"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_scheme("https://fulcio.sigstore.dev").is_ok());
        assert!(check_scheme("http://127.0.0.1:3000/api").is_ok());
        assert!(check_scheme("http://[::1]:3000").is_ok());
        assert!(check_scheme("http://localhost:8080").is_ok());
        assert!(check_scheme("http://example.com").is_err());
        assert!(check_scheme("ftp://127.0.0.1").is_err());
    }
}
