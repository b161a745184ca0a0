//! The `audit_log` table and the retention anchor in `meta`.

use super::sql::{self, Row, args};

use super::{Conn, WriteTx};
use crate::values::audit::{AuditEvent, AuditKind, AuditQuery};
use crate::values::clock::{from_millis, to_millis};
use crate::values::error::{Error, Result};

const LAST_ROW: &str = "SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1";
const INSERT: &str = "INSERT INTO audit_log \
     (id, at, kind, user_id, session_id, ip, user_agent, detail, mac) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/// (The casts tell PostgreSQL each optional filter's type; SQLite ignores them.)
const QUERY: &str = "SELECT id, at, kind, user_id, session_id, ip, user_agent, detail \
     FROM audit_log \
     WHERE (CAST(?1 AS BIGINT) IS NULL OR user_id = ?1) \
     AND (CAST(?2 AS TEXT) IS NULL OR kind = ?2) \
     AND (CAST(?3 AS BIGINT) IS NULL OR at >= ?3) \
     AND (CAST(?4 AS BIGINT) IS NULL OR at < ?4) \
     AND (CAST(?5 AS BIGINT) IS NULL OR id < ?5) \
     ORDER BY id DESC LIMIT ?6";
const ALL_ROWS: &str = "SELECT id, at, kind, user_id, session_id, ip, user_agent, detail, mac \
     FROM audit_log ORDER BY id";
const LAST_BEFORE: &str = "SELECT max(id) FROM audit_log WHERE at < ?1";
const MAC_OF: &str = "SELECT mac FROM audit_log WHERE id = ?1";
const PURGE: &str = "DELETE FROM audit_log WHERE id <= ?1";
const READ_ANCHOR: &str = "SELECT value FROM meta WHERE key = 'audit_anchor'";
const WRITE_ANCHOR: &str = "INSERT INTO meta (key, value) VALUES ('audit_anchor', ?1) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const LATEST_PURGE_EVENT: &str =
    "SELECT detail FROM audit_log WHERE kind = 'audit.purged' ORDER BY id DESC LIMIT 1";

const DENIAL: &str = "SELECT window_start, repeats FROM denials WHERE key = ?1";
const OPEN_DENIAL_WINDOW: &str = "INSERT INTO denials (key, window_start, repeats) VALUES (?1, ?2, 0) \
     ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, repeats = 0";
const REPEAT_DENIAL: &str = "UPDATE denials SET repeats = repeats + 1 WHERE key = ?1";
const PURGE_DENIALS: &str = "DELETE FROM denials WHERE window_start < ?1";

/// A position in the MAC chain: a row's id and MAC (or the anchor left by a purge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditLink {
    pub(crate) id: i64,
    pub(crate) mac: Vec<u8>,
}

/// A stored row as read for verification: `event` is `None` when the row does not decode.
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    pub(crate) event: Option<AuditEvent>,
    pub(crate) mac: Vec<u8>,
}

fn event_from_row(r: &Row<'_>) -> Result<Option<AuditEvent>> {
    let kind: String = r.get(2)?;
    let Some(kind) = AuditKind::from_name(&kind) else { return Ok(None) };
    Ok(Some(AuditEvent {
        id: r.get(0)?,
        at: from_millis(r.get(1)?),
        kind,
        user_id: r.get(3)?,
        session_id: r.get(4)?,
        ip: r.get(5)?,
        user_agent: r.get(6)?,
        detail: r.get(7)?,
    }))
}

fn link(r: &Row<'_>) -> Result<AuditLink> {
    Ok(AuditLink { id: r.get(0)?, mac: r.get(1)? })
}

impl WriteTx<'_> {
    /// The newest link of the chain as this transaction leaves it: after its own append,
    /// that row; on PostgreSQL first from the read that went with `BEGIN`
    /// ([`WriteTx::prefetch_audit_head`]); else the newest row, or the anchor after a purge.
    pub(crate) fn chain_head(&self) -> Result<Option<AuditLink>> {
        if let Some(known) = self.chain_head.borrow().clone() {
            return Ok(known);
        }
        let newest = match self.conn.prefetched(link)? {
            Some(rows) => rows.into_iter().next(),
            None => self.row(LAST_ROW, args![], link)?,
        };
        match newest {
            Some(newest) => Ok(Some(newest)),
            None => self.audit_anchor(),
        }
    }

    /// Asks the backend to read the chain's head with the statements that begin the
    /// transaction (PostgreSQL: no round trip of its own); nothing on SQLite.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(super) fn prefetch_audit_head(&self) -> Result<()> {
        self.conn.prefetch(LAST_ROW)
    }

    /// Appends `e` with its `mac`; it becomes the chain's head.
    pub(crate) fn append_audit(&self, e: &AuditEvent, mac: &[u8]) -> Result<()> {
        self.run_pipelined(
            INSERT,
            args![
                e.id,
                to_millis(e.at),
                e.kind.as_str(),
                e.user_id,
                e.session_id,
                e.ip.as_deref(),
                e.user_agent.as_deref(),
                e.detail.as_deref(),
                mac
            ],
        )?;
        *self.chain_head.borrow_mut() = Some(Some(AuditLink { id: e.id, mac: mac.to_vec() }));
        Ok(())
    }

    /// Deletes every row through `through` and anchors the chain there.
    pub(crate) fn purge_audit_through(&self, through: &AuditLink) -> Result<usize> {
        // The head may be among the rows deleted: read it again when next needed.
        *self.chain_head.borrow_mut() = None;
        drop(self.conn.prefetched(|_| Ok(()))?);
        let deleted = self.run(PURGE, args![through.id])?;
        let mut anchor = through.id.to_be_bytes().to_vec();
        anchor.extend_from_slice(&through.mac);
        self.run(WRITE_ANCHOR, args![&anchor])?;
        Ok(deleted)
    }
}

impl Conn<'_> {
    /// The link the oldest remaining row chains to, when rows were purged.
    pub(crate) fn audit_anchor(&self) -> Result<Option<AuditLink>> {
        match self.row(READ_ANCHOR, args![], |r| r.get::<Vec<u8>>(0))? {
            None => Ok(None),
            Some(v) if v.len() == 40 => {
                let (id, mac) = v.split_at(8);
                let id = i64::from_be_bytes(id.try_into().map_err(|_| malformed())?);
                Ok(Some(AuditLink { id, mac: mac.to_vec() }))
            }
            Some(_) => Err(malformed()),
        }
    }

    /// The detail of the newest purge record, if any.
    pub(crate) fn latest_purge_detail(&self) -> Result<Option<String>> {
        Ok(self.row(LATEST_PURGE_EVENT, args![], |r| r.get::<Option<String>>(0))?.flatten())
    }

    /// Events matching `query`, newest first, at most `limit`.
    pub(crate) fn audit_events(&self, query: &AuditQuery, limit: u32) -> Result<Vec<AuditEvent>> {
        let rows = self.rows(
            QUERY,
            args![
                query.user_id,
                query.kind.map(AuditKind::as_str),
                query.since.map(to_millis),
                query.until.map(to_millis),
                query.before_id,
                limit
            ],
            event_from_row,
        )?;
        rows.into_iter().map(|e| e.ok_or_else(malformed)).collect()
    }

    /// Calls `visit` with every row in id order, stopping at its first error.
    pub(crate) fn for_each_audit_row(
        &self,
        mut visit: impl FnMut(AuditRow) -> Result<()>,
    ) -> Result<()> {
        self.each(ALL_ROWS, args![], |r| {
            let event = event_from_row(r).ok().flatten();
            visit(AuditRow { id: r.get(0)?, event, mac: r.get(8)? })?;
            Ok(true)
        })
    }

    /// The id of the newest row older than `at` (milliseconds), with its MAC.
    pub(crate) fn audit_last_before(&self, at: i64) -> Result<Option<AuditLink>> {
        let Some(id) = self.row(LAST_BEFORE, args![at], |r| r.get::<Option<i64>>(0))?.flatten()
        else {
            return Ok(None);
        };
        let mac = self.row(MAC_OF, args![id], |r| r.get(0))?.ok_or_else(malformed)?;
        Ok(Some(AuditLink { id, mac }))
    }
}

impl WriteTx<'_> {
    /// The open window of a denial key: when its audited denial was, and how many repeats
    /// were only counted since.
    pub(crate) fn denial(&self, key: &str) -> Result<Option<(i64, i64)>> {
        self.row(DENIAL, args![key], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// Starts a new window for `key` at `now` (its denial is audited).
    pub(crate) fn open_denial_window(&self, key: &str, now: i64) -> Result<()> {
        self.run(OPEN_DENIAL_WINDOW, args![key, now])?;
        Ok(())
    }

    /// Counts one more denial in the open window of `key`.
    pub(crate) fn repeat_denial(&self, key: &str) -> Result<()> {
        self.run(REPEAT_DENIAL, args![key])?;
        Ok(())
    }

    /// Forgets denial windows opened before `before`.
    pub(crate) fn purge_denials(&self, before: i64) -> Result<usize> {
        self.run(PURGE_DENIALS, args![before])
    }
}

/// A `Storage` error for an audit row or anchor the engine never wrote.
fn malformed() -> Error {
    sql::malformed("audit trail row or anchor")
}
