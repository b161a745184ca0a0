//! The store layer: every SQL statement of the engine, and the only place rusqlite is
//! used. This file holds the connection pool, per-connection pragmas, the in-process
//! writer lock, the change epoch that keeps in-process caches exact, and the three ways to
//! run statements: [`Store::read`] (one statement), [`Store::snapshot`] (several reads that
//! must agree, in one read transaction) and [`Store::write`] (`BEGIN IMMEDIATE`).
//!
//! Features see only [`Conn`] (reads) and [`WriteTx`] (reads and writes), whose methods
//! live in one file per aggregate (users, sessions, refresh, keys, roles, throttle, audit,
//! meta) and take and return plain values. A second backend implements these methods
//! (`Conn` then wraps either connection) without touching feature code.

mod api_keys;
mod audit;
mod keys;
mod meta;
mod mfa;
mod migrate;
mod one_time;
mod refresh;
mod roles;
mod scoped;
mod sessions;
mod status;
mod throttle;
mod users;
mod watch;

pub(crate) use api_keys::{ApiKeyState, NewKeyRow};

pub(crate) use audit::AuditLink;
pub(crate) use keys::KeyRow;
pub(crate) use meta::recorded_settings;
pub(crate) use one_time::{NewOneTime, OneTimeRow, Purpose};
pub(crate) use roles::RoleId;
pub(crate) use sessions::{Liveness, NewSession, TokenState};
pub(crate) use throttle::ThrottleState;
pub(crate) use users::{NewUserRow, UserFilter, UserKey};

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::config::DbConfig;
use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use scheduled_thread_pool::ScheduledThreadPool;

use crate::crypto::random;
use crate::values::config::{Config, Synchronous};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{ApiKeyId, SessionId, UserId};
use watch::{FileIdentity, WalIndex, Watch};

const WARM_UP: &str = "SELECT count(*) FROM meta";
const ENABLE_WAL: &str = "PRAGMA journal_mode = WAL";

/// Prepared statements kept per connection (rusqlite's default of 16 is too few for us).
const STATEMENT_CACHE: usize = 64;

/// The database, shared by every clone of one [`Auth`](crate::Auth).
pub(crate) struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// Serialises this process's writers so they queue here instead of spinning in SQLite's
    /// busy handler; `BEGIN IMMEDIATE` then only ever waits for other processes.
    writer: Mutex<()>,
    /// Bumped after every commit made through this store and whenever [`Store::observe`]
    /// sees that anyone else committed. Anything cached from the database is valid only
    /// while the epoch it was read at holds.
    epoch: AtomicU64,
    watch: Watch,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
    /// A connection held for the store's lifetime: keeps an in-memory database alive, and
    /// a file's `-shm` WAL index in place for [`Watch`].
    _anchor: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database, then builds the pool.
    pub(crate) fn open(config: &Config) -> Result<Store> {
        let (busy, sync) = (config.busy_timeout, config.synchronous);
        // After the bootstrap the database exists: no connection creates it again, so a
        // deleted file is an error rather than a fresh database that accepts nothing.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let (target, anchor) = if config.is_in_memory() {
            let uri = format!("file:/authlite-{}?vfs=memdb", random::token(16)?);
            let mut anchor =
                Connection::open_with_flags(&uri, flags | OpenFlags::SQLITE_OPEN_CREATE)
                    .map_err(|e| Error::storage("cannot create the in-memory database", e))?;
            configure(&anchor, busy, sync)?;
            migrate::migrate(&mut anchor)?;
            (PathBuf::from(uri), anchor)
        } else {
            bootstrap(&config.path, config.create_if_missing, busy, sync)?;
            let anchor = Connection::open_with_flags(&config.path, flags)
                .map_err(|e| Error::storage(format!("cannot open {}", config.path.display()), e))?;
            configure(&anchor, busy, sync)?;
            // A read transaction makes SQLite set up the WAL index the watch reads.
            anchor.query_row(WARM_UP, [], |_| Ok(()))?;
            (config.path.clone(), anchor)
        };
        let watch = if config.is_in_memory() {
            Watch::Memory
        } else {
            Watch::File {
                db: FileIdentity::of(&config.path)?,
                wal_index: WalIndex::open(&config.path)?,
            }
        };
        let manager = SqliteConnectionManager::file(&target)
            .with_flags(flags)
            .with_init(move |c| configure(c, busy, sync));
        let pool = r2d2::Pool::builder()
            .thread_pool(pool_threads())
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .idle_timeout(None)
            .max_lifetime(None)
            .test_on_check_out(false)
            .connection_timeout(busy.max(Duration::from_secs(1)))
            .build(manager)
            .map_err(|e| Error::storage("cannot build the connection pool", e))?;
        let epoch = AtomicU64::new(0);
        let store = Store {
            pool,
            writer: Mutex::new(()),
            epoch,
            watch,
            path: (!config.is_in_memory()).then(|| config.path.clone()),
            _anchor: Mutex::new(anchor),
        };
        store.read(|_| Ok(()))?;
        Ok(store)
    }

    /// The `-wal` file of the database, if it is a file.
    fn wal_path(&self) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        Some(PathBuf::from(wal))
    }

    /// The current change epoch (see the field's doc).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Makes the epoch reflect every commit anyone made before this call and returns it,
    /// after checking the file is still the one opened. `None` where foreign commits cannot
    /// be observed cheaply (then nothing may be served from a cache). No SQLite call.
    pub(crate) fn observe(&self) -> Result<Option<u64>> {
        self.watch.check_linked()?;
        self.watch.observe(&self.epoch)
    }

    /// A pooled connection, after the cheap check that the file was not deleted or
    /// replaced: connections to an unlinked file would keep using it unnoticed.
    fn checkout(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>> {
        self.watch.check_linked()?;
        Ok(self.pool.get()?)
    }

    /// Runs `f` on a pooled connection without a transaction: for a single statement,
    /// which SQLite runs on one snapshot by itself.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let conn = self.checkout()?;
        f(&Conn(&conn))
    }

    /// Runs `f` in one read transaction: every statement in it sees the same snapshot, so
    /// reads that must agree cannot straddle another connection's commit.
    pub(crate) fn snapshot<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.checkout()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&Conn(&tx))?;
        tx.finish()?;
        Ok(out)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction behind the process-wide writer lock and
    /// commits if `f` returns `Ok`. Any error rolls everything back.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let _writer = self.writer.lock();
        self.watch.check_path()?; // includes the link check of `checkout`
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&WriteTx(Conn(&tx)))?;
        tx.commit()?;
        self.epoch.fetch_add(1, Ordering::SeqCst);
        Ok(out)
    }
}

/// A connection to read through: a pooled connection or an open transaction.
pub(crate) struct Conn<'c>(&'c Connection);

/// A write transaction (`BEGIN IMMEDIATE`): everything [`Conn`] reads, plus the writes.
pub(crate) struct WriteTx<'c>(Conn<'c>);

impl WriteTx<'_> {
    /// The rowid of the last `INSERT` in this transaction.
    fn last_id(&self) -> i64 {
        self.0.0.last_insert_rowid()
    }
}

impl<'c> Deref for WriteTx<'c> {
    type Target = Conn<'c>;
    fn deref(&self) -> &Conn<'c> {
        &self.0
    }
}

impl Conn<'_> {
    /// Whether `sql` (a `SELECT 1 ...`) returns a row.
    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
        Ok(self.0.prepare_cached(sql)?.query_row(params, |_| Ok(())).optional()?.is_some())
    }

    /// Runs one change statement; how many rows it touched.
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        Ok(self.0.prepare_cached(sql)?.execute(params)?)
    }

    /// One optional row.
    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.0.prepare_cached(sql)?.query_row(params, map).optional()?)
    }

    /// Every row.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let rows = stmt.query_map(params, map)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::storage("database error", e)
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::storage("database connection unavailable", e)
    }
}

/// Ids are stored as their integers.
macro_rules! sql_id {
    ($($id:ident),*) => {$(
        impl ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }
        impl FromSql for $id {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($id)
            }
        }
    )*};
}
sql_id!(UserId, SessionId, ApiKeyId);

/// The helper threads r2d2 opens connections on: two for the whole process, however many
/// engines it opens (r2d2 would start three per pool).
fn pool_threads() -> Arc<ScheduledThreadPool> {
    static THREADS: OnceLock<Arc<ScheduledThreadPool>> = OnceLock::new();
    let build = || {
        let threads = ScheduledThreadPool::builder().num_threads(2);
        Arc::new(threads.thread_name_pattern("authlite-pool-{}").build())
    };
    THREADS.get_or_init(build).clone()
}

/// Creates the file if missing (and allowed), refuses a file authlite did not make before
/// changing a byte of it, turns on WAL once, and migrates, on a single connection before
/// the pool exists (setting WAL from several new connections at once races).
fn bootstrap(path: &Path, create: bool, busy: Duration, sync: Synchronous) -> Result<()> {
    if !create {
        // An empty file is no database either: SQLite would quietly make one in it.
        let len = std::fs::metadata(path).map(|m| m.len()).ok();
        if len.is_none_or(|len| len == 0) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no database at {} (and creating one was not asked for)", path.display()),
            ));
        }
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::storage(format!("cannot open {}", path.display()), e))?;
    configure(&conn, busy, sync)?;
    migrate::refuse_foreign(&conn)
        .map_err(|e| Error::storage(format!("{} is not a usable database", path.display()), e))??;
    let mode: String = conn
        .query_row(ENABLE_WAL, [], |r| r.get(0))
        .map_err(|e| Error::storage(format!("{} is not a usable database", path.display()), e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::new(
            ErrorKind::Storage,
            format!("cannot enable WAL on {} (journal mode {mode})", path.display()),
        ));
    }
    migrate::migrate(&mut conn)
}

/// Per-connection setup: busy timeout first (so the rest can wait for locks), then
/// foreign keys, durability, secure deletion, and the query planner stability guarantee
/// that stops SQLite from re-preparing cached statements whose plan depends on bound values.
fn configure(c: &Connection, busy: Duration, sync: Synchronous) -> rusqlite::Result<()> {
    c.busy_timeout(busy)?;
    c.pragma_update(None, "foreign_keys", true)?;
    let level = match sync {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    c.pragma_update(None, "synchronous", level)?;
    c.pragma_update(None, "trusted_schema", false)?;
    // Deleted content (a replaced password hash, a spent token's hash, a deleted user) is
    // overwritten with zeros instead of lingering in the file's free space.
    c.pragma_update(None, "secure_delete", true)?;
    c.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}
