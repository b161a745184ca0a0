//! The `meta` table: engine-wide values (the master key, the settings that bind the file,
//! the audit anchor) as `key → bytes`.

use zeroize::Zeroizing;

use super::{Conn, WriteTx};
use crate::values::error::{Error, ErrorKind, Result};

const READ: &str = "SELECT value FROM meta WHERE key = ?1";
const CREATE: &str = "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)";

/// The master key every derived key comes from (when `Config::master_secret` is absent).
pub(crate) const MASTER_KEY: &str = "master_key";

impl Conn<'_> {
    /// The value stored under `key`.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.row(READ, [key], |r| r.get(0))
    }
}

impl WriteTx<'_> {
    /// Stores `value` under `key` unless a value is there already; returns the value that
    /// is stored now.
    pub(crate) fn meta_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.run(CREATE, rusqlite::params![key, value])?;
        self.meta(key)?
            .ok_or_else(|| Error::new(ErrorKind::Storage, format!("meta value {key} is missing")))
    }

    /// The stored master key, storing `fresh` first if there is none yet.
    pub(crate) fn master_key(&self, fresh: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.meta_or_insert(MASTER_KEY, fresh).map(Zeroizing::new)
    }
}
