//! An optional process-wide engine, for programs that want one without threading it
//! through. Library code never reads it.

use std::sync::OnceLock;

use crate::auth::Auth;
use crate::values::error::{Error, ErrorKind, Result};

static GLOBAL: OnceLock<Auth> = OnceLock::new();

/// Installs `auth` as the process-wide engine. Fails with `Conflict` if one is already set.
///
/// ```
/// let auth = authlite::Auth::open_in_memory()?;
/// authlite::init_global(auth.clone())?;
/// assert!(authlite::global().is_some());
/// assert_eq!(authlite::init_global(auth).unwrap_err().kind(), authlite::ErrorKind::Conflict);
/// # Ok::<(), authlite::Error>(())
/// ```
pub fn init_global(auth: Auth) -> Result<()> {
    GLOBAL
        .set(auth)
        .map_err(|_| Error::new(ErrorKind::Conflict, "the global engine is already initialised"))
}

/// The process-wide engine, if [`init_global`] was called.
pub fn global() -> Option<&'static Auth> {
    GLOBAL.get()
}
