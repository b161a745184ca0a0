//! SQLite's hooks for the one migration runner (`store/migrate.rs`): the version in
//! `PRAGMA user_version`, the refusal of files authlite did not make, and the backfill of
//! confusable skeletons (added in version 3; SQL cannot compute them).

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::store::migrate::{self, Schema};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::names::skeleton;

/// The full current schema.
const SCHEMA: &str = include_str!("../../../../schema.sql");

const READ_VERSION: &str = "PRAGMA user_version";
const COUNT_TABLES: &str = "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'";
const HAS_META: &str =
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')";
const USERS_WITHOUT_SKELETON: &str =
    "SELECT id, username FROM users WHERE username_skeleton IS NULL";
const SET_SKELETON: &str = "UPDATE users SET username_skeleton = ?2 WHERE id = ?1";
/// The schema version that added `users.username_skeleton`.
const SKELETONS_SINCE: u32 = 3;

fn foreign() -> Error {
    Error::new(ErrorKind::Storage, "the file is an SQLite database that authlite did not create")
}

/// `Err` unless the file at `path` (open on `conn`) is empty or was made by authlite: an
/// SQLite file with tables but no schema version of ours is refused. Reads only, so a
/// refused file keeps every byte.
pub(super) fn refuse_foreign(conn: &Connection, path: &Path) -> Result<()> {
    let unusable = |e| Error::storage(format!("{} is not a usable database", path.display()), e);
    let read = || -> rusqlite::Result<(u32, i64, bool)> {
        let version = conn.query_row(READ_VERSION, [], |r| r.get(0))?;
        let tables = conn.query_row(COUNT_TABLES, [], |r| r.get(0))?;
        let has_meta = conn.query_row(HAS_META, [], |r| r.get(0))?;
        Ok((version, tables, has_meta))
    };
    let (version, tables, has_meta) = read().map_err(unusable)?;
    if tables == 0 || (version > 0 && has_meta) { Ok(()) } else { Err(foreign()) }
}

/// Brings the database on `conn` to the latest version, creating it when empty, in one
/// `BEGIN IMMEDIATE` transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    migrate::upgrade(&mut Hooks(&tx), SCHEMA, "schema.sql", true)?;
    tx.commit()?;
    Ok(())
}

struct Hooks<'t, 'c>(&'t Transaction<'c>);

impl Schema for Hooks<'_, '_> {
    fn version(&mut self) -> Result<u32> {
        Ok(self.0.query_row(READ_VERSION, [], |r| r.get(0))?)
    }

    fn refuse_foreign(&mut self) -> Result<()> {
        let tables: i64 = self.0.query_row(COUNT_TABLES, [], |r| r.get(0))?;
        if tables == 0 { Ok(()) } else { Err(foreign()) }
    }

    fn apply(&mut self, sql: &'static str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }

    /// Computes the confusable skeleton of every existing username.
    fn after(&mut self, from: u32) -> Result<()> {
        if from >= SKELETONS_SINCE {
            return Ok(());
        }
        let mut read = self.0.prepare(USERS_WITHOUT_SKELETON)?;
        let rows = read.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut write = self.0.prepare(SET_SKELETON)?;
        for row in rows {
            let (id, username) = row?;
            write.execute(rusqlite::params![id, skeleton(&username)])?;
        }
        Ok(())
    }

    fn set_version(&mut self, version: u32) -> Result<()> {
        // user_version cannot be a bound parameter; `version` is a number we computed.
        Ok(self.0.execute_batch(&format!("PRAGMA user_version = {version}"))?)
    }
}
