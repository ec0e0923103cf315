//! The listener of `signet server`: HTTP/1.1 and HTTP/2 over plain TCP, or over TLS with
//! `--tls-cert/--tls-key` (rustls, aws-lc-rs provider, TLS 1.2 and 1.3). Slow clients are bounded:
//! the TLS handshake and the request head must each arrive within 10 s (a slowloris client
//! cannot hold connections open by trickling headers), and the app's own layer bounds each
//! request at 60 s. Shutdown: stop accepting, let in-flight requests finish (at most 30 s).
//! SIGHUP reloads the TLS certificate and key from their files without dropping a connection.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// A client that has not finished its TLS handshake in this long is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's head (request line and headers) must arrive within this long.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// In-flight requests get this long to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The TLS side of a listener: rustls's configuration, whose certificate comes from
/// [`ReloadingCert`], so a new certificate can replace it without a restart.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ServerConfig>,
    cert: Arc<ReloadingCert>,
}

/// The certificate and key a TLS listener presents, read from their PEM files at start and
/// again on SIGHUP (certificates are renewed every few weeks; a restart would drop every
/// connection and, for the log, pause integration). A handshake takes whatever pair is current;
/// connections already open keep theirs. A reload that fails (a half-copied file, a key that
/// does not match the certificate) is logged and changes nothing.
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<rustls::crypto::CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ReloadingCert")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    fn load(
        cert: &Path,
        key: &Path,
        provider: &rustls::crypto::CryptoProvider,
    ) -> anyhow::Result<CertifiedKey> {
        let chain = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("cannot read TLS certificate {}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("TLS certificate {} is not PEM", cert.display()))?;
        if chain.is_empty() {
            anyhow::bail!("TLS certificate {} holds no CERTIFICATE block", cert.display());
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("cannot read a PEM private key from {}", key.display()))?;
        CertifiedKey::from_der(chain, key, provider)
            .context("the TLS certificate and key do not form a usable pair")
    }

    /// Reads the files again and, when they hold a usable pair, presents it from the next
    /// handshake on.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = Self::load(&self.cert, &self.key, &self.provider)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(fresh);
        Ok(())
    }
}

impl rustls::server::ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }
}

/// The TLS configuration from a PEM certificate chain (leaf first) and its PEM private key.
pub fn config(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certified = ReloadingCert::load(cert, key, &provider)?;
    let cert = Arc::new(ReloadingCert {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        provider: provider.clone(),
        current: RwLock::new(Arc::new(certified)),
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(cert.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        cert,
    })
}

/// Reloads the certificate on every SIGHUP until the task is dropped. Without TLS a SIGHUP is
/// logged and ignored: a daemon's SIGHUP means "reload", never "exit" (its default action).
async fn reload_on_sighup(cert: Option<Arc<ReloadingCert>>) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => signal,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; the TLS certificate will not be reloaded");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        let Some(cert) = &cert else {
            tracing::info!("SIGHUP: nothing to reload (no --tls-cert)");
            continue;
        };
        match cert.reload() {
            Ok(()) => tracing::info!(cert = %cert.cert.display(), "SIGHUP: reloaded the TLS certificate"),
            Err(e) => tracing::error!(
                error = format!("{e:#}"),
                "SIGHUP: kept the current TLS certificate"
            ),
        }
    }
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` completes, then
/// drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Tls>,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // Aborted when serving ends (the guard drops).
    let _reloader = AbortOnDrop(tokio::spawn(reload_on_sighup(
        tls.as_ref().map(|tls| tls.cert.clone()),
    )));
    let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(tls.config));
    let service = TowerToHyperService::new(app);
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let tcp = match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let service = service.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let result = match acceptor {
                        None => {
                            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                            watcher.watch(connection.into_owned()).await
                        }
                        Some(acceptor) => {
                            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            };
                            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                            watcher.watch(connection.into_owned()).await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight connections did not finish within {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
