//! Sessions: token pairs and access tokens for them, logout, listing and revocation.
//! Sessions start in the sign-in pipeline (`signin/`); whether one is still usable is the
//! liveness rule's (`liveness.rs`).

use std::time::Duration;

use super::engine::{Engine, Record, Tx, require_user};
use super::lifecycle::{self, AccountEvent};
use super::rbac;
use crate::crypto::{jwt, secret};
use crate::store::Conn;
use crate::values::audit::AuditKind;
use crate::values::clock::{from_millis, millis};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{ApiKeyId, SessionId, UserId};
use crate::values::principal::Claims;
use crate::values::session::{Session, TokenPair};

/// Who an access token is for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject {
    pub(super) user: UserId,
    pub(super) session: Option<SessionId>,
    pub(super) api_key: Option<ApiKeyId>,
    pub(super) token_version: i64,
}

/// Sessions and the tokens that belong to them.
impl Engine {
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
            let ended = lifecycle::apply(tx, user, AccountEvent::SessionsRevoked)?;
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
            tx.purge_invitations(tx.now())?;
            tx.purge_ceremonies(tx.now())?;
            tx.purge_oidc_flows(tx.now())?;
            tx.purge_denials(tx.now().saturating_sub(millis(rbac::DENIAL_WINDOW)))?;
            Ok(sessions)
        })
    }
}

pub(super) fn load(conn: &Conn<'_>, id: SessionId) -> Result<Session> {
    conn.session(id)?.ok_or_else(|| Error::new(ErrorKind::NotFound, "no such session"))
}
