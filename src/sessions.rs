//! Sessions: login, logout, listing and revocation.

use std::fmt;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::Auth;
use crate::audit::{AuditKind, Record, Tx};
use crate::clock::{from_millis, millis};
use crate::error::{Error, ErrorKind, Result};
use crate::limiter;
use crate::names::{self, Lookup};
use crate::password::{self, Verdict};
use crate::refresh;
use crate::tokens::{self, Claims};
use crate::users::{self, User, UserId};

/// A session's id: a positive integer, never reused.
pub type SessionId = i64;

const MAX_IP_CHARS: usize = 64;
const MAX_USER_AGENT_CHARS: usize = 512;

macro_rules! select_session {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, created_at, last_refreshed_at, idle_expires_at, expires_at, ",
            "revoked_at, ip, user_agent FROM sessions ",
            $tail
        )
    };
}

const SESSION_BY_ID: &str = select_session!("WHERE id = ?1");
const LIVE_SESSIONS: &str = select_session!(
    "WHERE user_id = ?1 AND revoked_at IS NULL AND idle_expires_at > ?2 AND expires_at > ?2 \
     ORDER BY created_at DESC, id DESC"
);
const INSERT_SESSION: &str = "INSERT INTO sessions \
     (user_id, created_at, last_refreshed_at, idle_expires_at, expires_at, ip, user_agent) \
     VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6)";
const TOUCH_LOGIN: &str = "UPDATE users SET last_login_at = ?2 WHERE id = ?1";
const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 \
     WHERE id = ?1 AND revoked_at IS NULL";
/// Only live sessions: an expired one is already over and is not counted as ended.
const REVOKE_USER_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND idle_expires_at > ?2 AND expires_at > ?2";
const REVOKE_JTI: &str = "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?1, ?2)";
const PURGE_SESSIONS: &str = "DELETE FROM sessions \
     WHERE expires_at <= ?1 OR idle_expires_at <= ?1 OR revoked_at IS NOT NULL";
const PURGE_JTIS: &str = "DELETE FROM revoked_tokens WHERE expires_at <= ?1";

/// Where a login comes from; stored with the session. Both fields are optional and are
/// truncated (64 / 512 characters) with control characters replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address, e.g. from the socket or a trusted proxy header.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// A login session: what the refresh token and every access token of one login belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// The id, as in the `sid` claim.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the user logged in.
    pub created_at: SystemTime,
    /// When the refresh token was last redeemed (or the login time).
    pub last_refreshed_at: SystemTime,
    /// The session ends here unless refreshed before; refreshing moves it forward, never
    /// past `expires_at`.
    pub idle_expires_at: SystemTime,
    /// The absolute end of the session; never moves.
    pub expires_at: SystemTime,
    /// When it was revoked (logout, revocation, password change, reuse detection...).
    pub revoked_at: Option<SystemTime>,
    /// The client address given at login.
    pub ip: Option<String>,
    /// The client user agent given at login.
    pub user_agent: Option<String>,
}

impl Session {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
        Ok(Session {
            id: r.get(0)?,
            user_id: r.get(1)?,
            created_at: from_millis(r.get(2)?),
            last_refreshed_at: from_millis(r.get(3)?),
            idle_expires_at: from_millis(r.get(4)?),
            expires_at: from_millis(r.get(5)?),
            revoked_at: r.get::<_, Option<i64>>(6)?.map(from_millis),
            ip: r.get(7)?,
            user_agent: r.get(8)?,
        })
    }
}

/// The result of a successful [`Auth::login`]. `Debug` does not print the tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// The JWT to present on every request (`Authorization: Bearer ...`).
    pub access_token: String,
    /// The opaque token to get a new pair from [`Auth::refresh`]; single use.
    pub refresh_token: String,
    /// When `access_token` expires.
    pub access_expires_at: SystemTime,
}

/// A new token pair from [`Auth::refresh`]. `Debug` does not print the tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenPair {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token; the one redeemed is spent.
    pub refresh_token: String,
    /// When `access_token` expires.
    pub access_expires_at: SystemTime,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("session", &self.session)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

/// Ends every live session of a user; returns how many.
pub(crate) fn revoke_user_sessions(
    conn: &Connection,
    user: UserId,
    now: i64,
    reason: &str,
) -> Result<usize> {
    Ok(conn.prepare_cached(REVOKE_USER_SESSIONS)?.execute(params![user, now, reason])?)
}

/// Ends one session; `false` if it was already ended or does not exist.
pub(crate) fn revoke(conn: &Connection, id: SessionId, now: i64, reason: &str) -> Result<bool> {
    Ok(conn.prepare_cached(REVOKE_SESSION)?.execute(params![id, now, reason])? > 0)
}

pub(crate) fn load(conn: &Connection, id: SessionId) -> Result<Session> {
    conn.prepare_cached(SESSION_BY_ID)?
        .query_row([id], Session::from_row)
        .optional()?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such session"))
}

/// Why a login is refused before its password is looked at.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Account(Duration),
    Address(Duration),
}

fn throttled(
    conn: &Connection,
    account: &str,
    address: Option<&str>,
    now: i64,
) -> Result<Option<Refusal>> {
    if let Some(wait) = limiter::locked_for(conn, account, now)? {
        return Ok(Some(Refusal::Account(wait)));
    }
    match address {
        Some(address) => Ok(limiter::locked_for(conn, address, now)?.map(Refusal::Address)),
        None => Ok(None),
    }
}

fn clean(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).map(|c| if c.is_control() { '?' } else { c }).collect())
}

/// Sessions and the tokens that belong to them.
impl Auth {
    /// Checks the password and, in one transaction, re-checks the account and its
    /// throttling state, creates a session, issues an access token and a refresh token,
    /// updates the failure counters and writes the audit row.
    ///
    /// Unknown users and wrong passwords both give `InvalidCredentials` and take the same
    /// time. A locked account gives `AccountLocked` (even with the right password), a
    /// throttled client address `RateLimited`; both carry `retry_after()`. A deactivated
    /// user with the right password gets `InactiveUser`. A hash with outdated parameters
    /// (or imported from another system) is replaced by a current one.
    pub fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let config = self.config();
        let client = ClientInfo {
            ip: clean(client.ip.as_deref(), MAX_IP_CHARS),
            user_agent: clean(client.user_agent.as_deref(), MAX_USER_AGENT_CHARS),
        };
        let lookup = names::lookup(username_or_email).ok();
        let lookup_key = lookup.as_ref().map(|l| match l {
            Lookup::Username(key) | Lookup::Email(key) => key.as_str(),
        });
        let address = limiter::address_key(client.ip.as_deref());
        // One read: who this is, and whether they (or the address) may try at all. Locked
        // accounts and throttled addresses are refused before any hashing is spent.
        let now = self.now_ms();
        let (found, account, refusal) = self.inner.store.read(|conn| {
            let found = match &lookup {
                Some(who) => users::credentials(conn, who)?,
                None => None,
            };
            let id = found.as_ref().map(|f| f.id);
            let account = limiter::account_key(id, lookup_key, username_or_email);
            let refusal = throttled(conn, &account, address.as_deref(), now)?;
            Ok((found, account, refusal))
        })?;
        let user = found.as_ref().map(|f| f.id);
        if let Some(refusal) = refusal {
            return self.refuse(refusal, user, &client);
        }

        // PBKDF2 runs before the transaction so logins do not queue behind each other's
        // hashing; the transaction then proves the hash it checked is still the stored one,
        // and re-reads the throttle state so parallel guesses cannot overshoot the limit.
        let normalized = password::normalize(password, config.max_password_length);
        let verdict = match (&found, &normalized) {
            (Some(found), Some(normalized)) => {
                password::verify(password, normalized, &found.hash, config.pbkdf2_iterations)?
            }
            (None, Some(normalized)) => {
                password::burn(normalized, config.pbkdf2_iterations);
                Verdict { matches: false, outdated: false }
            }
            (_, None) => Verdict { matches: false, outdated: false },
        };
        let upgraded = match (&normalized, verdict.matches && verdict.outdated) {
            (Some(normalized), true) => Some(password::hash(normalized, config.pbkdf2_iterations)?),
            _ => None,
        };
        self.write(|tx| {
            let now = tx.now();
            if let Some(refusal) = throttled(tx, &account, address.as_deref(), now)? {
                return Ok(Err(self.record_refusal(tx, refusal, user, &client)?));
            }
            let (found, state) = match (&found, verdict.matches) {
                (Some(found), true) => match users::account_state(tx, found.id)? {
                    Some(state) if state.hash == found.hash => (found, state),
                    _ => return Ok(Err(Error::from_kind(ErrorKind::InvalidCredentials))),
                },
                _ => {
                    let detail = if user.is_some() { "wrong password" } else { "unknown user" };
                    let record = Record::about(user).client(&client);
                    let address = address.as_deref();
                    limiter::count_failure(tx, config, &account, address, record, detail)?;
                    return Ok(Err(Error::from_kind(ErrorKind::InvalidCredentials)));
                }
            };
            if !state.active {
                let record = Record::about(user).client(&client).detail("user deactivated");
                tx.audit(AuditKind::LoginFailed, record)?;
                return Ok(Err(Error::from_kind(ErrorKind::InactiveUser)));
            }
            limiter::clear(tx, &account)?;
            if let Some(new_hash) = &upgraded {
                users::upgrade_hash(tx, found.id, &found.hash, new_hash)?;
                tx.audit(AuditKind::PasswordRehashed, Record::about(user))?;
            }
            tx.prepare_cached(TOUCH_LOGIN)?.execute(params![found.id, now])?;
            let expires_at = now.saturating_add(millis(config.session_lifetime));
            let idle_expires_at =
                now.saturating_add(millis(config.session_idle_timeout)).min(expires_at);
            tx.prepare_cached(INSERT_SESSION)?.execute(params![
                found.id,
                now,
                idle_expires_at,
                expires_at,
                client.ip,
                client.user_agent
            ])?;
            let session_id = tx.last_insert_rowid();
            let tokens =
                self.issue_pair(tx, found.id, session_id, state.token_version, now, expires_at)?;
            let record = Record::session(found.id, session_id).client(&client);
            tx.audit(AuditKind::LoginSucceeded, record)?;
            Ok(Ok(Login {
                user: users::load(tx, found.id)?,
                session: load(tx, session_id)?,
                access_token: tokens.access_token,
                refresh_token: tokens.refresh_token,
                access_expires_at: tokens.access_expires_at,
            }))
        })?
    }

    /// Records and returns the refusal of a login that was throttled before hashing.
    fn refuse(&self, refusal: Refusal, user: Option<UserId>, client: &ClientInfo) -> Result<Login> {
        Err(self.write(|tx| self.record_refusal(tx, refusal, user, client))?)
    }

    fn record_refusal(
        &self,
        tx: &Tx<'_>,
        refusal: Refusal,
        user: Option<UserId>,
        client: &ClientInfo,
    ) -> Result<Error> {
        let (kind, audit_kind, wait) = match refusal {
            Refusal::Account(wait) => (ErrorKind::AccountLocked, AuditKind::LoginLocked, wait),
            Refusal::Address(wait) => (ErrorKind::RateLimited, AuditKind::LoginRateLimited, wait),
        };
        tx.audit(audit_kind, Record::about(user).client(client))?;
        Ok(Error::from_kind(kind).with_retry_after(wait))
    }

    /// Issues a refresh token and an access token for a session, inside its transaction.
    pub(crate) fn issue_pair(
        &self,
        tx: &Connection,
        user: UserId,
        session: SessionId,
        token_version: i64,
        now: i64,
        session_expires_at: i64,
    ) -> Result<TokenPair> {
        let refresh_token = refresh::create(tx, session, now)?;
        let ttl = millis(self.config().access_token_ttl);
        let exp = now.saturating_add(ttl).min(session_expires_at) / 1000;
        let claims = Claims {
            iss: self.config().issuer.clone(),
            aud: self.config().audience.clone(),
            sub: user,
            sid: session,
            jti: tokens::new_jti()?,
            iat: now / 1000,
            exp,
            ver: token_version,
            nbf: None,
        };
        let key = self.inner.keys.signer(&self.inner.store, tx)?;
        let access_token = tokens::issue(&key, &claims)?;
        Ok(TokenPair { access_token, refresh_token, access_expires_at: claims.expires_at() })
    }

    /// Ends the session of this access token: its refresh token and every access token of
    /// the session stop working at once. The token must be genuine (signature, issuer,
    /// audience) but may have expired. Logging out an ended session is not an error.
    pub fn logout(&self, access_token: &str) -> Result<()> {
        let claims = self.verify_signature(access_token)?;
        self.write(|tx| {
            if revoke(tx, claims.sid, tx.now(), "logout")? {
                tx.audit(AuditKind::Logout, Record::session(claims.sub, claims.sid))?;
            }
            Ok(())
        })
    }

    /// Revokes one access token (by its `jti`) until it expires, leaving its session alive.
    pub fn revoke_token(&self, access_token: &str) -> Result<()> {
        let claims = self.verify_signature(access_token)?;
        let expires = claims.exp.saturating_mul(1000);
        self.write(|tx| {
            if tx.prepare_cached(REVOKE_JTI)?.execute(params![claims.jti, expires])? > 0 {
                tx.audit(AuditKind::TokenRevoked, Record::session(claims.sub, claims.sid))?;
            }
            Ok(())
        })
    }

    /// The session with this id (live or not), or `NotFound`.
    pub fn session(&self, id: SessionId) -> Result<Session> {
        self.inner.store.read(|conn| load(conn, id))
    }

    /// The user's live sessions (not revoked, not expired), newest first. Empty for an
    /// unknown user.
    pub fn sessions(&self, user: UserId) -> Result<Vec<Session>> {
        let now = self.now_ms();
        self.inner.store.read(|conn| {
            let mut stmt = conn.prepare_cached(LIVE_SESSIONS)?;
            let rows = stmt.query_map(params![user, now], Session::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Ends one session (`NotFound` if there is no such session; ending an ended session is
    /// not an error). Takes effect on the very next `validate` and `refresh`, in every process.
    pub fn revoke_session(&self, id: SessionId) -> Result<()> {
        self.write(|tx| {
            let session = load(tx, id)?;
            if revoke(tx, id, tx.now(), "revoked")? {
                tx.audit(AuditKind::SessionRevoked, Record::session(session.user_id, id))?;
            }
            Ok(())
        })
    }

    /// Ends every live session of a user; returns how many were live. `NotFound` for an
    /// unknown user.
    pub fn revoke_all_sessions(&self, user: UserId) -> Result<usize> {
        self.write(|tx| {
            users::require(tx, user)?;
            let ended = revoke_user_sessions(tx, user, tx.now(), "all sessions revoked")?;
            let record = Record::user(user).detail(format!("sessions ended={ended}"));
            tx.audit(AuditKind::SessionsRevoked, record)?;
            Ok(ended)
        })
    }

    /// Deletes ended sessions (expired or revoked) with their refresh tokens, and expired
    /// entries of the revoked-token list. Returns how many sessions were deleted. Tokens of
    /// deleted sessions keep failing validation (as revoked).
    pub fn purge_expired(&self) -> Result<usize> {
        self.write(|tx| {
            let sessions = tx.prepare_cached(PURGE_SESSIONS)?.execute([tx.now()])?;
            tx.prepare_cached(PURGE_JTIS)?.execute([tx.now()])?;
            limiter::purge(tx, tx.now())?;
            Ok(sessions)
        })
    }
}
