//! The PostgreSQL backend (feature `postgres`), and the only module besides `sqlite/` that
//! names a database client: a pool of synchronous clients, each with its own prepared
//! statements, value conversion, the transactions that give SQLite's guarantees across
//! machines, and the schema in PostgreSQL's dialect (`schema.postgres.sql`).
//!
//! Isolation, and what each choice guarantees:
//! - A write transaction is `READ COMMITTED` and first takes one transaction-scoped
//!   advisory lock (`pg_advisory_xact_lock`), so writers run one at a time across every
//!   connection and machine, exactly as `BEGIN IMMEDIATE` makes them on SQLite; every
//!   statement of a writer therefore sees every commit before it and nothing can commit
//!   between its read and its write. That is what gives one winner per refresh token and
//!   per one-time token (the spend is a read of `spent_at` then a conditional update),
//!   lockout counters that cannot overshoot (read-modify-write of the throttle row), a
//!   single unforked audit chain (each row's MAC covers the previous row), and unique
//!   usernames by confusable skeleton (a read, then the insert).
//! - A snapshot read is `REPEATABLE READ READ ONLY`: its statements see one snapshot.
//! - A single read runs alone in autocommit: one statement, one snapshot.
//! - There is no validation cache: another machine's commit leaves no local trace, so
//!   nothing read from the database may be served again ([`Store::observe`] is `None`).

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};

use super::migrate;
use super::sql::{Cells, Row, Value};
use super::{Conn, Link, WriteTx};
use crate::values::config::Config;
use crate::values::error::{Error, ErrorKind, Result};

/// The full current schema in PostgreSQL's dialect, in `-- @version N` sections.
const SCHEMA: &str = include_str!("../../../../schema.postgres.sql");

/// Every write transaction holds one advisory lock, 7022647185798427749 =
/// 0x61757468_6c697465, "authlite" in ASCII. Advisory locks are per database: engines on
/// different schemas of one database share it (their writes queue together, nothing more).
const BEGIN_WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; \
     SELECT pg_advisory_xact_lock(7022647185798427749)";
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
const COMMIT: &str = "COMMIT";
/// For a transaction that takes access away: its commit waits for the WAL flush.
const DURABLE_COMMIT: &str = "SET LOCAL synchronous_commit = on";
const ROLLBACK: &str = "ROLLBACK";

const HAS_SCHEMA: &str = "SELECT to_regclass('schema_version') IS NOT NULL";
const SCHEMA_VERSION: &str = "SELECT max(version) FROM schema_version";
/// A database with a `meta` table but no version table was not made by this code.
const HAS_META: &str = "SELECT to_regclass('meta') IS NOT NULL";
const SET_VERSION: &str = "UPDATE schema_version SET version = $1";
const META_VALUE: &str = "SELECT value FROM meta WHERE key = $1";

/// A PostgreSQL database.
pub(super) struct Postgres {
    pool: r2d2::Pool<Manager>,
    /// This process's writers queue here, not while holding a pooled connection in the
    /// advisory lock's queue (which would starve readers of connections).
    writer: Mutex<()>,
}

impl Postgres {
    /// Connects, creates or upgrades the schema (under an advisory lock, so several
    /// machines starting at once queue), and builds the pool.
    pub(super) fn open(url: &str, config: &Config) -> Result<Postgres> {
        let mut settings = parse(url)?;
        settings.connect_timeout(config.busy_timeout.max(Duration::from_secs(1)));
        let manager = Manager { settings, lock_timeout: config.busy_timeout };
        let first = r2d2::ManageConnection::connect(&manager)?;
        migrate_pg(&first, config.create_if_missing)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .thread_pool(super::pool_threads())
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(config.busy_timeout.max(Duration::from_secs(1)))
            .build(manager)
            .map_err(|e| Error::storage("cannot build the PostgreSQL connection pool", e))?;
        Ok(Postgres { pool, writer: Mutex::new(()) })
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        f(&Conn(Link::Postgres(&conn)))
    }

    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        let tx = Transaction::begin(&conn, BEGIN_SNAPSHOT)?;
        let out = f(&Conn(Link::Postgres(&conn)))?;
        tx.commit()?;
        Ok(out)
    }

    pub(super) fn write<T>(&self, f: impl FnOnce(&WriteTx<'_>) -> Result<T>) -> Result<T> {
        let _writer = self.writer.lock();
        let conn = self.pool.get()?;
        let tx = Transaction::begin(&conn, BEGIN_WRITE)?;
        let write = WriteTx::new(Conn(Link::Postgres(&conn)));
        let out = f(&write)?;
        if write.takes_access_away() {
            // Durable on return even where the server relaxed it (`synchronous_commit=off`).
            write.run(DURABLE_COMMIT, &[])?;
        }
        tx.commit()?;
        Ok(out)
    }
}

/// Brings the schema to the latest version in one transaction behind the writer lock, so
/// several machines starting at once queue.
fn migrate_pg(conn: &PgConn, create: bool) -> Result<()> {
    let tx = Transaction::begin(conn, BEGIN_WRITE)?;
    let mut session = conn.inner()?;
    migrate::upgrade(&mut Hooks(&mut session.client), SCHEMA, "schema.postgres.sql", create)?;
    drop(session);
    tx.commit()
}

/// PostgreSQL's hooks for the one migration runner: the version in `schema_version`.
struct Hooks<'c>(&'c mut Client);

impl migrate::Schema for Hooks<'_> {
    fn version(&mut self) -> Result<u32> {
        Ok(schema_version(self.0)?.unwrap_or(0))
    }

    fn refuse_foreign(&mut self) -> Result<()> {
        if self.0.query_one(HAS_META, &[])?.get::<_, bool>(0) {
            return Err(Error::new(
                ErrorKind::Storage,
                "the database has a `meta` table but no authlite schema version",
            ));
        }
        Ok(())
    }

    fn apply(&mut self, sql: &'static str) -> Result<()> {
        Ok(self.0.batch_execute(sql)?)
    }

    fn after(&mut self, _from: u32) -> Result<()> {
        Ok(()) // PostgreSQL joined at version 6: nothing to backfill.
    }

    fn set_version(&mut self, version: u32) -> Result<()> {
        self.0.execute(SET_VERSION, &[&i64::from(version)])?;
        Ok(())
    }
}

/// The recorded schema version; `None` for a database without authlite's tables.
fn schema_version(client: &mut Client) -> Result<Option<u32>> {
    if !client.query_one(HAS_SCHEMA, &[])?.get::<_, bool>(0) {
        return Ok(None);
    }
    let version: Option<i64> = client.query_one(SCHEMA_VERSION, &[])?.get(0);
    Ok(Some(version.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX))))
}

/// The values of `keys` in the `meta` table of the database at `url`, read on one new
/// connection without writing. `NotFound` when the database has no authlite schema.
pub(super) fn recorded_settings(url: &str, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
    let mut settings = parse(url)?;
    settings.connect_timeout(Duration::from_secs(5));
    let mut client = settings.connect(NoTls).map_err(|e| Error::storage("cannot connect", e))?;
    if schema_version(&mut client)?.is_none() {
        return Err(Error::new(ErrorKind::NotFound, "no authlite schema in this database"));
    }
    keys.iter()
        .map(|key| Ok(client.query_opt(META_VALUE, &[key])?.map(|r| r.get::<_, Vec<u8>>(0))))
        .collect()
}

/// The client settings in `url`; a `Config` error when it does not parse.
fn parse(url: &str) -> Result<postgres::Config> {
    url.parse().map_err(|e| Error::new(ErrorKind::Config, format!("invalid PostgreSQL URL: {e}")))
}

/// A pooled client and the statements prepared on it, by their SQLite-style text. Behind a
/// `RefCell` so that a shared [`Conn`] can run statements, one at a time.
pub(super) struct PgConn(RefCell<Session>);

struct Session {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// A transaction could not be ended: the pool must drop this connection.
    broken: bool,
}

impl Session {
    /// The prepared statement for `sql`, preparing it on first use with its `?N`
    /// placeholders rewritten to PostgreSQL's `$N`.
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&sql.replace('?', "$"))?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// Opens clients for the pool: no TLS (see the README), `lock_timeout` so a writer
/// waiting on a stuck one fails like a busy SQLite database instead of hanging.
struct Manager {
    settings: postgres::Config,
    lock_timeout: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<PgConn, postgres::Error> {
        let mut client = self.settings.connect(NoTls)?;
        let millis = self.lock_timeout.as_millis().max(1);
        client.batch_execute(&format!("SET lock_timeout = {millis}"))?;
        Ok(PgConn(RefCell::new(Session { client, statements: HashMap::new(), broken: false })))
    }

    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), postgres::Error> {
        conn.0.get_mut().client.batch_execute("")
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        let conn = conn.0.get_mut();
        conn.broken || conn.client.is_closed()
    }
}

impl PgConn {
    fn inner(&self) -> Result<RefMut<'_, Session>> {
        self.0.try_borrow_mut().map_err(|_| {
            Error::new(ErrorKind::Internal, "a statement ran while another one's rows were read")
        })
    }

    /// Runs `sql` and calls `visit` on each row until it returns `false`.
    pub(super) fn each(
        &self,
        sql: &'static str,
        args: &[Value<'_>],
        mut visit: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let mut conn = self.inner()?;
        let statement = conn.statement(sql)?;
        let mut rows = conn.client.query_raw(&statement, args.iter())?;
        while let Some(row) = rows.next()? {
            if !visit(&Row(&row))? {
                break;
            }
        }
        Ok(())
    }

    /// Runs one change statement; how many rows it touched.
    pub(super) fn run(&self, sql: &'static str, args: &[Value<'_>]) -> Result<usize> {
        let mut conn = self.inner()?;
        let statement = conn.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        let n = conn.client.execute(&statement, &params)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// An open transaction; rolled back when dropped without [`Transaction::commit`] (an
/// error or a panic in the caller's closure). A connection whose rollback fails is
/// marked broken, so the pool never lends out a connection still inside a transaction.
struct Transaction<'c> {
    conn: &'c PgConn,
    open: bool,
}

impl<'c> Transaction<'c> {
    /// The guard exists before `BEGIN` is sent: when a statement after it fails (the
    /// writers' `pg_advisory_xact_lock` hitting `lock_timeout`), the transaction is already
    /// open and aborted, and the guard's drop rolls it back (a `ROLLBACK` with none open is
    /// only a warning) or marks the connection broken.
    fn begin(conn: &'c PgConn, begin: &str) -> Result<Transaction<'c>> {
        let tx = Transaction { conn, open: true };
        let started = conn.inner()?.client.batch_execute(begin);
        started?;
        Ok(tx)
    }

    fn commit(mut self) -> Result<()> {
        self.open = false;
        let mut conn = self.conn.inner()?;
        let done = conn.client.batch_execute(COMMIT);
        if done.is_err() {
            conn.broken = true;
        }
        Ok(done?)
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        // A statement's borrow is over by now (even on unwinding); if not, the connection
        // cannot be trusted: drop it.
        let Ok(mut conn) = self.conn.0.try_borrow_mut() else { return };
        if conn.client.batch_execute(ROLLBACK).is_err() {
            conn.broken = true;
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::storage("database error", e)
    }
}

/// Cells of a PostgreSQL row. Booleans (what `IS NOT NULL` and `EXISTS` give there) read
/// as the integers SQLite gives for them.
impl Cells for postgres::Row {
    fn cell(&self, i: usize) -> std::result::Result<Value<'_>, String> {
        cell(self, i).map_err(|e| e.to_string())
    }

    fn column_name(&self, i: usize) -> Option<&str> {
        self.columns().get(i).map(|c| c.name())
    }
}

fn cell(r: &postgres::Row, i: usize) -> std::result::Result<Value<'_>, postgres::Error> {
    use postgres::types::Type;
    let Some(column) = r.columns().get(i) else {
        // try_get reports the missing column as its own error.
        return r.try_get::<_, Option<i64>>(i).map(|v| v.map_or(Value::Null, Value::Int));
    };
    let ty = column.type_();
    Ok(if *ty == Type::BOOL {
        r.try_get::<_, Option<bool>>(i)?.map_or(Value::Null, |b| Value::Int(i64::from(b)))
    } else if *ty == Type::INT4 {
        r.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |v| Value::Int(i64::from(v)))
    } else if *ty == Type::BYTEA {
        r.try_get::<_, Option<&[u8]>>(i)?.map_or(Value::Null, Value::Blob)
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
        r.try_get::<_, Option<&str>>(i)?.map_or(Value::Null, Value::Text)
    } else {
        r.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Int)
    })
}

impl postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::{IsNull, ToSql as Bind, Type};
        // Names the kind only: the value may be a secret's hash.
        let kind = match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Text(_) => "text",
            Value::Blob(_) => "bytes",
        };
        let wrong = || format!("cannot bind {kind} as a {ty}").into();
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT8 => Bind::to_sql(&v, ty, out),
            Value::Int(v) if *ty == Type::INT4 => Bind::to_sql(&i32::try_from(v)?, ty, out),
            Value::Int(v) if *ty == Type::BOOL => Bind::to_sql(&(v != 0), ty, out),
            Value::Text(t) if <&str as Bind>::accepts(ty) => Bind::to_sql(&t, ty, out),
            Value::Blob(b) if *ty == Type::BYTEA => Bind::to_sql(&b, ty, out),
            _ => Err(wrong()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true // checked per value in `to_sql`
    }

    postgres::types::to_sql_checked!();
}
