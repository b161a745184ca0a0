//! The `refresh_tokens` table.

use super::sql::args;

use super::sessions::Liveness;
use super::{Conn, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::error::Result;
use crate::values::ids::{SessionId, UserId};

const INSERT: &str = "INSERT INTO refresh_tokens (selector, session_id, secret_hash, created_at) \
                      VALUES (?1, ?2, ?3, ?4)";
const LOOKUP: &str = "SELECT rt.session_id, rt.secret_hash, rt.spent_at IS NOT NULL, \
     s.user_id, s.revoked_at IS NOT NULL, s.idle_expires_at, s.expires_at, \
     u.active, u.token_version \
     FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id \
     JOIN users u ON u.id = s.user_id WHERE rt.selector = ?1";
const SPEND: &str =
    "UPDATE refresh_tokens SET spent_at = ?2 WHERE selector = ?1 AND spent_at IS NULL";

/// A refresh token with the state of its session and user.
pub(crate) struct RefreshRow {
    pub(crate) session: SessionId,
    pub(crate) secret_hash: Vec<u8>,
    pub(crate) spent: bool,
    pub(crate) user: UserId,
    pub(crate) live: Liveness,
    pub(crate) token_version: i64,
}

impl Conn<'_> {
    pub(crate) fn refresh_token(&self, selector: &str) -> Result<Option<RefreshRow>> {
        self.row(LOOKUP, args![selector], |r| {
            Ok(RefreshRow {
                session: r.get(0)?,
                secret_hash: r.get(1)?,
                spent: r.get(2)?,
                user: r.get(3)?,
                live: Liveness::from_row(r, 4)?,
                token_version: r.get(8)?,
            })
        })
    }
}

impl WriteTx<'_> {
    pub(crate) fn insert_refresh_token(
        &self,
        selector: &str,
        session: SessionId,
        hash: &SecretHash,
        now: i64,
    ) -> Result<()> {
        self.run_pipelined(INSERT, args![selector, session, &hash[..], now])
    }

    /// Marks a token spent (its caller read it unspent, under the write lock).
    pub(crate) fn spend_refresh_token(&self, selector: &str, now: i64) -> Result<()> {
        self.run_pipelined(SPEND, args![selector, now])
    }
}
