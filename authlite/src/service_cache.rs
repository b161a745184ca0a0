//! [`ServiceTokenCache`]: a caller-side cache of service tokens, so a service mints one
//! token per lifetime instead of one per request.

use std::fmt;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use zeroize::Zeroizing;

use crate::auth::Auth;
use crate::values::credential::ServiceToken;
use crate::values::error::Result;

/// Hands out a service token minted from one API key, reusing it until less than a tenth
/// of its lifetime is left, then minting the next. Never returns an expired token. `Send +
/// Sync`: share one per key across threads.
///
/// ```
/// # use authlite::{ApiKeySpec, Auth, ServiceTokenCache};
/// # let auth = Auth::open_in_memory()?;
/// let svc = auth.create_service_account("billing")?;
/// let key = auth.create_api_key(svc.id, ApiKeySpec::new("billing-prod"))?;
/// let cache = ServiceTokenCache::new(auth.clone(), key.secret);
/// let token = cache.get()?;
/// assert_eq!(cache.get()?, token, "reused");
/// assert_eq!(auth.validate(&token)?.api_key_id, Some(key.info.id));
/// # Ok::<(), authlite::Error>(())
/// ```
pub struct ServiceTokenCache {
    auth: Auth,
    api_key: Zeroizing<String>,
    current: Mutex<Option<Held>>,
}

struct Held {
    token: ServiceToken,
    minted_at: SystemTime,
}

impl ServiceTokenCache {
    /// A cache minting from `api_key` through `auth`.
    pub fn new(auth: Auth, api_key: impl Into<String>) -> Self {
        ServiceTokenCache {
            auth,
            api_key: Zeroizing::new(api_key.into()),
            current: Mutex::new(None),
        }
    }

    /// The current token, minted anew when under a tenth of its lifetime is left. Errors
    /// are those of [`Auth::issue_service_token`] (a revoked key: `RevokedToken`).
    pub fn get(&self) -> Result<String> {
        let mut current = self.current.lock();
        let now = self.auth.config().clock.now();
        if let Some(held) = current.as_ref() {
            let lifetime = held.token.expires_at.duration_since(held.minted_at).unwrap_or_default();
            let left = held.token.expires_at.duration_since(now).unwrap_or(Duration::ZERO);
            if left > lifetime / 10 {
                return Ok(held.token.access_token.clone());
            }
        }
        let token = self.auth.issue_service_token(&self.api_key)?;
        let access = token.access_token.clone();
        *current = Some(Held { token, minted_at: now });
        Ok(access)
    }
}

impl fmt::Debug for ServiceTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceTokenCache").field("api_key", &"[redacted]").finish_non_exhaustive()
    }
}
