//! Whole-database questions: counts for `status`, the integrity check, the backup.

use std::path::Path;

use super::sql::{Sql, args};
use super::{Conn, Store};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::status::Status;

/// The counts of [`Status`], with the dialect's schema version and database size.
macro_rules! counts {
    ($version:literal, $bytes:literal) => {
        concat!(
            "SELECT ",
            $version,
            ", (SELECT count(*) FROM users), ",
            "(SELECT count(*) FROM sessions ",
            "WHERE revoked_at IS NULL AND idle_expires_at > ?1 AND expires_at > ?1), ",
            "(SELECT count(*) FROM signing_keys WHERE retired_at IS NULL), ",
            "(SELECT count(*) FROM api_keys ",
            "WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?1)), ",
            "(SELECT count(*) FROM audit_log), ",
            $bytes
        )
    };
}
const COUNTS: Sql = Sql::each(
    counts!(
        "(SELECT user_version FROM pragma_user_version)",
        "(SELECT page_count * page_size FROM pragma_page_count, pragma_page_size)"
    ),
    counts!("(SELECT max(version) FROM schema_version)", "pg_database_size(current_database())"),
);
/// SQLite's page check. PostgreSQL guards its own pages (checksums, WAL replay) and has no
/// such statement: there the check only proves the database answers.
const QUICK_CHECK: Sql = Sql::each("PRAGMA quick_check", "SELECT 'ok'");

impl Conn<'_> {
    /// Everything of [`Status`] but the WAL size, on the caller's snapshot.
    pub(crate) fn status(&self, now: i64) -> Result<Status> {
        let status = self.row(COUNTS, args![now], |r| {
            let n = |i| r.get::<i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
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

    /// [`QUICK_CHECK`]: `Ok` when the database finds itself sound, else a `Storage` error
    /// with its first findings.
    pub(crate) fn quick_check(&self) -> Result<()> {
        let findings = self.rows(QUICK_CHECK, args![], |r| r.get::<String>(0))?;
        if findings.len() == 1 && findings[0] == "ok" {
            return Ok(());
        }
        let first: Vec<String> = findings.into_iter().take(5).collect();
        Err(Error::new(ErrorKind::Storage, format!("database is damaged: {}", first.join("; "))))
    }
}

impl Store {
    /// Copies the whole SQLite database, as of one moment, to a new file at `dest` with
    /// SQLite's online backup API (writers are not stopped). Never overwrites: `Conflict`
    /// if `dest` exists. A `Config` error on PostgreSQL, whose own tools (`pg_dump`,
    /// replication) back it up.
    pub(crate) fn backup_to(&self, dest: &Path) -> Result<()> {
        let Some(sqlite) = self.sqlite() else {
            return Err(Error::new(
                ErrorKind::Config,
                "backup_to copies an SQLite database; back up PostgreSQL with pg_dump or replication",
            ));
        };
        if dest.exists() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("{} already exists", dest.display()),
            ));
        }
        sqlite.backup_to(dest)
    }

    /// Size of the SQLite `-wal` file in bytes; 0 when there is none (in memory, or on
    /// PostgreSQL).
    pub(crate) fn wal_bytes(&self) -> u64 {
        self.sqlite().map_or(0, |sqlite| sqlite.wal_bytes())
    }
}
