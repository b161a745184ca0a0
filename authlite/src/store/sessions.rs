//! The `sessions` and `revoked_tokens` tables, and the validation read.

use std::collections::BTreeMap;

use super::sql::{Row, Sql, args, attributes_json, dialects, malformed, roles_json};

use super::users::attributes_from;

use super::{Conn, WriteTx};
use crate::values::clock::from_millis;
use crate::values::error::Result;
use crate::values::ids::{OrgId, SessionId, UserId};
use crate::values::session::{ClientInfo, Session};
use crate::values::signin::SignInMethod;

macro_rules! select_session {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, created_at, last_refreshed_at, idle_expires_at, expires_at, ",
            "revoked_at, ip, user_agent, method FROM sessions ",
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
     (user_id, created_at, last_refreshed_at, idle_expires_at, expires_at, ip, user_agent, method) \
     VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";
const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 \
     WHERE id = ?1 AND revoked_at IS NULL";
/// Only live sessions: an expired one is already over and is not counted as ended.
const REVOKE_USER_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND idle_expires_at > ?2 AND expires_at > ?2";
/// The live sessions of a user that signed in one way (`method`, stored form).
const REVOKE_BY_METHOD: &str = "UPDATE sessions SET revoked_at = ?3, revoke_reason = ?4 \
     WHERE user_id = ?1 AND method = ?2 AND revoked_at IS NULL AND idle_expires_at > ?3 \
     AND expires_at > ?3";
const SLIDE: &str =
    "UPDATE sessions SET last_refreshed_at = ?2, idle_expires_at = ?3 WHERE id = ?1";
const REVOKE_JTI: &str = "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?1, ?2) \
     ON CONFLICT (jti) DO NOTHING";
const PURGE_SESSIONS: &str = "DELETE FROM sessions \
     WHERE expires_at <= ?1 OR idle_expires_at <= ?1 OR revoked_at IS NOT NULL";
const PURGE_JTIS: &str = "DELETE FROM revoked_tokens WHERE expires_at <= ?1";

macro_rules! token_state {
    ($d:ident) => {
        concat!(
            "SELECT s.user_id, u.username, u.token_version, ",
            "s.revoked_at IS NOT NULL, s.idle_expires_at, s.expires_at, u.active, ",
            "EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?2), ",
            "EXISTS (SELECT 1 FROM signing_keys WHERE kid = ?3 AND retired_at IS NULL), ",
            roles_json!($d, "s.user_id", "s.organization_id"),
            ", ",
            attributes_json!($d, "s.user_id"),
            ", (SELECT m.org_id FROM memberships m ",
            "WHERE m.org_id = s.organization_id AND m.user_id = s.user_id)",
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1"
        )
    };
}
/// Everything `validate` needs from the database, in one indexed read.
const TOKEN_STATE: Sql = dialects!(token_state);

/// Whether a session can still be used, as stored: the input of the one liveness rule
/// (`features::sessions::check_live`) that `validate` and `refresh` share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Liveness {
    pub(crate) user_active: bool,
    pub(crate) revoked: bool,
    pub(crate) idle_expires_at: i64,
    pub(crate) expires_at: i64,
}

impl Liveness {
    /// From four consecutive columns: `s.revoked_at IS NOT NULL, s.idle_expires_at,
    /// s.expires_at, u.active` — the shape every query feeding the liveness rule selects.
    pub(super) fn from_row(r: &Row<'_>, first: usize) -> Result<Liveness> {
        Ok(Liveness {
            revoked: r.get(first)?,
            idle_expires_at: r.get(first + 1)?,
            expires_at: r.get(first + 2)?,
            user_active: r.get(first + 3)?,
        })
    }
}

/// Database state behind one access token, as read by the validation query.
#[derive(Debug, Clone)]
pub(crate) struct TokenState {
    pub(crate) session: SessionId,
    pub(crate) user: UserId,
    pub(crate) username: String,
    pub(crate) roles: Vec<String>,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) token_version: i64,
    pub(crate) live: Liveness,
    pub(crate) token_revoked: bool,
    /// The token's signing key has a live (not retired) row in the database.
    pub(crate) key_live: bool,
    /// The session's active organization, while the account is a member of it.
    pub(crate) organization: Option<OrgId>,
}

fn session_from_row(r: &Row<'_>) -> Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        user_id: r.get(1)?,
        created_at: from_millis(r.get(2)?),
        last_refreshed_at: from_millis(r.get(3)?),
        idle_expires_at: from_millis(r.get(4)?),
        expires_at: from_millis(r.get(5)?),
        revoked_at: r.get::<Option<i64>>(6)?.map(from_millis),
        ip: r.get(7)?,
        user_agent: r.get(8)?,
        method: method_from(r, 9)?,
    })
}

/// A `method` column as a [`SignInMethod`].
fn method_from(r: &Row<'_>, i: usize) -> Result<SignInMethod> {
    let stored: String = r.get(i)?;
    SignInMethod::from_stored(&stored).ok_or_else(|| malformed("sign-in method"))
}

impl Conn<'_> {
    pub(crate) fn session(&self, id: SessionId) -> Result<Option<Session>> {
        self.row(SESSION_BY_ID, args![id], session_from_row)
    }

    /// A user's sessions that are neither revoked nor expired at `now`, newest first.
    pub(crate) fn live_sessions(&self, user: UserId, now: i64) -> Result<Vec<Session>> {
        self.rows(LIVE_SESSIONS, args![user, now], session_from_row)
    }

    /// The validation read: session, user, roles (global and in the active organization),
    /// attributes, the active organization, the token's own revocation and its key's
    /// liveness. `None`: the session no longer exists.
    pub(crate) fn token_state(
        &self,
        session: SessionId,
        jti: &str,
        kid: &str,
    ) -> Result<Option<TokenState>> {
        self.row(TOKEN_STATE, args![session, jti, kid], |r| {
            Ok(TokenState {
                session,
                user: r.get(0)?,
                username: r.get(1)?,
                roles: r.names(9, "role names")?,
                attributes: attributes_from(r, 10)?,
                token_version: r.get(2)?,
                live: Liveness::from_row(r, 3)?,
                token_revoked: r.get(7)?,
                key_live: r.get(8)?,
                organization: r.get(11)?,
            })
        })
    }
}

/// A new session's row.
pub(crate) struct NewSession<'a> {
    pub(crate) user: UserId,
    pub(crate) now: i64,
    pub(crate) idle_expires_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) client: &'a ClientInfo,
    pub(crate) method: &'a SignInMethod,
}

impl WriteTx<'_> {
    pub(crate) fn insert_session(&self, s: &NewSession<'_>) -> Result<SessionId> {
        let method = s.method.to_stored();
        self.insert(
            INSERT_SESSION,
            args![
                s.user,
                s.now,
                s.idle_expires_at,
                s.expires_at,
                s.client.ip.as_deref(),
                s.client.user_agent.as_deref(),
                method.as_str()
            ],
        )
        .map(SessionId)
    }

    /// Ends one session; `false` if it was already ended or does not exist.
    pub(crate) fn revoke_session(&self, id: SessionId, now: i64, reason: &str) -> Result<bool> {
        Ok(self.revoke(REVOKE_SESSION, args![id, now, reason])? > 0)
    }

    /// Ends every live session of a user; returns how many.
    pub(crate) fn revoke_user_sessions(
        &self,
        user: UserId,
        now: i64,
        reason: &str,
    ) -> Result<usize> {
        self.revoke(REVOKE_USER_SESSIONS, args![user, now, reason])
    }

    /// Ends every live session of a user that signed in with `method`; returns how many.
    pub(crate) fn revoke_sessions_by_method(
        &self,
        user: UserId,
        method: &SignInMethod,
        now: i64,
        reason: &str,
    ) -> Result<usize> {
        self.revoke(REVOKE_BY_METHOD, args![user, method.to_stored().as_str(), now, reason])
    }

    /// Moves the idle expiry (refresh).
    pub(crate) fn slide_session(
        &self,
        id: SessionId,
        now: i64,
        idle_expires_at: i64,
    ) -> Result<()> {
        self.run_pipelined(SLIDE, args![id, now, idle_expires_at])
    }

    /// Revokes one access token by `jti` until `expires_at`; `false` if it already was.
    pub(crate) fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<bool> {
        Ok(self.revoke(REVOKE_JTI, args![jti, expires_at])? > 0)
    }

    /// Deletes ended sessions (with their refresh tokens) and expired revocations; returns
    /// how many sessions.
    pub(crate) fn purge_sessions(&self, now: i64) -> Result<usize> {
        let sessions = self.run(PURGE_SESSIONS, args![now])?;
        self.run(PURGE_JTIS, args![now])?;
        Ok(sessions)
    }
}
