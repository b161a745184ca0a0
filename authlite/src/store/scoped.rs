//! The `scoped_revocations` table.

use super::sql::args;

use super::{Conn, WriteTx};
use crate::values::error::Result;

const REVOKED_BEFORE: &str =
    "SELECT revoked_before FROM scoped_revocations WHERE scope = ?1 AND subject = ?2";
const REVOKE: &str = "INSERT INTO scoped_revocations (scope, subject, revoked_before) \
     VALUES (?1, ?2, ?3) \
     ON CONFLICT (scope, subject) DO UPDATE SET revoked_before = excluded.revoked_before";

impl Conn<'_> {
    /// Tokens of (scope, subject) issued at or before this time (ms) are revoked.
    pub(crate) fn scoped_revoked_before(&self, scope: &str, subject: &str) -> Result<Option<i64>> {
        self.row(REVOKED_BEFORE, args![scope, subject], |r| r.get(0))
    }
}

impl WriteTx<'_> {
    pub(crate) fn revoke_scoped(&self, scope: &str, subject: &str, now: i64) -> Result<()> {
        self.run(REVOKE, args![scope, subject, now])?;
        Ok(())
    }
}
