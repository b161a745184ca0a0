//! The engine handle: opening, configuration, and the shared state behind every clone.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use zeroize::Zeroizing;

use crate::audit::{self, Subscribers};
use crate::cache::ValidateCache;
use crate::clock::to_millis;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::Keys;
use crate::store::Store;
use crate::tokens::{self, Claims};

/// The authentication engine. Cheap to clone (an `Arc` inside); `Send + Sync`; every
/// method takes `&self` and is synchronous.
#[derive(Clone)]
pub struct Auth {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) keys: Keys,
    pub(crate) cache: ValidateCache,
    /// Keys the audit trail's MAC chain (derived from the master key).
    pub(crate) audit_key: Zeroizing<[u8; 32]>,
    pub(crate) subscribers: Subscribers,
}

impl Auth {
    /// Opens the database at `path` with every default, creating it (schema, signing key)
    /// if it does not exist. Same as `Auth::open_with(Config::new(path))`.
    pub fn open(path: impl AsRef<Path>) -> Result<Auth> {
        Auth::open_with(Config::new(path.as_ref()))
    }

    /// A private in-memory database, for demos and tests. Gone when the last clone drops.
    pub fn open_in_memory() -> Result<Auth> {
        Auth::open_with(Config::in_memory())
    }

    /// Validates `config`, then opens (or creates) and migrates its database, loads or
    /// creates the signing key, and checks once that signing and verifying work.
    pub fn open_with(config: Config) -> Result<Auth> {
        config.validate()?;
        let store = Store::open(&config)?;
        let keys = Keys::open(&store, &config)?;
        let cache = ValidateCache::new(config.validate_cache_capacity);
        let audit_key = keys.derive(audit::KEY_LABEL);
        let subscribers = Subscribers::default();
        let inner = Inner { config, store, keys, cache, audit_key, subscribers };
        let auth = Auth { inner: Arc::new(inner) };
        auth.self_test()?;
        Ok(auth)
    }

    /// The configuration this engine was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.config.clock.now()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        to_millis(self.now())
    }

    /// Signs and verifies a throw-away token, so a broken crypto build fails `open` instead
    /// of the first login.
    fn self_test(&self) -> Result<()> {
        let ring = self.inner.keys.ring();
        let now = self.now_ms() / 1000;
        let claims = Claims {
            iss: self.config().issuer.clone(),
            aud: self.config().audience.clone(),
            sub: 1,
            sid: 1,
            jti: tokens::new_jti()?,
            iat: now,
            exp: now + 60,
            ver: 0,
            nbf: None,
        };
        let token = tokens::issue(ring.signer(), &claims)?;
        let parsed = tokens::parse(&token)?;
        match tokens::verify(&parsed, &ring, &claims.iss, &claims.aud) {
            Ok(back) if back == claims => Ok(()),
            _ => Err(Error::new(ErrorKind::Internal, "token signing self-test failed")),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("path", &self.inner.config.path).finish_non_exhaustive()
    }
}
