//! The `login_throttle` table: one row per throttled account, unknown name or address.

use super::sql::args;

use super::{Conn, WriteTx};
use crate::values::error::Result;

const READ: &str = "SELECT failures, window_start, locked_until, lockouts FROM login_throttle \
                    WHERE key = ?1";
const WRITE: &str = "INSERT INTO login_throttle \
     (key, failures, window_start, locked_until, lockouts) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
     window_start = excluded.window_start, locked_until = excluded.locked_until, \
     lockouts = excluded.lockouts";
const CLEAR: &str = "DELETE FROM login_throttle WHERE key = ?1";
/// Rows with nothing left to enforce: not locked, and no failure for a day.
const PURGE: &str = "DELETE FROM login_throttle \
                     WHERE coalesce(locked_until, 0) <= ?1 AND window_start + 86400000 <= ?1";

/// What a throttle row holds; `Default` for a key with no row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ThrottleState {
    pub(crate) failures: u32,
    pub(crate) window_start: i64,
    pub(crate) locked_until: Option<i64>,
    pub(crate) lockouts: u32,
}

impl Conn<'_> {
    pub(crate) fn throttle(&self, key: &str) -> Result<ThrottleState> {
        let state = self.row(READ, args![key], |r| {
            Ok(ThrottleState {
                failures: r.get(0)?,
                window_start: r.get(1)?,
                locked_until: r.get(2)?,
                lockouts: r.get(3)?,
            })
        })?;
        Ok(state.unwrap_or_default())
    }
}

impl WriteTx<'_> {
    pub(crate) fn set_throttle(&self, key: &str, s: ThrottleState) -> Result<()> {
        self.run(WRITE, args![key, s.failures, s.window_start, s.locked_until, s.lockouts])?;
        Ok(())
    }

    pub(crate) fn clear_throttle(&self, key: &str) -> Result<()> {
        self.run_pipelined(CLEAR, args![key])
    }

    /// Deletes rows with nothing left to enforce.
    pub(crate) fn purge_throttle(&self, now: i64) -> Result<usize> {
        self.run(PURGE, args![now])
    }
}
