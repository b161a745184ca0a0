//! Schema creation and ordered migrations, tracked in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, ErrorKind, Result};

/// The full current schema; new databases are created from it.
pub(crate) const SCHEMA: &str = include_str!("../../schema.sql");

/// Migrations that take a database from version `n - 1` to `n`, in order. Version 1 is the
/// first released schema; a new database is created directly at [`LATEST`] from [`SCHEMA`].
/// Each migration must leave exactly what `schema.sql` describes (see tests/migrations.rs).
const MIGRATIONS: &[(u32, &str)] = &[];

/// The schema version of [`SCHEMA`].
pub(crate) const LATEST: u32 = 1 + MIGRATIONS.len() as u32;

const READ_VERSION: &str = "PRAGMA user_version";
const COUNT_TABLES: &str = "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'";

/// Brings the database on `conn` to [`LATEST`], creating it when empty. Runs inside one
/// `BEGIN IMMEDIATE` transaction, so concurrent openers of a new file queue and the loser
/// finds the work done.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row(READ_VERSION, [], |r| r.get(0))?;
    if version == LATEST {
        return Ok(());
    }
    if version > LATEST {
        return Err(Error::new(
            ErrorKind::Storage,
            format!("database schema version {version} is newer than this authlite ({LATEST})"),
        ));
    }
    if version == 0 {
        let tables: i64 = tx.query_row(COUNT_TABLES, [], |r| r.get(0))?;
        if tables != 0 {
            return Err(Error::new(
                ErrorKind::Storage,
                "the file is an SQLite database that authlite did not create",
            ));
        }
        tx.execute_batch(SCHEMA)?;
    } else {
        for (to, sql) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
            tx.execute_batch(sql)
                .map_err(|e| Error::storage(format!("migration to version {to} failed"), e))?;
        }
    }
    // user_version cannot be a bound parameter; LATEST is a compile-time number.
    tx.execute_batch(&format!("PRAGMA user_version = {LATEST}"))?;
    tx.commit()?;
    Ok(())
}
