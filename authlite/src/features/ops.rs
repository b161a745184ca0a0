//! Operations: status and integrity.

use std::path::Path;

use super::engine::Engine;
use crate::values::error::Result;
use crate::values::status::Status;

impl Engine {
    pub(crate) fn status(&self) -> Result<Status> {
        let now = self.now_ms();
        let mut status = self.store.snapshot(|conn| conn.status(now))?;
        status.wal_bytes = self.store.wal_bytes();
        Ok(status)
    }

    pub(crate) fn backup_to(&self, dest: &Path) -> Result<()> {
        self.store.backup_to(dest)
    }

    pub(crate) fn check_integrity(&self) -> Result<()> {
        self.store.read(|conn| conn.quick_check())
    }
}
