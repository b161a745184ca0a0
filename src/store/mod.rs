//! The SQLite store: connection pool, per-connection pragmas, migrations, the in-process
//! writer lock, and the change epoch that keeps in-process caches exact.

mod migrate;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::config::{Config, Synchronous};
use crate::error::{Error, ErrorKind, Result};

const DATA_VERSION: &str = "PRAGMA data_version";
/// Prepared statements kept per connection (rusqlite's default of 16 is too few for us).
const STATEMENT_CACHE: usize = 64;

/// The database, shared by every clone of one [`Auth`](crate::Auth).
pub(crate) struct Store {
    pool: r2d2::Pool<Manager>,
    /// Serialises this process's writers so they queue here instead of spinning in SQLite's
    /// busy handler; `BEGIN IMMEDIATE` then only ever waits for other processes.
    writer: Mutex<()>,
    /// Bumped after every commit made through this store and whenever any connection sees
    /// that another connection or process committed (`PRAGMA data_version` moved).
    /// Anything cached from the database is valid only while the epoch it was read at holds.
    epoch: AtomicU64,
    /// The file the pool must keep talking to; `None` in memory or where unsupported.
    file: Option<FileIdentity>,
    /// Keeps a private in-memory database alive while pooled connections come and go.
    _anchor: Option<Mutex<Connection>>,
}

/// A pooled connection plus what it last saw of `PRAGMA data_version`.
pub(crate) struct Conn {
    db: Connection,
    seen_data_version: Option<i64>,
}

impl Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.db
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.db
    }
}

struct Manager(SqliteConnectionManager);

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Conn, rusqlite::Error> {
        self.0.connect().map(|db| Conn { db, seen_data_version: None })
    }

    fn is_valid(&self, _conn: &mut Conn) -> Result<(), rusqlite::Error> {
        Ok(())
    }

    fn has_broken(&self, _conn: &mut Conn) -> bool {
        false
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database, then builds the pool.
    pub(crate) fn open(config: &Config) -> Result<Store> {
        let (target, anchor) = if config.is_in_memory() {
            let uri = format!("file:/authlite-{}?vfs=memdb", crate::random::token(16)?);
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let mut anchor = Connection::open_with_flags(&uri, flags)
                .map_err(|e| Error::storage("cannot create the in-memory database", e))?;
            configure(&anchor, config.busy_timeout, config.synchronous)?;
            migrate::migrate(&mut anchor)?;
            (PathBuf::from(uri), Some(Mutex::new(anchor)))
        } else {
            bootstrap(&config.path, config.busy_timeout, config.synchronous)?;
            (config.path.clone(), None)
        };

        // After the bootstrap the database exists: pooled connections never create it again,
        // so a deleted file is an error rather than a fresh database that accepts nothing.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let (busy, sync) = (config.busy_timeout, config.synchronous);
        let manager = SqliteConnectionManager::file(&target)
            .with_flags(flags)
            .with_init(move |c| configure(c, busy, sync));
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .idle_timeout(None)
            .max_lifetime(None)
            .test_on_check_out(false)
            .connection_timeout(config.busy_timeout.max(Duration::from_secs(1)))
            .build(Manager(manager))
            .map_err(|e| Error::storage("cannot build the connection pool", e))?;
        let file = if anchor.is_some() { None } else { FileIdentity::of(&config.path)? };
        let store =
            Store { pool, writer: Mutex::new(()), epoch: AtomicU64::new(0), file, _anchor: anchor };
        store.read(|_| Ok(()))?;
        Ok(store)
    }

    /// The current change epoch (see the field's doc).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// A pooled connection, after the cheap check that the file was not deleted or
    /// replaced: connections to an unlinked file would keep using it unnoticed.
    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>> {
        if let Some(file) = &self.file {
            file.check_linked()?;
        }
        Ok(self.pool.get()?)
    }

    /// Runs `f` on a pooled connection (reads; no transaction is opened).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.checkout()?;
        f(&conn)
    }

    /// Runs `f` on a pooled connection it may pass to [`Store::observe`].
    pub(crate) fn read_conn<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.checkout()?;
        f(&mut conn)
    }

    /// Makes the epoch reflect every commit any other connection or process made before
    /// this call (one `PRAGMA data_version` on `conn`), and returns it.
    pub(crate) fn observe(&self, conn: &mut Conn) -> Result<u64> {
        let version: i64 = conn.prepare_cached(DATA_VERSION)?.query_row([], |r| r.get(0))?;
        if conn.seen_data_version != Some(version) {
            // A connection new to us has no baseline: assume something changed.
            conn.seen_data_version = Some(version);
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        Ok(self.epoch())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction behind the process-wide writer lock and
    /// commits if `f` returns `Ok`. Any error rolls everything back.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let _writer = self.writer.lock();
        if let Some(file) = &self.file {
            file.check_path()?;
        }
        let mut conn = self.checkout()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        self.epoch.fetch_add(1, Ordering::SeqCst);
        Ok(out)
    }
}

/// Whether `sql` (a `SELECT 1 ...`) returns a row.
pub(crate) fn exists(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(conn.prepare_cached(sql)?.query_row(params, |_| Ok(())).optional()?.is_some())
}

/// Creates the file if missing, turns on WAL once, and migrates, on a single connection
/// before the pool exists (setting WAL from several new connections at once races).
fn bootstrap(path: &Path, busy: Duration, sync: Synchronous) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::storage(format!("cannot open {}", path.display()), e))?;
    configure(&conn, busy, sync)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
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
/// foreign keys, durability, and the query planner stability guarantee that stops SQLite
/// from re-preparing cached statements whose plan depends on bound values.
fn configure(c: &Connection, busy: Duration, sync: Synchronous) -> rusqlite::Result<()> {
    c.busy_timeout(busy)?;
    c.pragma_update(None, "foreign_keys", true)?;
    let level = match sync {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    c.pragma_update(None, "synchronous", level)?;
    c.pragma_update(None, "trusted_schema", false)?;
    c.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Which file the database is, so a file deleted, moved or swapped behind the engine's back
/// is noticed: open connections would otherwise keep using the old, unlinked file while
/// other processes use a new one at the path.
struct FileIdentity {
    path: PathBuf,
    /// Kept open to ask cheaply (fstat) whether the file still has a name.
    handle: std::fs::File,
    id: (u64, u64),
}

impl FileIdentity {
    #[cfg(unix)]
    fn of(path: &Path) -> Result<Option<FileIdentity>> {
        use std::os::unix::fs::MetadataExt;
        let handle = std::fs::File::open(path)
            .map_err(|e| Error::storage("cannot open the database file", e))?;
        let meta = handle.metadata().map_err(|e| Error::storage("cannot stat the database", e))?;
        let identity =
            FileIdentity { path: path.to_path_buf(), handle, id: (meta.dev(), meta.ino()) };
        identity.check_path()?;
        Ok(Some(identity))
    }

    #[cfg(not(unix))]
    fn of(_path: &Path) -> Result<Option<FileIdentity>> {
        Ok(None)
    }

    /// Every operation: the file still has a link (not deleted or renamed over). One fstat.
    #[cfg(unix)]
    fn check_linked(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta =
            self.handle.metadata().map_err(|e| Error::storage("cannot stat the database", e))?;
        if meta.nlink() == 0 { Err(replaced()) } else { Ok(()) }
    }

    /// Writes: the path still names this very file (also catches a file moved away with
    /// another put in its place). One stat of the path.
    #[cfg(unix)]
    fn check_path(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| Error::storage("the database file is missing", e))?;
        if (meta.dev(), meta.ino()) == self.id { self.check_linked() } else { Err(replaced()) }
    }

    #[cfg(not(unix))]
    fn check_linked(&self) -> Result<()> {
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_path(&self) -> Result<()> {
        Ok(())
    }
}

fn replaced() -> Error {
    Error::new(ErrorKind::Storage, "the database file was deleted or replaced; reopen the engine")
}
