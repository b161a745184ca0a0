//! The `scoped_revocations` table.

use rusqlite::params;

use super::{Conn, WriteTx};
use crate::values::error::Result;

const REVOKED_BEFORE: &str =
    "SELECT revoked_before FROM scoped_revocations WHERE scope = ?1 AND subject = ?2";
const REVOKE: &str = "INSERT OR REPLACE INTO scoped_revocations (scope, subject, revoked_before) \
     VALUES (?1, ?2, ?3)";

impl Conn<'_> {
    /// Tokens of (scope, subject) issued at or before this time (ms) are revoked.
    pub(crate) fn scoped_revoked_before(&self, scope: &str, subject: &str) -> Result<Option<i64>> {
        self.row(REVOKED_BEFORE, [scope, subject], |r| r.get(0))
    }
}

impl WriteTx<'_> {
    pub(crate) fn revoke_scoped(&self, scope: &str, subject: &str, now: i64) -> Result<()> {
        self.run(REVOKE, params![scope, subject, now])?;
        Ok(())
    }
}
