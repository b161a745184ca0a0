//! Stateful validation: a genuine token AND a live session, an active user, no revocation.

use std::sync::Arc;
use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};

use crate::Auth;
use crate::cache::{Entry, TokenState};
use crate::clock::to_millis;
use crate::error::{Error, ErrorKind, Result};
use crate::sessions::SessionId;
use crate::tokens::{self, Claims, Parsed};
use crate::users::UserId;

/// Everything `validate` needs from the database, in one indexed read.
const TOKEN_STATE: &str = "SELECT s.user_id, u.username, u.active, u.token_version, \
     s.revoked_at IS NOT NULL, s.idle_expires_at, s.expires_at, \
     EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?2), \
     EXISTS (SELECT 1 FROM signing_keys WHERE kid = ?3 AND retired_at IS NULL), \
     (SELECT group_concat(r.name, char(31)) FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
      WHERE ur.user_id = s.user_id) \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1";

/// Who is calling, established by [`Auth::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The session the token belongs to.
    pub session_id: SessionId,
    /// The user's current username.
    pub username: String,
    /// The user's roles, read from the database (not from the token).
    pub roles: Vec<String>,
    /// The verified claims of the token.
    pub claims: Claims,
}

impl Principal {
    /// Whether the user has `role` (as of the `validate` call that produced this).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Token validation.
impl Auth {
    /// Validates an access token statefully: structure, header, signature, issuer, audience
    /// and expiry, then the database: the session exists, is not revoked and not expired
    /// (idle or absolute), the user is active, the user's token version and the token itself
    /// are not revoked, and its signing key is not retired. Any change committed before this
    /// call, by this or any other process, is seen. Never writes.
    ///
    /// Errors: `InvalidToken`, `ExpiredToken`, `RevokedToken`, `InactiveUser`, `Storage`.
    pub fn validate(&self, access_token: &str) -> Result<Principal> {
        let parsed = tokens::parse(access_token)?;
        let inner = &*self.inner;
        let now = self.now();
        // Verified without the database when the key is known (it nearly always is).
        let claims = self.verify_parsed(&parsed)?;
        tokens::check_time(&claims, now, self.config().leeway)?;
        // A cached answer is used only if nobody has committed since it was read.
        let epoch = inner.store.epoch();
        if let Some(entry) = inner.cache.get(&claims.jti, epoch) {
            if inner.store.observe()? == Some(epoch) {
                return self.check_state(claims, &entry, now);
            }
        }
        inner.store.read(|conn| {
            // The epoch is taken before the read, so a commit racing with it leaves the
            // entry already stale.
            let epoch = inner.store.epoch();
            let kid = parsed.kid();
            let configured = inner.keys.is_configured(kid);
            let entry: Entry = Arc::new(token_state(conn, &claims, kid, configured)?);
            inner.cache.put(&claims.jti, epoch, entry.clone());
            self.check_state(claims, &entry, now)
        })
    }

    /// Validates signature and claims only (issuer, audience, expiry): no database read, so
    /// revocation is NOT seen. For places where a recently revoked token is acceptable.
    pub fn validate_stateless(&self, access_token: &str) -> Result<Claims> {
        let claims = self.verify_signature(access_token)?;
        tokens::check_time(&claims, self.now(), self.config().leeway)?;
        Ok(claims)
    }

    /// Signature, issuer and audience, ignoring time.
    pub(crate) fn verify_signature(&self, access_token: &str) -> Result<Claims> {
        self.verify_parsed(&tokens::parse(access_token)?)
    }

    /// Signature, issuer and audience with the key the token names. A key this process
    /// does not know costs one read: the keys are reloaded if the database changed since
    /// they were read (another process may have rotated).
    fn verify_parsed(&self, parsed: &Parsed<'_>) -> Result<Claims> {
        let (config, keys) = (self.config(), &self.inner.keys);
        let ring = keys.ring();
        let ring = match ring.find(parsed.kid()) {
            Some(_) => ring,
            None => {
                self.inner.store.read(|conn| keys.ring_at(conn, self.inner.store.observe()?))?
            }
        };
        tokens::verify(parsed, &ring, &config.issuer, &config.audience)
    }

    fn check_state(
        &self,
        claims: Claims,
        state: &Option<TokenState>,
        now: SystemTime,
    ) -> Result<Principal> {
        let revoked = |why: &'static str| Err(Error::new(ErrorKind::RevokedToken, why));
        let Some(state) = state else {
            return revoked("session no longer exists");
        };
        if state.session != claims.sid || state.user != claims.sub {
            return Err(Error::new(ErrorKind::InvalidToken, "token does not match its session"));
        }
        if state.token_revoked {
            return revoked("token revoked");
        }
        // Retired, or gone from the database: the same answer as from a process that has
        // already dropped the key from its ring.
        if !state.key_live {
            return Err(Error::new(ErrorKind::InvalidToken, "signing key retired"));
        }
        if !state.active {
            return Err(Error::from_kind(ErrorKind::InactiveUser));
        }
        if state.session_revoked {
            return revoked("session revoked");
        }
        if state.token_version != claims.ver {
            return revoked("token superseded");
        }
        let now = to_millis(now);
        if now >= state.expires_at || now >= state.idle_expires_at {
            return Err(Error::new(ErrorKind::ExpiredToken, "session expired"));
        }
        Ok(Principal {
            user_id: state.user,
            session_id: state.session,
            username: state.username.clone(),
            roles: state.roles.clone(),
            claims,
        })
    }
}

/// `configured`: the token's key is the one supplied in the config, which is never stored.
fn token_state(
    conn: &Connection,
    claims: &Claims,
    kid: &str,
    configured: bool,
) -> Result<Option<TokenState>> {
    Ok(conn
        .prepare_cached(TOKEN_STATE)?
        .query_row(params![claims.sid, claims.jti, kid], |r| {
            Ok(TokenState {
                session: claims.sid,
                user: r.get(0)?,
                username: r.get(1)?,
                roles: split_roles(r.get(9)?),
                active: r.get(2)?,
                token_version: r.get(3)?,
                session_revoked: r.get(4)?,
                idle_expires_at: r.get(5)?,
                expires_at: r.get(6)?,
                token_revoked: r.get(7)?,
                key_live: configured || r.get::<_, bool>(8)?,
            })
        })
        .optional()?)
}

/// Role names come back joined by U+001F, which names cannot contain.
fn split_roles(joined: Option<String>) -> Vec<String> {
    let mut roles: Vec<String> =
        joined.iter().flat_map(|j| j.split('\u{1f}')).map(str::to_owned).collect();
    roles.sort();
    roles
}
