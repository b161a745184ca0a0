//! The `meta` table: engine-wide values (the master key, the settings that bind the file,
//! the audit anchor) as `key → bytes`.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use super::sql::args;
use super::{Conn, Link, WriteTx};
use crate::values::config::Config;
use crate::values::error::{Error, ErrorKind, Result};

const READ: &str = "SELECT value FROM meta WHERE key = ?1";
const CREATE: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";

/// The master key every derived key comes from (when `Config::master_secret` is absent).
const MASTER_KEY: &str = "master_key";

/// The values of `keys` in the `meta` table of the database at `path`, read through a
/// read-only connection (nothing is created or written). `NotFound` for a missing file,
/// `Storage` for one that is not an authlite database.
pub(crate) fn recorded_settings(path: &Path, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
    if let Some(url) = Config::new(path).postgres_url() {
        #[cfg(feature = "postgres")]
        return super::pg::recorded_settings(url, keys);
        #[cfg(not(feature = "postgres"))]
        return Err(super::pg_unavailable(url));
    }
    // An empty file is no database (SQLite would treat it as a new, empty one).
    if std::fs::metadata(path).map_or(true, |m| !m.is_file() || m.len() == 0) {
        return Err(Error::new(ErrorKind::NotFound, format!("no database at {}", path.display())));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::storage(format!("cannot open {}", path.display()), e))?;
    let not_ours = |e| Error::storage(format!("{} is not an authlite database", path.display()), e);
    let conn = Conn(Link::Sqlite(&conn));
    keys.iter()
        .map(|key| {
            conn.meta(key).map_err(|e| match e.kind() {
                ErrorKind::Storage => not_ours(e),
                _ => e,
            })
        })
        .collect()
}

impl Conn<'_> {
    /// The value stored under `key`.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.row(READ, args![key], |r| r.get(0))
    }
}

impl WriteTx<'_> {
    /// Stores `value` under `key` unless a value is there already; returns the value that
    /// is stored now.
    pub(crate) fn meta_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.run(CREATE, args![key, value])?;
        self.meta(key)?
            .ok_or_else(|| Error::new(ErrorKind::Storage, format!("meta value {key} is missing")))
    }

    /// The stored master key, storing `fresh` first if there is none yet.
    pub(crate) fn master_key(&self, fresh: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.meta_or_insert(MASTER_KEY, fresh).map(Zeroizing::new)
    }
}
