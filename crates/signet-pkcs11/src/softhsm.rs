//! Fresh SoftHSM2 tokens for tests and benchmarks (Debian's `softhsm2`): a token directory, a
//! `softhsm2.conf` naming it, and `softhsm2-util --init-token`. Not used by the services.
//!
//! SoftHSM reads `SOFTHSM2_CONF` when the module is initialised, and a process has one
//! instance of a module, so in-process users share one token directory per process
//! ([`process_tokens`]) and tell tokens apart by label; a child process (a `signet server`
//! under test) gets a directory of its own through [`TokenDir::env`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Where Debian installs the SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of tokens made here.
pub const PIN: &str = "1234";
/// The security officer PIN of tokens made here.
pub const SO_PIN: &str = "5678";

/// Whether SoftHSM2 (module and `softhsm2-util`) is installed.
pub fn available() -> bool {
    Path::new(MODULE).exists()
        && Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// For tests: true when SoftHSM2 is installed; when not, prints one line and returns false
/// (skip), or panics if `SIGNET_REQUIRE_SOFTHSM` is set (CI installs it).
pub fn available_or_skip(test: &str) -> bool {
    if available() {
        return true;
    }
    if std::env::var_os("SIGNET_REQUIRE_SOFTHSM").is_some() {
        panic!("SIGNET_REQUIRE_SOFTHSM is set but SoftHSM2 is not installed ({MODULE}, softhsm2-util)");
    }
    eprintln!("skipping {test}: SoftHSM2 is not installed (apt-get install softhsm2)");
    false
}

/// A SoftHSM2 token directory and the configuration file naming it.
#[derive(Debug)]
pub struct TokenDir {
    /// The directory holding both.
    pub dir: PathBuf,
    /// SoftHSM's `directories.tokendir`: one subdirectory per token.
    pub tokens: PathBuf,
    /// The `softhsm2.conf` to point `SOFTHSM2_CONF` at.
    pub conf: PathBuf,
}

impl TokenDir {
    /// Creates `dir/tokens` and `dir/softhsm2.conf` (file object store, errors only logged).
    pub fn create(dir: &Path) -> std::io::Result<TokenDir> {
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens)?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )?;
        Ok(TokenDir {
            dir: dir.to_path_buf(),
            tokens,
            conf,
        })
    }

    /// The environment variable a process needs to see these tokens.
    pub fn env(&self) -> (&'static str, &Path) {
        ("SOFTHSM2_CONF", &self.conf)
    }

    /// Initialises a new token labelled `label` with [`PIN`] and [`SO_PIN`] in the first free
    /// slot.
    pub fn init_token(&self, label: &str) -> std::io::Result<()> {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &self.conf)
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                PIN,
                "--so-pin",
                SO_PIN,
            ])
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "softhsm2-util --init-token failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// A URI for `object` in token `label`, with the module and an inline PIN.
    pub fn uri(&self, label: &str, object: &str, id: u8) -> String {
        format!("pkcs11:token={label};object={object};id=%{id:02X}?module-path={MODULE}&pin-value={PIN}")
    }
}

/// The token directory of this process, made (and `SOFTHSM2_CONF` set) on first call. Call
/// it before anything in the process loads the SoftHSM module.
pub fn process_tokens() -> &'static TokenDir {
    static DIR: OnceLock<TokenDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("signet-softhsm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = TokenDir::create(&base).unwrap_or_else(|e| panic!("cannot create {}: {e}", base.display()));
        // Set once, before the module is loaded (it reads the variable in C_Initialize).
        std::env::set_var("SOFTHSM2_CONF", &dir.conf);
        dir
    })
}

/// A label no other token of this process has (`<prefix>-<n>`).
pub fn unique_label(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
