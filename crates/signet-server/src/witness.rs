//! `signet witness`: the C2SP tlog-witness service (signet-witness) on a listener of its own,
//! with its own data directory, so it runs apart from (and usually on another machine than)
//! the logs it watches.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use signet_witness::{Logs, Witness, WitnessDir, WitnessService};

use crate::{linger, request_tracing, serve, shutdown_signal};

/// A request slower than this is answered 503 (add-checkpoint takes milliseconds).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3030", env = "SIGNET_WITNESS_LISTEN")]
    pub listen: SocketAddr,
    /// Directory holding the witness's key and state.
    #[arg(
        long,
        default_value = "./signet-witness-data",
        env = "SIGNET_WITNESS_DATA_DIR"
    )]
    pub data_dir: PathBuf,
    /// The witness's key name, fixed at first start (a schema-less URL, e.g.
    /// witness.example.com/w1; default localhost/signet-witness).
    #[arg(long, env = "SIGNET_WITNESS_NAME")]
    pub name: Option<String>,
    /// A log to witness: "<origin> <vkey>", or "<vkey>" when the origin is the key's name
    /// (Ed25519 note keys, e.g. the `vkey` a signet server's checkpoints verify under).
    /// Repeatable.
    #[arg(long = "log", value_name = "[ORIGIN] VKEY")]
    pub logs: Vec<String>,
    /// A log list in the witness network's `logs/v0` format (vkey, origin, bastion, qpd,
    /// contact lines), e.g. a list from witness-network.org.
    #[arg(long, value_name = "FILE", env = "SIGNET_WITNESS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The logs of `--config` and `--log`, or why they are refused.
fn configured_logs(args: &WitnessArgs) -> anyhow::Result<Logs> {
    let mut logs = Logs::default();
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the log list {}", path.display()))?;
        logs = Logs::parse_list(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    for arg in &args.logs {
        logs.add_argument(arg)?;
    }
    if logs.is_empty() {
        bail!("no logs to witness: give --log \"<origin> <vkey>\" or --config FILE");
    }
    Ok(logs)
}

pub async fn run_witness(args: WitnessArgs) -> anyhow::Result<()> {
    let logs = configured_logs(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::config(cert, key)?),
        _ => None,
    };
    let dir = WitnessDir::open(&args.data_dir, args.name.as_deref()).with_context(|| {
        format!(
            "cannot open the witness data directory {}",
            args.data_dir.display()
        )
    })?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let vkey = dir.signer.verifier().vkey();
    for origin in logs.origins() {
        eprintln!("signet: witnessing {origin}");
    }
    let service = Arc::new(WitnessService::new(
        Witness::new(dir.signer, logs),
        Box::new(dir.store),
    ));
    let app = signet_witness::http::router(service)
        .layer(axum::middleware::from_fn(linger::drain_unread_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(request_tracing());
    let shutdown = shutdown_signal();
    println!("listening on {scheme}://{addr}");
    println!("vkey {vkey}");
    eprintln!(
        "signet: witness vkey {vkey} (also in {}); submit checkpoints to {scheme}://{addr}/add-checkpoint",
        dir.vkey_path.display()
    );
    let _ = std::io::stdout().flush();
    serve::serve(listener, tls, app, shutdown).await?;
    eprintln!("signet: witness stopped");
    Ok(())
}
