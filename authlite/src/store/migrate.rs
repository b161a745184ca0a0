//! Schema creation and upgrades: the one runner ([`upgrade`]) over each backend's hooks
//! ([`Schema`]: `sqlite/migrate.rs`, `postgres/`).
//!
//! A schema file (`schema.sql`, `schema.postgres.sql`) is divided into sections headed
//! `-- @version N`. A new database runs the whole file; a database at version `v` runs the
//! sections after `v`, in order, in one transaction. Additive changes (new tables, columns,
//! indexes) are simply a new section; data SQL cannot compute is a backend's `after` step.

use crate::values::error::{Error, ErrorKind, Result};

const MARKER: &str = "-- @version ";

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

/// What the one runner needs of a backend, inside the transaction the backend holds for
/// the whole migration (so concurrent openers queue and the later ones find it done).
pub(super) trait Schema {
    /// The recorded schema version; 0 for a database without one.
    fn version(&mut self) -> Result<u32>;
    /// `Err` when a database without a version holds something (not ours to change).
    fn refuse_foreign(&mut self) -> Result<()>;
    /// Runs one section of the schema file.
    fn apply(&mut self, sql: &'static str) -> Result<()>;
    /// Data steps SQL cannot do, after the sections, for a database that was at `from`.
    fn after(&mut self, from: u32) -> Result<()>;
    fn set_version(&mut self, version: u32) -> Result<()>;
}

/// Brings `schema` to the latest version of `file` (named `name` in messages). A database
/// without a version is created only when `create` allows it (else `NotFound`).
pub(super) fn upgrade(
    schema: &mut impl Schema,
    file: &'static str,
    name: &str,
    create: bool,
) -> Result<()> {
    let sections = sections(file, name)?;
    let latest = sections.last().map_or(0, |s| s.0);
    let version = schema.version()?;
    let pending = pending(&sections, version)?;
    if pending.is_empty() {
        return Ok(());
    }
    if version == 0 {
        schema.refuse_foreign()?;
        if !create {
            return Err(Error::new(
                ErrorKind::NotFound,
                "no authlite schema in this database (and creating one was not asked for)",
            ));
        }
    }
    for (to, sql) in pending {
        schema
            .apply(sql)
            .map_err(|e| Error::storage(format!("schema upgrade to version {to} failed"), e))?;
    }
    schema.after(version)?;
    schema.set_version(latest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sections_are_numbered_in_order() {
        let schema = "-- @version 1\nCREATE TABLE a (x);\n-- @version 2\nCREATE TABLE b (y);\n";
        let sections = super::sections(schema, "test").unwrap();
        assert_eq!(sections.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        assert!(sections[1].1.contains("CREATE TABLE b"));
        assert!(super::sections("-- @version 1\n-- @version 3\n", "test").is_err());
        assert_eq!(super::pending(&sections, 1).unwrap().len(), 1);
        assert!(super::pending(&sections, 3).is_err(), "newer than this code");
    }
}
