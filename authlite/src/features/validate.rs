//! Stateful validation of every credential that resolves to a [`Principal`]: a session's
//! access token, a service token, an API key. A genuine credential AND the database's word:
//! account active, session or key live, nothing revoked. What the database said is kept in
//! the exact epoch cache, so a repeat costs no read until anything commits.

use std::sync::Arc;
use std::time::SystemTime;

use super::cache::{EpochCache, TokenEntry, VerifiedToken};
use super::engine::Engine;
use super::liveness::{check_key_live, check_live};
use crate::crypto::jwt::{self, Parsed};
use crate::store::{ApiKeyState, Conn, TokenState};
use crate::values::clock::to_millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::principal::{Claims, Principal};
use crate::values::user::AccountKind;

/// Token validation.
impl Engine {
    pub(crate) fn validate(&self, access_token: &str) -> Result<Principal> {
        let now = self.now();
        let verified = match self.hit(&self.caches.tokens, access_token)? {
            Some(verified) => verified,
            None => {
                let parsed = jwt::parse(access_token)?;
                // Verified without the database when the key is known (it nearly always is).
                let claims = self.verify_parsed(&parsed)?;
                jwt::check_time(&claims, now, self.config.leeway)?;
                let kid = parsed.kid();
                let configured = self.keys.is_configured(kid);
                self.fill(&self.caches.tokens, access_token, |conn| {
                    let entry = match (claims.sid, claims.akid) {
                        (Some(sid), _) => {
                            TokenEntry::Session(conn.token_state(sid, &claims.jti, kid)?)
                        }
                        (None, Some(akid)) => {
                            TokenEntry::Service(conn.service_token_state(akid, &claims.jti, kid)?)
                        }
                        (None, None) => TokenEntry::Service(None),
                    };
                    Ok(Arc::new(VerifiedToken { claims, configured, entry }))
                })?
            }
        };
        self.answer(&verified, now)
    }

    /// [`Engine::validate`] from the cache alone: `Ok(None)` when answering needs the
    /// database (a miss), so that async callers can send only misses to a blocking pool.
    pub(crate) fn validate_cached(&self, access_token: &str) -> Result<Option<Principal>> {
        match self.hit(&self.caches.tokens, access_token)? {
            Some(verified) => self.answer(&verified, self.now()).map(Some),
            None => Ok(None),
        }
    }

    /// Every time-based check, on every call (a hit skipped only what cannot change), then
    /// the principal the token and the database's word make.
    fn answer(&self, verified: &VerifiedToken, now: SystemTime) -> Result<Principal> {
        let VerifiedToken { claims, configured, entry } = verified;
        jwt::check_time(claims, now, self.config.leeway)?;
        match entry {
            TokenEntry::Session(state) => session_principal(claims, state, *configured, now),
            TokenEntry::Service(state) => service_principal(claims, state, *configured, now),
        }
    }

    /// The entry under `key` in `cache` if nobody has committed since it was read. One
    /// look at the WAL-index (`Store::observe`) per hit; nothing on a miss.
    pub(super) fn hit<V: Clone>(&self, cache: &EpochCache<V>, key: &str) -> Result<Option<V>> {
        let epoch = self.store.epoch();
        match cache.get(key, epoch) {
            Some(entry) if self.store.observe()? == Some(epoch) => Ok(Some(entry)),
            _ => Ok(None),
        }
    }

    /// Reads what the database says through `read` and caches it under `key`.
    pub(super) fn fill<V: Clone>(
        &self,
        cache: &EpochCache<V>,
        key: &str,
        read: impl FnOnce(&Conn<'_>) -> Result<V>,
    ) -> Result<V> {
        self.store.read(|conn| {
            // The epoch is taken before the read, so a commit racing with it leaves the
            // entry already stale.
            let epoch = self.store.epoch();
            let entry = read(conn)?;
            cache.put(key, epoch, entry.clone());
            Ok(entry)
        })
    }

    pub(crate) fn validate_stateless(&self, access_token: &str) -> Result<Claims> {
        let claims = self.verify_signature(access_token)?;
        jwt::check_time(&claims, self.now(), self.config.leeway)?;
        Ok(claims)
    }

    /// Signature, issuer, audience and instance, ignoring time.
    pub(super) fn verify_signature(&self, access_token: &str) -> Result<Claims> {
        self.verify_parsed(&jwt::parse(access_token)?)
    }

    /// Signature, issuer, audience and instance with the key the token names. A key this
    /// process does not know costs one read: the keys are reloaded if the database changed
    /// since they were read (another process may have rotated).
    fn verify_parsed(&self, parsed: &Parsed<'_>) -> Result<Claims> {
        let ring = self.keys.ring();
        let ring = match ring.find(parsed.kid()) {
            Some(_) => ring,
            None => self.store.read(|conn| self.keys.ring_at(conn, self.store.observe()?))?,
        };
        jwt::verify(parsed, &ring, &self.expected())
    }
}

fn revoked(why: &'static str) -> Error {
    Error::new(ErrorKind::RevokedToken, why)
}

/// Before the liveness rule: the token names its row's account, and its signing key is
/// live (retired or gone: the same answer as from a process that already dropped the key).
fn check_origin(claims: &Claims, user: UserId, key_live: bool) -> Result<()> {
    if claims.sub != user {
        return Err(Error::new(ErrorKind::InvalidToken, "token does not match its account"));
    }
    if !key_live {
        return Err(Error::new(ErrorKind::InvalidToken, "signing key retired"));
    }
    Ok(())
}

/// After the liveness rule: the token was not revoked on its own, and the account's token
/// version has not moved since it was issued (password change, deactivation).
fn check_current(claims: &Claims, version: i64, revoked_jti: bool) -> Result<()> {
    if revoked_jti {
        return Err(revoked("token revoked"));
    }
    if version != claims.ver {
        return Err(revoked("token superseded"));
    }
    Ok(())
}

/// A session's token: the session liveness rule shared with `refresh`, then the token's own
/// state.
fn session_principal(
    claims: &Claims,
    state: &Option<TokenState>,
    configured: bool,
    now: SystemTime,
) -> Result<Principal> {
    let Some(state) = state else { return Err(revoked("session no longer exists")) };
    if Some(state.session) != claims.sid {
        return Err(Error::new(ErrorKind::InvalidToken, "token does not match its session"));
    }
    check_origin(claims, state.user, state.key_live || configured)?;
    check_live(&state.live, to_millis(now))?;
    check_current(claims, state.token_version, state.token_revoked)?;
    Ok(Principal {
        user_id: state.user,
        username: state.username.clone(),
        kind: AccountKind::Person,
        session_id: Some(state.session),
        api_key_id: None,
        organization_id: state.organization,
        roles: state.roles.clone(),
        scopes: None,
        attributes: state.attributes.clone(),
        claims: Some(claims.clone()),
    })
}

/// A service token: the key behind it must still be usable, then the token's own state.
fn service_principal(
    claims: &Claims,
    state: &Option<ApiKeyState>,
    configured: bool,
    now: SystemTime,
) -> Result<Principal> {
    let Some(state) = state else { return Err(revoked("API key no longer exists")) };
    if Some(state.id) != claims.akid {
        return Err(Error::new(ErrorKind::InvalidToken, "token does not match its key"));
    }
    check_origin(claims, state.user, state.key_live || configured)?;
    check_key_live(state, to_millis(now))?;
    check_current(claims, state.token_version, state.token_revoked)?;
    Ok(key_principal(state, Some(claims.clone())))
}

/// The principal of an API key (or of a service token minted from it).
pub(super) fn key_principal(state: &ApiKeyState, claims: Option<Claims>) -> Principal {
    Principal {
        user_id: state.user,
        username: state.username.clone(),
        kind: state.kind,
        session_id: None,
        api_key_id: Some(state.id),
        organization_id: state.organization,
        roles: state.roles.clone(),
        scopes: state.scopes.clone(),
        attributes: state.attributes.clone(),
        claims,
    }
}
