//! Schema creation and upgrades, tracked in `PRAGMA user_version`.
//!
//! `schema.sql` is divided into sections headed `-- @version N`. A new database runs the
//! whole file; a database at version `v` runs the sections after `v`, in order, in one
//! transaction. Additive changes (new tables, indexes) are simply a new section; a change
//! to an existing table would need an explicit step here as well.

use rusqlite::{Connection, TransactionBehavior};

use crate::values::error::{Error, ErrorKind, Result};
use crate::values::names::skeleton;

/// The full current schema.
const SCHEMA: &str = include_str!("../../../schema.sql");
const MARKER: &str = "-- @version ";

const READ_VERSION: &str = "PRAGMA user_version";
const COUNT_TABLES: &str = "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'";
const USERS_WITHOUT_SKELETON: &str =
    "SELECT id, username FROM users WHERE username_skeleton IS NULL";
const SET_SKELETON: &str = "UPDATE users SET username_skeleton = ?2 WHERE id = ?1";
/// The schema version that added `users.username_skeleton`.
const SKELETONS_SINCE: u32 = 3;
const HAS_META: &str =
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')";

/// `(version, sql)` for every section of `schema.sql`, in file order.
fn sections_of_schema() -> Result<Vec<(u32, &'static str)>> {
    let sections = sections(SCHEMA, "schema.sql")?;
    if sections.first().is_some_and(|s| s.0 != 1) {
        return Err(bad_schema("schema.sql"));
    }
    Ok(sections)
}

/// `(version, sql)` for every section of a schema file (`name` for messages), in file
/// order. A section starts at a line that begins with the marker; versions must count up
/// by one (a schema added later, like PostgreSQL's, starts at the version it joined).
pub(super) fn sections(schema: &'static str, name: &str) -> Result<Vec<(u32, &'static str)>> {
    let mut starts = Vec::new(); // (version, where its body starts, where its marker starts)
    let mut offset = 0;
    for line in schema.split_inclusive('\n') {
        if let Some(version) = line.strip_prefix(MARKER) {
            let version = version.trim().parse::<u32>().map_err(|_| bad_schema(name))?;
            starts.push((version, offset + line.len(), offset));
        }
        offset += line.len();
    }
    let mut out: Vec<(u32, &'static str)> = Vec::new();
    for (i, &(version, body, _)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(schema.len(), |next| next.2);
        out.push((version, &schema[body..end]));
    }
    let ordered = out.windows(2).all(|w| w[1].0 == w[0].0 + 1);
    if out.is_empty() || !ordered {
        return Err(bad_schema(name));
    }
    Ok(out)
}

/// The sections a database at `version` still needs, in order (none when it is current);
/// a `Storage` error when the database is newer than this code.
pub(super) fn pending(
    sections: &[(u32, &'static str)],
    version: u32,
) -> Result<Vec<(u32, &'static str)>> {
    let latest = sections.last().map_or(0, |s| s.0);
    if version > latest {
        return Err(Error::new(
            ErrorKind::Storage,
            format!("database schema version {version} is newer than this authlite ({latest})"),
        ));
    }
    Ok(sections.iter().filter(|(to, _)| *to > version).copied().collect())
}

fn bad_schema(name: &str) -> Error {
    Error::new(ErrorKind::Internal, format!("{name} sections must be numbered 1, 2, 3..."))
}

/// Computes the confusable skeleton of every existing username (SQL cannot).
fn backfill_skeletons(conn: &Connection) -> Result<()> {
    let mut read = conn.prepare(USERS_WITHOUT_SKELETON)?;
    let rows = read.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut write = conn.prepare(SET_SKELETON)?;
    for row in rows {
        let (id, username) = row?;
        write.execute(rusqlite::params![id, skeleton(&username)])?;
    }
    Ok(())
}

/// `Err` unless the file is empty or was made by authlite: an SQLite file with tables
/// but no schema version of ours. Reads only, so a refused file keeps every byte. The
/// outer error is SQLite's (e.g. "file is not a database").
pub(crate) fn refuse_foreign(conn: &Connection) -> rusqlite::Result<Result<()>> {
    let version: u32 = conn.query_row(READ_VERSION, [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(COUNT_TABLES, [], |r| r.get(0))?;
    let has_meta: bool = conn.query_row(HAS_META, [], |r| r.get(0))?;
    Ok(if tables == 0 || (version > 0 && has_meta) { Ok(()) } else { Err(foreign()) })
}

fn foreign() -> Error {
    Error::new(ErrorKind::Storage, "the file is an SQLite database that authlite did not create")
}

/// Brings the database on `conn` to the latest version, creating it when empty. Runs inside
/// one `BEGIN IMMEDIATE` transaction, so concurrent openers of a new file queue and the
/// later ones find the work done.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let sections = sections_of_schema()?;
    let latest = sections.len() as u32;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row(READ_VERSION, [], |r| r.get(0))?;
    let pending = pending(&sections, version)?;
    if pending.is_empty() {
        return Ok(());
    }
    if version == 0 {
        let tables: i64 = tx.query_row(COUNT_TABLES, [], |r| r.get(0))?;
        if tables != 0 {
            return Err(foreign());
        }
    }
    for (to, sql) in pending {
        tx.execute_batch(sql)
            .map_err(|e| Error::storage(format!("schema upgrade to version {to} failed"), e))?;
    }
    if version < SKELETONS_SINCE {
        backfill_skeletons(&tx)?;
    }
    // user_version cannot be a bound parameter; `latest` is a number we computed.
    tx.execute_batch(&format!("PRAGMA user_version = {latest}"))?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_sections_are_numbered_in_order() {
        let sections = super::sections_of_schema().unwrap();
        assert!(sections.len() >= 2);
        assert!(sections[0].1.contains("CREATE TABLE users"));
    }
}
