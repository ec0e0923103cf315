//! One loaded PKCS#11 module per process. `C_Initialize` may be called once per process and
//! module (a second call is `CKR_CRYPTOKI_ALREADY_INITIALIZED`), yet the CA, the logs, the
//! TSA and TUF may each keep a key in the same token: they share one [`Module`].
//!
//! Recovery from a lost token is a re-initialisation (`C_Finalize` then `C_Initialize`): it is
//! how a module rescans its slots (SoftHSM sees a restored token directory only then), and
//! every session of every signer on that module dies with it. So signing holds the module's
//! read lock for the length of each PKCS#11 call and a reset takes the write lock: no call is
//! ever in flight while the module is finalised, and each reset bumps a generation that tells
//! signers their sessions are gone (they reopen them; the stale handles are never closed,
//! since a handle number may already belong to a new session).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

/// A loaded, initialised PKCS#11 module shared by every signer in the process.
pub(crate) struct Module {
    path: PathBuf,
    ctx: Pkcs11,
    /// The generation: bumped by each reset.
    live: RwLock<u64>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn modules() -> &'static Mutex<HashMap<PathBuf, Arc<Module>>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
    MODULES.get_or_init(Default::default)
}

fn initialize(ctx: &Pkcs11) -> Result<(), Error> {
    // OS locking: the module may be called from several threads at once (one per session).
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Module {
    /// The process's instance of the module at `path`, loaded and initialised on first use.
    pub(crate) fn get(path: &Path) -> Result<Arc<Module>, Error> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut all = modules().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = all.get(&key) {
            return Ok(m.clone());
        }
        let ctx = Pkcs11::new(&key)?;
        initialize(&ctx)?;
        let module = Arc::new(Module {
            path: key.clone(),
            ctx,
            live: RwLock::new(0),
        });
        all.insert(key, module.clone());
        Ok(module)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The context and the current generation, held (read lock) until the guard drops: no
    /// reset happens meanwhile.
    pub(crate) fn enter(&self) -> (Live<'_>, &Pkcs11) {
        let guard = self.live.read().unwrap_or_else(|p| p.into_inner());
        (Live(guard), &self.ctx)
    }

    /// Finalises and re-initialises the module, unless someone already did since `seen`.
    /// Waits for every call in flight (the write lock).
    pub(crate) fn reset(&self, seen: u64) {
        let mut generation = self.live.write().unwrap_or_else(|p| p.into_inner());
        if *generation != seen {
            return;
        }
        *generation += 1;
        tracing::warn!(module = %self.path.display(), generation = *generation, "re-initialising the PKCS#11 module");
        if let Err(e) = self.ctx.clone().finalize() {
            tracing::debug!(error = %e, "C_Finalize before re-initialising");
        }
        if let Err(e) = initialize(&self.ctx) {
            // The next call sees CKR_CRYPTOKI_NOT_INITIALIZED and resets again (with backoff).
            tracing::error!(module = %self.path.display(), error = %e, "cannot re-initialise the PKCS#11 module");
        }
    }
}

/// A read hold on a module: its generation cannot change while this lives.
pub(crate) struct Live<'a>(RwLockReadGuard<'a, u64>);

impl Live<'_> {
    pub(crate) fn generation(&self) -> u64 {
        *self.0
    }
}
