//! Whole-database questions: counts for `status`, and the integrity check.

use std::path::Path;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{Conn, Store};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::status::Status;

const COUNTS: &str = "SELECT \
     (SELECT user_version FROM pragma_user_version), \
     (SELECT count(*) FROM users), \
     (SELECT count(*) FROM sessions \
      WHERE revoked_at IS NULL AND idle_expires_at > ?1 AND expires_at > ?1), \
     (SELECT count(*) FROM signing_keys WHERE retired_at IS NULL), \
     (SELECT count(*) FROM api_keys \
      WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?1)), \
     (SELECT count(*) FROM audit_log), \
     (SELECT page_count * page_size FROM pragma_page_count, pragma_page_size)";
const QUICK_CHECK: &str = "PRAGMA quick_check";

impl Conn<'_> {
    /// Everything of [`Status`] but the WAL size, on the caller's snapshot.
    pub(crate) fn status(&self, now: i64) -> Result<Status> {
        let status = self.row(COUNTS, [now], |r| {
            let n = |i| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
            Ok(Status {
                schema_version: n(0)?,
                users: n(1)?,
                live_sessions: n(2)?,
                signing_keys: n(3)?,
                api_keys: n(4)?,
                audit_rows: n(5)?,
                db_bytes: n(6)?,
                wal_bytes: 0,
            })
        })?;
        status.ok_or_else(|| Error::new(ErrorKind::Storage, "status query returned nothing"))
    }

    /// `PRAGMA quick_check`: `Ok` when SQLite finds the file sound, else a `Storage` error
    /// with its first findings.
    pub(crate) fn quick_check(&self) -> Result<()> {
        let findings = self.rows(QUICK_CHECK, [], |r| r.get::<_, String>(0))?;
        if findings.len() == 1 && findings[0] == "ok" {
            return Ok(());
        }
        let first: Vec<String> = findings.into_iter().take(5).collect();
        Err(Error::new(ErrorKind::Storage, format!("database is damaged: {}", first.join("; "))))
    }
}

impl Store {
    /// Copies the whole database, as of one moment, to a new file at `dest` with SQLite's
    /// online backup API (writers are not stopped). Never overwrites: `Conflict` if `dest`
    /// exists.
    pub(crate) fn backup_to(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("{} already exists", dest.display()),
            ));
        }
        let source = self.checkout()?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut copy = Connection::open_with_flags(dest, flags)
            .map_err(|e| Error::storage(format!("cannot create {}", dest.display()), e))?;
        // All pages in one step: one read snapshot of the source, so the copy is consistent.
        let step = Backup::new(&source, &mut copy)?.step(-1)?;
        if step != StepResult::Done {
            return Err(Error::new(ErrorKind::Storage, "the backup did not complete; try again"));
        }
        copy.close().map_err(|(_, e)| Error::storage("cannot finish the backup file", e))?;
        Ok(())
    }

    /// Size of the `-wal` file in bytes; 0 when there is none (or in memory).
    pub(crate) fn wal_bytes(&self) -> u64 {
        self.wal_path().and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len())
    }
}
