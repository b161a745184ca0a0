//! Sessions: login, logout, listing and revocation, and the one rule that decides whether a
//! session can still be used ([`check_live`]), shared by `validate` and `refresh`.

use std::time::Duration;

use super::engine::{Engine, Record, Tx, require_user};
use super::{accounts, rbac, throttle};
use crate::crypto::password::{self, Verdict};
use crate::crypto::{jwt, secret};
use crate::store::{Conn, Liveness, NewSession};
use crate::values::audit::AuditKind;
use crate::values::clock::{from_millis, millis};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{ApiKeyId, SessionId, UserId};
use crate::values::names;
use crate::values::principal::Claims;
use crate::values::session::{ClientInfo, Login, Session, TokenPair};
use crate::values::user::AccountKind;

/// Whether a session can still be used at `now`: the account is active, the session was
/// not revoked, and neither its idle nor its absolute expiry has passed — checked in that
/// order, so every path answers the same: `InactiveUser`, then `RevokedToken`, then
/// `ExpiredToken`. `validate` and `refresh` both call this after their own
/// credential-specific checks.
pub(super) fn check_live(live: &Liveness, now: i64) -> Result<()> {
    if !live.user_active {
        return Err(Error::from_kind(ErrorKind::InactiveUser));
    }
    if live.revoked {
        return Err(Error::new(ErrorKind::RevokedToken, "session revoked"));
    }
    if now >= live.expires_at || now >= live.idle_expires_at {
        return Err(Error::new(ErrorKind::ExpiredToken, "session expired"));
    }
    Ok(())
}

/// Who an access token is for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject {
    pub(super) user: UserId,
    pub(super) session: Option<SessionId>,
    pub(super) api_key: Option<ApiKeyId>,
    pub(super) token_version: i64,
}

/// Why a login is refused before its password is looked at.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Account(Duration),
    Address(Duration),
}

fn throttled(
    conn: &Conn<'_>,
    account: &str,
    address: Option<&str>,
    now: i64,
) -> Result<Option<Refusal>> {
    if let Some(wait) = throttle::locked_for(conn, account, now)? {
        return Ok(Some(Refusal::Account(wait)));
    }
    match address {
        Some(address) => Ok(throttle::locked_for(conn, address, now)?.map(Refusal::Address)),
        None => Ok(None),
    }
}

/// Sessions and the tokens that belong to them.
impl Engine {
    pub(crate) fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let config = &self.config;
        let client = client.cleaned();
        let lookup = names::lookup(username_or_email).ok();
        let lookup_key = lookup.as_ref().map(|l| match l {
            names::Lookup::Username(key) | names::Lookup::Email(key) => key.as_str(),
        });
        let address = throttle::address_key(client.ip.as_deref());
        // One snapshot: who this is, and whether they (or the address) may try at all.
        // Locked accounts and throttled addresses are refused before any hashing is spent.
        let now = self.now_ms();
        let (found, account, refusal) = self.store.snapshot(|conn| {
            let found = match &lookup {
                Some(who) => conn.credentials(accounts::user_key(who))?,
                None => None,
            };
            // A service account has no password: its name logs in like an unknown one.
            let found = found.filter(|f| f.kind == AccountKind::Person);
            let id = found.as_ref().map(|f| f.id);
            let account = throttle::account_key(id, lookup_key, username_or_email);
            let refusal = throttled(conn, &account, address.as_deref(), now)?;
            Ok((found, account, refusal))
        })?;
        let user = found.as_ref().map(|f| f.id);
        if let Some(refusal) = refusal {
            return Err(self.write(|tx| record_refusal(tx, refusal, user, &client))?);
        }

        // PBKDF2 runs before the transaction so logins do not queue behind each other's
        // hashing; the transaction then proves the hash it checked is still the stored one,
        // and re-reads the throttle state so parallel guesses cannot overshoot the limit.
        let normalized = password::normalize(password, password::MAX_VERIFY_CHARS);
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
                return Ok(Err(record_refusal(tx, refusal, user, &client)?));
            }
            let (found, state) = match (&found, verdict.matches) {
                (Some(found), true) => match tx.account_state(found.id)? {
                    Some(state) if state.hash == found.hash => (found, state),
                    _ => return Ok(Err(Error::from_kind(ErrorKind::InvalidCredentials))),
                },
                _ => {
                    let detail = if user.is_some() { "wrong password" } else { "unknown user" };
                    let record = Record::about(user).client(&client);
                    let address = address.as_deref();
                    throttle::count_failure(tx, config, &account, address, record, detail)?;
                    return Ok(Err(Error::from_kind(ErrorKind::InvalidCredentials)));
                }
            };
            if !state.active {
                let record = Record::about(user).client(&client).detail("user deactivated");
                tx.audit(AuditKind::LoginFailed, record)?;
                return Ok(Err(Error::from_kind(ErrorKind::InactiveUser)));
            }
            if let Some(new_hash) = &upgraded {
                tx.upgrade_hash(found.id, &found.hash, new_hash)?;
                tx.audit(AuditKind::PasswordRehashed, Record::about(user))?;
            }
            // With a second factor the failure count stays until that factor is shown too.
            if let Some(pending) = self.second_factor(tx, found.id, &client)? {
                return Ok(Err(pending));
            }
            tx.clear_throttle(&account)?;
            Ok(Ok(self.start_session(tx, found.id, state.token_version, &client)?))
        })?
    }

    /// Creates a session for an authenticated, active account and its first token pair,
    /// inside the transaction that authenticated it (password, magic link, second factor).
    pub(super) fn start_session(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
        token_version: i64,
        client: &ClientInfo,
    ) -> Result<Login> {
        let now = tx.now();
        tx.touch_login(user, now)?;
        let expires_at = now.saturating_add(millis(self.config.session_lifetime));
        let idle_expires_at =
            now.saturating_add(millis(self.config.session_idle_timeout)).min(expires_at);
        let session = NewSession { user, now, idle_expires_at, expires_at, client };
        let session_id = tx.insert_session(&session)?;
        let window = (idle_expires_at, expires_at);
        let tokens = self.issue_pair(tx, user, session_id, token_version, window)?;
        tx.audit(AuditKind::LoginSucceeded, Record::session(user, session_id).client(client))?;
        Ok(Login {
            user: accounts::load(tx, user)?,
            session: load(tx, session_id)?,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            access_expires_at: tokens.access_expires_at,
        })
    }

    /// Issues a refresh token and an access token for a session, inside its transaction.
    pub(super) fn issue_pair(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
        session: SessionId,
        token_version: i64,
        (idle_expires_at, session_expires_at): (i64, i64),
    ) -> Result<TokenPair> {
        let now = tx.now();
        let refresh = secret::issue("")?;
        tx.insert_refresh_token(&refresh.selector, session, &refresh.hash, now)?;
        let ttl = self.config.access_token_ttl;
        let subject = Subject { user, session: Some(session), api_key: None, token_version };
        let (access_token, claims) = self.mint(tx, subject, ttl, session_expires_at)?;
        Ok(TokenPair {
            access_token,
            refresh_token: refresh.text,
            access_expires_at: claims.expires_at(),
            session_id: session,
            refresh_expires_at: from_millis(idle_expires_at),
        })
    }

    /// Signs an access token for `subject` inside the transaction that issues it: `ttl`
    /// from now, never past `cap` (ms). The one place access tokens are made, for sessions
    /// and service tokens alike.
    pub(super) fn mint(
        &self,
        tx: &Tx<'_, '_>,
        subject: Subject,
        ttl: Duration,
        cap: i64,
    ) -> Result<(String, Claims)> {
        let now = tx.now();
        let claims = Claims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: subject.user,
            sid: subject.session,
            akid: subject.api_key,
            jti: jwt::new_jti()?,
            iat: now / 1000,
            exp: now.saturating_add(millis(ttl)).min(cap) / 1000,
            ver: subject.token_version,
            nbf: None,
            iid: self.instance_id.clone(),
        };
        let key = self.keys.signer(&self.store, tx)?;
        Ok((jwt::issue(&key, &claims)?, claims))
    }

    /// Ends the session of a session's token; a service token (no session) is revoked.
    pub(crate) fn logout(&self, access_token: &str) -> Result<()> {
        let claims = self.verify_signature(access_token)?;
        let Some(sid) = claims.sid else { return self.revoke_token(access_token) };
        self.write(|tx| {
            if tx.revoke_session(sid, tx.now(), "logout")? {
                tx.audit(AuditKind::Logout, Record::session(claims.sub, sid))?;
            }
            Ok(())
        })
    }

    pub(crate) fn revoke_token(&self, access_token: &str) -> Result<()> {
        let claims = self.verify_signature(access_token)?;
        let expires = claims.exp.saturating_mul(1000);
        let record = Record { session: claims.sid, ..Record::user(claims.sub) };
        self.write(|tx| {
            if tx.revoke_jti(&claims.jti, expires)? {
                tx.audit(AuditKind::TokenRevoked, record)?;
            }
            Ok(())
        })
    }

    pub(crate) fn session(&self, id: SessionId) -> Result<Session> {
        self.store.read(|conn| load(conn, id))
    }

    pub(crate) fn sessions(&self, user: UserId) -> Result<Vec<Session>> {
        let now = self.now_ms();
        self.store.read(|conn| conn.live_sessions(user, now))
    }

    pub(crate) fn revoke_session(&self, id: SessionId) -> Result<()> {
        self.write(|tx| {
            let session = load(tx, id)?;
            if tx.revoke_session(id, tx.now(), "revoked")? {
                tx.audit(AuditKind::SessionRevoked, Record::session(session.user_id, id))?;
            }
            Ok(())
        })
    }

    pub(crate) fn revoke_all_sessions(&self, user: UserId) -> Result<usize> {
        self.write(|tx| {
            require_user(tx, user)?;
            let ended = tx.revoke_user_sessions(user, tx.now(), "all sessions revoked")?;
            let record = Record::user(user).detail(format!("sessions ended={ended}"));
            tx.audit(AuditKind::SessionsRevoked, record)?;
            Ok(ended)
        })
    }

    pub(crate) fn purge_expired(&self) -> Result<usize> {
        self.write(|tx| {
            let sessions = tx.purge_sessions(tx.now())?;
            tx.purge_throttle(tx.now())?;
            tx.purge_one_time(tx.now())?;
            tx.purge_denials(tx.now().saturating_sub(millis(rbac::DENIAL_WINDOW)))?;
            Ok(sessions)
        })
    }
}

/// Records and returns the refusal of a login that was throttled before hashing.
fn record_refusal(
    tx: &Tx<'_, '_>,
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

fn load(conn: &Conn<'_>, id: SessionId) -> Result<Session> {
    conn.session(id)?.ok_or_else(|| Error::new(ErrorKind::NotFound, "no such session"))
}
