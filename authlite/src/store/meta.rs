//! The `meta` table: engine-wide values.

use zeroize::Zeroizing;

use super::WriteTx;
use crate::values::error::{Error, ErrorKind, Result};

const READ_MASTER: &str = "SELECT value FROM meta WHERE key = 'master_key'";
const CREATE_MASTER: &str = "INSERT OR IGNORE INTO meta (key, value) VALUES ('master_key', ?1)";

impl WriteTx<'_> {
    /// The stored master key, storing `fresh` first if there is none yet.
    pub(crate) fn master_key(&self, fresh: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.run(CREATE_MASTER, [fresh])?;
        let stored = self.row(READ_MASTER, [], |r| r.get::<_, Vec<u8>>(0))?;
        stored
            .map(Zeroizing::new)
            .ok_or_else(|| Error::new(ErrorKind::Storage, "the master key is missing"))
    }
}
