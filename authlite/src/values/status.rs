//! [`Status`]: what `Auth::status` reports about a database.

use serde::Serialize;

/// A cheap, read-only summary of a database, for health checks and operators. Counts are
/// read on one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The schema version (`PRAGMA user_version`).
    pub schema_version: u64,
    /// Accounts, active or not.
    pub users: u64,
    /// Sessions neither revoked nor expired now.
    pub live_sessions: u64,
    /// API keys neither revoked nor expired now.
    pub api_keys: u64,
    /// Signing keys that are not retired.
    pub signing_keys: u64,
    /// Rows in the audit trail.
    pub audit_rows: u64,
    /// Size of the database file's pages, in bytes.
    pub db_bytes: u64,
    /// Size of the write-ahead log, in bytes (0 for an in-memory database).
    pub wal_bytes: u64,
}
