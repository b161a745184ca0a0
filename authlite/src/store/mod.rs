//! The store layer: every SQL statement of the engine, and the only place a database
//! client (rusqlite, and `postgres` behind the feature of that name) is used. This file
//! holds the [`Store`] over either backend, the change epoch that keeps in-process caches
//! exact, and the three ways to run statements: [`Store::read`] (one statement),
//! [`Store::snapshot`] (several reads that must agree, on one snapshot) and
//! [`Store::write`] (one serialised write transaction).
//!
//! Features see only [`Conn`] (reads) and [`WriteTx`] (reads and writes), whose methods
//! live in one file per aggregate (users, sessions, refresh, keys, roles, throttle, audit,
//! meta, ...) and take and return plain values. Those files write each statement once
//! against [`sql`]'s neutral arguments and rows; the backend modules run them: `sqlite/`
//! and `postgres/` are the only ones that name a database client.

mod api_keys;
mod audit;
mod identities;
mod keys;
mod meta;
mod mfa;
mod migrate;
mod one_time;
mod organizations;
mod passkeys;
#[cfg(feature = "postgres")]
mod postgres;
mod refresh;
mod roles;
mod scoped;
mod sessions;
pub(crate) mod sql;
mod sqlite;
mod status;
mod throttle;
mod users;

pub(crate) use api_keys::{ApiKeyState, NewKeyRow};

pub(crate) use audit::AuditLink;
pub(crate) use identities::{Flow, FlowKind, FlowRow, NewIdentity};
pub(crate) use keys::KeyRow;
pub(crate) use meta::recorded_settings;
pub(crate) use one_time::{NewOneTime, OneTimeRow, Purpose};
pub(crate) use organizations::NewInvitation;
pub(crate) use passkeys::{Ceremony, CeremonyKind, CeremonyRow, NewPasskey, PasskeyRow};
pub(crate) use roles::RoleId;
pub(crate) use scoped::ScopedState;
pub(crate) use sessions::{Liveness, NewSession, TokenState};
pub(crate) use throttle::ThrottleState;
pub(crate) use users::{NewUserRow, UserFilter, UserKey};

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use scheduled_thread_pool::ScheduledThreadPool;

use sql::{Row, Sql, Value};

use crate::values::config::{Config, Target};
use crate::values::error::Result;

/// The database, shared by every clone of one [`Auth`](crate::Auth).
pub(crate) struct Store {
    backend: Backend,
    /// Bumped after every commit made through this store and whenever [`Store::observe`]
    /// sees that anyone else committed. Anything cached from the database is valid only
    /// while the epoch it was read at holds.
    epoch: AtomicU64,
}

// One per engine, never moved after open: the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    #[cfg(feature = "postgres")]
    Postgres(postgres::Postgres),
}

impl Store {
    /// Opens (creating if needed) and migrates the database, then builds the pool.
    pub(crate) fn open(config: &Config) -> Result<Store> {
        let backend = match config.target() {
            Target::Memory | Target::File(_) => Backend::Sqlite(sqlite::Sqlite::open(config)?),
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => Backend::Postgres(postgres::Postgres::open(url, config)?),
            #[cfg(not(feature = "postgres"))]
            Target::Postgres(url) => return Err(pg_unavailable(url)),
        };
        Ok(Store { backend, epoch: AtomicU64::new(0) })
    }

    /// The SQLite backend, unless this is PostgreSQL.
    fn sqlite(&self) -> Option<&sqlite::Sqlite> {
        match &self.backend {
            Backend::Sqlite(s) => Some(s),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => None,
        }
    }

    /// Whether [`Store::observe`] can see every commit, so that something read from the
    /// database may be cached: SQLite, and PostgreSQL with `postgres_staleness`.
    pub(crate) fn observes_commits(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => true,
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.caches(),
        }
    }

    /// The current change epoch (see the field's doc).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Makes the epoch reflect every commit anyone made before this call and returns it,
    /// after checking the database is still the one opened. `None` when foreign commits
    /// cannot be vouched for now (then nothing may be served from a cache): on PostgreSQL
    /// without `postgres_staleness`, or when its change counter was not confirmed within
    /// the bound (`store/postgres/freshness.rs`).
    pub(crate) fn observe(&self) -> Result<Option<u64>> {
        match &self.backend {
            Backend::Sqlite(s) => s.observe(&self.epoch),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => Ok(p.observe(&self.epoch)),
        }
    }

    /// Runs `f` on a pooled connection without a transaction: for a single statement,
    /// which runs on one snapshot by itself.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(s) => s.read(f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.read(f),
        }
    }

    /// Runs `f` in one read transaction: every statement in it sees the same snapshot, so
    /// reads that must agree cannot straddle another connection's commit.
    pub(crate) fn snapshot<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(s) => s.snapshot(f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.snapshot(f),
        }
    }

    /// Runs `f` in one write transaction and commits if `f` returns `Ok`; any error rolls
    /// everything back. Write transactions are serialised across every connection,
    /// process and machine (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped
    /// advisory lock), so what `f` reads cannot change before it commits.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let out = match &self.backend {
            Backend::Sqlite(s) => s.write(f)?,
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.write(&self.epoch, f)?,
        };
        self.epoch.fetch_add(1, Ordering::SeqCst);
        // Take note of the WAL-index header this commit left, so that the next cache hit
        // does not take it for another process's commit and drop every entry filled since
        // (a second round of misses per write). Observing bumps the epoch again, which also
        // covers any foreign commit just before it. An error here is met again, and fails
        // closed, at the next hit.
        let _ = self.observe();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Store;
    use crate::values::config::Config;

    #[test]
    fn a_commit_of_this_store_is_not_taken_for_a_foreign_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Config::new(dir.path().join("epoch.db"))).unwrap();
        store.write(|tx| tx.create_role("clerk", 0)).unwrap();
        let epoch = store.epoch();
        assert_eq!(store.observe().unwrap(), Some(epoch), "entries filled now stay valid");
    }
}

/// The error for a PostgreSQL URL in a build without the backend.
#[cfg(not(feature = "postgres"))]
fn pg_unavailable(url: &str) -> crate::values::error::Error {
    let url = Config::new(url).location();
    crate::values::error::Error::new(
        crate::values::error::ErrorKind::Config,
        format!("{url}: a PostgreSQL database needs authlite built with the `postgres` feature"),
    )
}

/// A connection to read through: a pooled connection or an open transaction.
pub(crate) struct Conn<'c>(Link<'c>);

#[derive(Clone, Copy)]
enum Link<'c> {
    Sqlite(&'c sqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(&'c postgres::PgConn),
}

/// A write transaction: everything [`Conn`] reads, plus the writes.
pub(crate) struct WriteTx<'c> {
    conn: Conn<'c>,
    /// Set by a statement that takes access away ([`WriteTx::revoke`]): the commit must be
    /// on stable storage before the call returns, whatever `synchronous` says.
    takes_access_away: std::cell::Cell<bool>,
    /// The audit chain's head as this transaction leaves it, once known (`None`: not yet).
    chain_head: std::cell::RefCell<Option<Option<audit::AuditLink>>>,
}

impl<'c> Deref for WriteTx<'c> {
    type Target = Conn<'c>;
    fn deref(&self) -> &Conn<'c> {
        &self.conn
    }
}

impl Conn<'_> {
    /// Runs `sql` and calls `visit` on each row until it returns `false`: the one way rows
    /// are read, on either backend.
    fn each(
        &self,
        sql: impl Into<Sql>,
        args: &[Value<'_>],
        visit: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let sql = sql.into();
        match self.0 {
            Link::Sqlite(c) => sqlite::each(c, sql.sqlite, args, visit),
            #[cfg(feature = "postgres")]
            Link::Postgres(s) => s.each(sql.postgres, args, visit),
        }
    }

    /// Runs a change statement whose row count nobody reads. On PostgreSQL, inside a write
    /// transaction, it goes in one round trip with the next statement whose answer is
    /// needed, or with the commit; an error then fails that later call (and the whole
    /// transaction, as it would have anyway).
    fn run_pipelined(&self, sql: impl Into<Sql>, args: &[Value<'_>]) -> Result<()> {
        let sql = sql.into();
        match self.0 {
            Link::Sqlite(c) => sqlite::run(c, sql.sqlite, args).map(drop),
            #[cfg(feature = "postgres")]
            Link::Postgres(s) => s.run_pipelined(sql.postgres, args),
        }
    }

    /// Runs one change statement; how many rows it touched.
    fn run(&self, sql: impl Into<Sql>, args: &[Value<'_>]) -> Result<usize> {
        let sql = sql.into();
        match self.0 {
            Link::Sqlite(c) => sqlite::run(c, sql.sqlite, args),
            #[cfg(feature = "postgres")]
            Link::Postgres(s) => s.run(sql.postgres, args),
        }
    }

    /// In a PostgreSQL write transaction, reads `sql` (no arguments) in the round trip that
    /// begins it, for [`Conn::prefetched`]; nothing elsewhere.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    fn prefetch(&self, sql: impl Into<Sql>) -> Result<()> {
        let sql = sql.into();
        match self.0 {
            Link::Sqlite(_) => {
                let _ = sql;
                Ok(())
            }
            #[cfg(feature = "postgres")]
            Link::Postgres(s) => s.prefetch(sql.postgres),
        }
    }

    /// The rows of the prefetch, each through `map`, once; `None` without one (then read).
    fn prefetched<T>(&self, map: impl FnMut(&Row<'_>) -> Result<T>) -> Result<Option<Vec<T>>> {
        match self.0 {
            Link::Sqlite(_) => {
                let _ = map;
                Ok(None)
            }
            #[cfg(feature = "postgres")]
            Link::Postgres(s) => {
                let mut map = map;
                let Some(rows) = s.take_prefetched()? else { return Ok(None) };
                rows.iter().map(|r| map(&Row(r))).collect::<Result<Vec<T>>>().map(Some)
            }
        }
    }

    /// Whether `sql` (a `SELECT 1 ...`) returns a row.
    fn exists(&self, sql: impl Into<Sql>, args: &[Value<'_>]) -> Result<bool> {
        Ok(self.row(sql, args, |_| Ok(()))?.is_some())
    }

    /// The first row, if any.
    fn row<T>(
        &self,
        sql: impl Into<Sql>,
        args: &[Value<'_>],
        map: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut map = Some(map);
        let mut out = None;
        self.each(sql, args, |r| {
            if let Some(map) = map.take() {
                out = Some(map(r)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// Every row.
    fn rows<T>(
        &self,
        sql: impl Into<Sql>,
        args: &[Value<'_>],
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, |r| {
            out.push(map(r)?);
            Ok(true)
        })?;
        Ok(out)
    }
}

impl<'c> WriteTx<'c> {
    fn new(conn: Conn<'c>) -> WriteTx<'c> {
        WriteTx {
            conn,
            takes_access_away: std::cell::Cell::new(false),
            chain_head: std::cell::RefCell::new(None),
        }
    }

    /// Whether a statement of this transaction took access away (DESIGN §4: logout, every
    /// revocation, password change and reset, deactivation, deletion, key retirement, role
    /// and grant removal, factor removal, redeeming a one-time token or code): the backend
    /// then makes its commit durable before returning.
    fn takes_access_away(&self) -> bool {
        self.takes_access_away.get()
    }

    /// [`Conn::run`] for a statement that takes access away (see
    /// [`WriteTx::takes_access_away`]): the one way such a statement is run.
    fn revoke(&self, sql: impl Into<Sql>, args: &[Value<'_>]) -> Result<usize> {
        self.takes_access_away.set(true);
        self.run(sql, args)
    }

    /// Runs an `INSERT ... RETURNING id`; the new row's id.
    fn insert(&self, sql: impl Into<Sql>, args: &[Value<'_>]) -> Result<i64> {
        self.row(sql, args, |r| r.get(0))?.ok_or_else(|| sql::malformed("INSERT result"))
    }
}

/// The helper threads r2d2 opens connections on (either backend): two for the whole
/// process, however many engines it opens (r2d2 would start three per pool).
fn pool_threads() -> Arc<ScheduledThreadPool> {
    static THREADS: OnceLock<Arc<ScheduledThreadPool>> = OnceLock::new();
    let build = || {
        let threads = ScheduledThreadPool::builder().num_threads(2);
        Arc::new(threads.thread_name_pattern("authlite-pool-{}").build())
    };
    THREADS.get_or_init(build).clone()
}
