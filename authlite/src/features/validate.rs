//! Stateful validation: a genuine token AND a live session, an active user, no revocation.

use std::sync::Arc;
use std::time::SystemTime;

use super::cache::Entry;
use super::engine::Engine;
use super::sessions::check_live;
use crate::crypto::jwt::{self, Parsed};
use crate::store::TokenState;
use crate::values::clock::to_millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::principal::{Claims, Principal};
use crate::values::user::AccountKind;

/// Token validation.
impl Engine {
    pub(crate) fn validate(&self, access_token: &str) -> Result<Principal> {
        let parsed = jwt::parse(access_token)?;
        let now = self.now();
        // Verified without the database when the key is known (it nearly always is).
        let claims = self.verify_parsed(&parsed)?;
        jwt::check_time(&claims, now, self.config.leeway)?;
        // A cached answer is used only if nobody has committed since it was read.
        let epoch = self.store.epoch();
        if let Some(entry) = self.cache.get(&claims.jti, epoch) {
            if self.store.observe()? == Some(epoch) {
                return check_state(claims, &entry, now);
            }
        }
        self.store.read(|conn| {
            // The epoch is taken before the read, so a commit racing with it leaves the
            // entry already stale.
            let epoch = self.store.epoch();
            let kid = parsed.kid();
            let mut state = conn.token_state(claims.sid, &claims.jti, kid)?;
            if let Some(state) = &mut state {
                // The key supplied in the config is never stored, so never "live" there.
                state.key_live |= self.keys.is_configured(kid);
            }
            let entry: Entry = Arc::new(state);
            self.cache.put(&claims.jti, epoch, entry.clone());
            check_state(claims, &entry, now)
        })
    }

    pub(crate) fn validate_stateless(&self, access_token: &str) -> Result<Claims> {
        let claims = self.verify_signature(access_token)?;
        jwt::check_time(&claims, self.now(), self.config.leeway)?;
        Ok(claims)
    }

    /// Signature, issuer and audience, ignoring time.
    pub(super) fn verify_signature(&self, access_token: &str) -> Result<Claims> {
        self.verify_parsed(&jwt::parse(access_token)?)
    }

    /// Signature, issuer and audience with the key the token names. A key this process
    /// does not know costs one read: the keys are reloaded if the database changed since
    /// they were read (another process may have rotated).
    fn verify_parsed(&self, parsed: &Parsed<'_>) -> Result<Claims> {
        let ring = self.keys.ring();
        let ring = match ring.find(parsed.kid()) {
            Some(_) => ring,
            None => self.store.read(|conn| self.keys.ring_at(conn, self.store.observe()?))?,
        };
        jwt::verify(parsed, &ring, &self.expected())
    }
}

/// The token-specific checks, then the session liveness rule shared with `refresh`:
/// a session that no longer exists, a retired key, an inactive account, a revoked or
/// expired session, a revoked or superseded token.
fn check_state(claims: Claims, state: &Option<TokenState>, now: SystemTime) -> Result<Principal> {
    let revoked = |why: &'static str| Err(Error::new(ErrorKind::RevokedToken, why));
    let Some(state) = state else {
        return revoked("session no longer exists");
    };
    if state.session != claims.sid || state.user != claims.sub {
        return Err(Error::new(ErrorKind::InvalidToken, "token does not match its session"));
    }
    // Retired, or gone from the database: the same answer as from a process that has
    // already dropped the key from its ring.
    if !state.key_live {
        return Err(Error::new(ErrorKind::InvalidToken, "signing key retired"));
    }
    check_live(&state.live, to_millis(now))?;
    if state.token_revoked {
        return revoked("token revoked");
    }
    if state.token_version != claims.ver {
        return revoked("token superseded");
    }
    Ok(Principal {
        user_id: state.user,
        username: state.username.clone(),
        kind: AccountKind::Person,
        session_id: Some(state.session),
        api_key_id: None,
        roles: state.roles.clone(),
        scopes: None,
        attributes: Default::default(),
        claims: Some(claims),
    })
}
