//! The `scoped_revocations` table.

use super::sql::args;

use super::{Conn, WriteTx};
use crate::values::error::Result;

const STATE: &str = "SELECT revoked_before, generation FROM scoped_revocations \
     WHERE scope = ?1 AND subject = ?2";
const REVOKE: &str = "INSERT INTO scoped_revocations (scope, subject, revoked_before, generation) \
     VALUES (?1, ?2, ?3, 1) \
     ON CONFLICT (scope, subject) DO UPDATE SET revoked_before = excluded.revoked_before, \
     generation = scoped_revocations.generation + 1";

/// What revocation says of one (scope, subject).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScopedState {
    /// Tokens of the first format issued at or before this time (ms) are revoked.
    pub(crate) revoked_before: Option<i64>,
    /// How many times it was revoked: tokens issued under a smaller generation are revoked.
    pub(crate) generation: i64,
}

impl Conn<'_> {
    pub(crate) fn scoped_state(&self, scope: &str, subject: &str) -> Result<ScopedState> {
        let found = self.row(STATE, args![scope, subject], |r| {
            Ok(ScopedState { revoked_before: Some(r.get(0)?), generation: r.get(1)? })
        })?;
        Ok(found.unwrap_or_default())
    }
}

impl WriteTx<'_> {
    /// Revokes every token of (scope, subject) issued until now.
    pub(crate) fn revoke_scoped(&self, scope: &str, subject: &str, now: i64) -> Result<()> {
        self.revoke(REVOKE, args![scope, subject, now])?;
        Ok(())
    }
}
