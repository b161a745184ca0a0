//! The `meta` table: engine-wide values (the master key, the settings that bind the file,
//! the audit anchor) as `key → bytes`.

use std::path::Path;

use zeroize::Zeroizing;

use super::sql::args;
use super::{Conn, WriteTx};
use crate::values::config::{Config, Target};
use crate::values::error::{Error, ErrorKind, Result};

const READ: &str = "SELECT value FROM meta WHERE key = ?1";
const CREATE: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";

/// The master key every derived key comes from (when `Config::master_secret` is absent).
const MASTER_KEY: &str = "master_key";

/// The values of `keys` in the `meta` table of the database at `path`, read without
/// creating or writing anything. `NotFound` for a missing database, `Storage` for one that
/// is not authlite's.
pub(crate) fn recorded_settings(path: &Path, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
    match Config::new(path).target() {
        Target::File(path) => super::sqlite::recorded_settings(path, keys),
        Target::Memory => Err(Error::new(ErrorKind::NotFound, "an in-memory database has no file")),
        #[cfg(feature = "postgres")]
        Target::Postgres(url) => super::postgres::recorded_settings(url, keys),
        #[cfg(not(feature = "postgres"))]
        Target::Postgres(url) => Err(super::pg_unavailable(url)),
    }
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
