//! The SQLite backend, and the only module besides `postgres/` that names a database
//! client: the connection pool, per-connection pragmas, the in-process writer lock, the
//! file watch that keeps in-process caches exact (`watch.rs`), statement execution and
//! value conversion, the schema's migration steps (`migrate.rs`), the read-only opener of
//! `recorded_settings`, and the online backup.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use parking_lot::Mutex;
use r2d2_sqlite::SqliteConnectionManager;
pub(super) use rusqlite::Connection;
use rusqlite::config::DbConfig;
use rusqlite::{OpenFlags, TransactionBehavior};

mod migrate;
mod watch;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};

use super::sql::{Cells, Row, Value};
use super::{Conn, Link, WriteTx};
use crate::crypto::random;
use crate::values::config::{Config, Synchronous, Target};
use crate::values::error::{Error, ErrorKind, Result};
use watch::{FileIdentity, WalIndex, Watch};

const WARM_UP: &str = "SELECT count(*) FROM meta";
const ENABLE_WAL: &str = "PRAGMA journal_mode = WAL";

/// Prepared statements kept per connection (rusqlite's default of 16 is too few for us).
const STATEMENT_CACHE: usize = 64;

/// An SQLite database file (or private in-memory database).
pub(super) struct Sqlite {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// Serialises this process's writers so they queue here instead of spinning in SQLite's
    /// busy handler; `BEGIN IMMEDIATE` then only ever waits for other processes.
    writer: Mutex<()>,
    watch: Watch,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
    /// `Config::synchronous`: under `Normal`, a commit that takes access away is synced
    /// explicitly ([`Sqlite::sync_wal`]).
    synchronous: Synchronous,
    /// A connection held for the store's lifetime: keeps an in-memory database alive, and
    /// a file's `-shm` WAL index in place for [`Watch`].
    _anchor: Mutex<Connection>,
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database, then builds the pool.
    pub(super) fn open(config: &Config) -> Result<Sqlite> {
        let (busy, sync) = (config.busy_timeout, config.synchronous);
        // After the bootstrap the database exists: no connection creates it again, so a
        // deleted file is an error rather than a fresh database that accepts nothing.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let in_memory = config.target() == Target::Memory;
        let (target, anchor) = if in_memory {
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
        let watch = if in_memory {
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
            .thread_pool(super::pool_threads())
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .idle_timeout(None)
            .max_lifetime(None)
            .test_on_check_out(false)
            .connection_timeout(busy.max(Duration::from_secs(1)))
            .build(manager)
            .map_err(|e| Error::storage("cannot build the connection pool", e))?;
        let store = Sqlite {
            pool,
            writer: Mutex::new(()),
            watch,
            path: (!in_memory).then(|| config.path.clone()),
            synchronous: sync,
            _anchor: Mutex::new(anchor),
        };
        store.read(|_| Ok(()))?;
        Ok(store)
    }

    /// Bumps `epoch` if anyone committed since the last call (see [`Watch`]).
    pub(super) fn observe(&self, epoch: &AtomicU64) -> Result<Option<u64>> {
        self.watch.check_linked_lately()?;
        self.watch.observe(epoch)
    }

    /// Copies the whole database, as of one moment, to a new file at `dest` with SQLite's
    /// online backup API (writers are not stopped).
    pub(super) fn backup_to(&self, dest: &Path) -> Result<()> {
        let source = self.checkout()?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        create_private(dest)?;
        let mut copy = Connection::open_with_flags(dest, flags)
            .map_err(|e| Error::storage(format!("cannot create {}", dest.display()), e))?;
        // All pages in one step: one read snapshot of the source, so the copy is consistent.
        let step = Backup::new(&source, &mut copy)?.step(-1)?;
        if step != StepResult::Done {
            return Err(Error::new(ErrorKind::Storage, "the backup did not complete; try again"));
        }
        copy.close().map_err(|(_, e)| Error::storage("cannot finish the backup file", e))?;
        Ok(())
    }

    /// Puts what this connection just committed on stable storage: `synchronous=NORMAL`
    /// appends a commit to the WAL without syncing it, so the WAL is synced here (what
    /// `FULL` does at every commit). A checkpoint that has since moved the frames into the
    /// database synced the database first, and it only restarts the WAL after that.
    /// Called with the writer lock still held.
    fn sync_wal(&self) -> Result<()> {
        let Some(wal) = self.wal_path() else { return Ok(()) };
        match std::fs::File::open(wal).and_then(|f| f.sync_data()) {
            // No WAL: the last checkpoint moved every frame into the (synced) database.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            done => done.map_err(|e| Error::storage("committed, but could not be synced", e)),
        }
    }

    /// Size of the `-wal` file in bytes; 0 when there is none (in memory).
    pub(super) fn wal_bytes(&self) -> u64 {
        self.wal_path().and_then(|wal| std::fs::metadata(wal).ok()).map_or(0, |m| m.len())
    }

    /// The `-wal` file beside the database; `None` in memory.
    fn wal_path(&self) -> Option<PathBuf> {
        let mut wal = self.path.as_ref()?.clone().into_os_string();
        wal.push("-wal");
        Some(PathBuf::from(wal))
    }

    /// A pooled connection, after the cheap check that the file was not deleted or
    /// replaced: connections to an unlinked file would keep using it unnoticed.
    pub(super) fn checkout(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>> {
        self.watch.check_linked()?;
        Ok(self.pool.get()?)
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let conn = self.checkout()?;
        f(&Conn(Link::Sqlite(&conn)))
    }

    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.checkout()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&Conn(Link::Sqlite(&tx)))?;
        tx.finish()?;
        Ok(out)
    }

    /// `BEGIN IMMEDIATE` behind the process-wide writer lock.
    pub(super) fn write<T>(&self, f: impl FnOnce(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let _writer = self.writer.lock();
        self.watch.check_path()?; // includes the link check of `checkout`
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let write = WriteTx::new(Conn(Link::Sqlite(&tx)));
        let out = f(&write)?;
        let durable = write.takes_access_away();
        tx.commit()?;
        if durable && self.synchronous == Synchronous::Normal {
            self.sync_wal()?;
        }
        Ok(out)
    }
}

/// The values of `keys` in the `meta` table of the file at `path`, through a read-only
/// connection (nothing is created or written).
pub(super) fn recorded_settings(path: &Path, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
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

/// Runs `sql` and calls `visit` on each row until it returns `false`.
pub(super) fn each(
    c: &Connection,
    sql: &str,
    args: &[Value<'_>],
    mut visit: impl FnMut(&Row<'_>) -> Result<bool>,
) -> Result<()> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        if !visit(&Row(r))? {
            break;
        }
    }
    Ok(())
}

/// Runs one change statement; how many rows it touched.
pub(super) fn run(c: &Connection, sql: &str, args: &[Value<'_>]) -> Result<usize> {
    Ok(c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(args))?)
}

impl Cells for rusqlite::Row<'_> {
    fn cell(&self, i: usize) -> std::result::Result<Value<'_>, String> {
        Ok(match self.get_ref(i).map_err(|e| e.to_string())? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(_) => return Err("a real number".to_owned()),
            ValueRef::Text(t) => Value::Text(std::str::from_utf8(t).map_err(|e| e.to_string())?),
            ValueRef::Blob(b) => Value::Blob(b),
        })
    }

    fn column_name(&self, i: usize) -> Option<&str> {
        self.as_ref().column_name(i).ok()
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(v),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
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

/// Makes `path` an empty file readable and writable by its owner only (0600 on unix, whatever
/// the umask) unless it exists; SQLite then gives its `-wal` and `-shm` the same mode. The
/// file holds the signing and master keys.
fn create_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        match options.write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::storage(format!("cannot create {}", path.display()), e)),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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
        create_private(path)?;
    }
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::storage(format!("cannot open {}", path.display()), e))?;
    let unusable = |e| Error::storage(format!("{} is not a usable database", path.display()), e);
    configure(&conn, busy, sync).map_err(unusable)?;
    migrate::refuse_foreign(&conn, path)?;
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
