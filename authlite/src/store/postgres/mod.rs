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
//! - Nothing read is served again unless `Config::postgres_staleness` is set: another
//!   machine's commit leaves no local trace, so freshness is confirmed by polling a change
//!   counter every writer advances (`freshness.rs` gives the argument).
//!
//! `client.rs` bounds every call in time and makes it safe from async code; `tls.rs` says
//! how the URL is reached.

mod client;
mod freshness;
mod tls;

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio_postgres::Statement;

use self::client::{Answer, Owned, PgClient, Settings, Step};
use self::freshness::Freshness;
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
const DURABLE_COMMIT: &str = "SET LOCAL synchronous_commit = on; COMMIT";
/// With `postgres_staleness`: the change counter this commit leaves, in the commit's round trip.
const COUNTED_COMMIT: &str = "SELECT n FROM change_counter; COMMIT";
const COUNTED_DURABLE_COMMIT: &str =
    "SET LOCAL synchronous_commit = on; SELECT n FROM change_counter; COMMIT";
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
    /// With `Config::postgres_staleness`: what makes cached answers safe to serve.
    freshness: Option<Freshness>,
}

impl Postgres {
    /// Connects, creates or upgrades the schema (under an advisory lock, so several
    /// machines starting at once queue), and builds the pool.
    pub(super) fn open(url: &str, config: &Config) -> Result<Postgres> {
        let settings = Settings::new(url, config.postgres_timeout)?;
        let freshness = match config.postgres_staleness {
            Some(bound) => Some(
                Freshness::start(settings.named("authlite-freshness"), bound)
                    .map_err(|e| Error::storage("cannot start the change listener", e))?,
            ),
            None => None,
        };
        let manager =
            Manager { settings: settings.named("authlite"), lock_timeout: config.busy_timeout };
        let first = r2d2::ManageConnection::connect(&manager)?;
        migrate_pg(&first, config.create_if_missing)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .thread_pool(super::pool_threads())
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(config.postgres_timeout)
            .build(manager)
            .map_err(|e| Error::storage("cannot build the PostgreSQL connection pool", e))?;
        Ok(Postgres { pool, writer: Mutex::new(()), freshness })
    }

    /// Whether anything read may be cached: with `postgres_staleness` only.
    pub(super) fn caches(&self) -> bool {
        self.freshness.is_some()
    }

    /// The epoch cached entries may be served at, if freshness is confirmed within the
    /// bound now (see `freshness.rs`); `None` otherwise.
    pub(super) fn observe(&self, epoch: &AtomicU64) -> Option<u64> {
        self.freshness.as_ref()?.observe(epoch)
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        f(&Conn(Link::Postgres(&conn)))
    }

    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&Conn<'_>) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        // BEGIN goes with the first read.
        let tx = Transaction::begin_pipelined(&conn, BEGIN_SNAPSHOT)?;
        let out = f(&Conn(Link::Postgres(&conn)))?;
        tx.commit(COMMIT)?;
        Ok(out)
    }

    /// A write transaction. One that takes access away is durable on return even where the
    /// server relaxed it (`synchronous_commit=off`) and, with `postgres_staleness`, returns
    /// only once the bound has passed since its commit.
    pub(super) fn write<T>(
        &self,
        epoch: &AtomicU64,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        let writer = self.writer.lock();
        let conn = self.pool.get()?;
        // BEGIN, the lock and the audit chain's head go with the first statement.
        let tx = Transaction::begin_pipelined(&conn, BEGIN_WRITE)?;
        let write = WriteTx::new(Conn(Link::Postgres(&conn)));
        write.prefetch_audit_head()?;
        let out = f(&write)?;
        let durable = write.takes_access_away();
        let Some(freshness) = &self.freshness else {
            tx.commit(if durable { DURABLE_COMMIT } else { COMMIT })?;
            return Ok(out);
        };
        let rows = tx.commit(if durable { COUNTED_DURABLE_COMMIT } else { COUNTED_COMMIT })?;
        epoch.fetch_add(1, Ordering::SeqCst);
        let counter = rows.first().and_then(|r| r.first()?.as_deref()?.parse::<u64>().ok());
        if let Some(counter) = counter {
            freshness.committed(counter);
        }
        // Neither the connection nor this process's writer queue waits out the bound.
        drop((conn, writer));
        if durable {
            std::thread::sleep(freshness.bound());
        }
        Ok(out)
    }
}

/// Brings the schema to the latest version in one transaction behind the writer lock, so
/// several machines starting at once queue.
fn migrate_pg(conn: &PgConn, create: bool) -> Result<()> {
    let tx = Transaction::begin(conn, BEGIN_WRITE)?;
    let mut session = conn.inner()?;
    migrate::upgrade(&mut Hooks(&mut session), SCHEMA, "schema.postgres.sql", create)?;
    drop(session);
    tx.commit(COMMIT).map(drop)
}

/// PostgreSQL's hooks for the one migration runner: the version in `schema_version`.
struct Hooks<'c>(&'c mut Session);

impl migrate::Schema for Hooks<'_> {
    fn version(&mut self) -> Result<u32> {
        Ok(schema_version(self.0)?.unwrap_or(0))
    }

    fn refuse_foreign(&mut self) -> Result<()> {
        if self.0.flag(HAS_META)? {
            return Err(Error::new(
                ErrorKind::Storage,
                "the database has a `meta` table but no authlite schema version",
            ));
        }
        Ok(())
    }

    fn apply(&mut self, sql: &'static str) -> Result<()> {
        self.0.client.batch(sql)
    }

    fn after(&mut self, _from: u32) -> Result<()> {
        Ok(()) // PostgreSQL joined at version 6: nothing to backfill.
    }

    fn set_version(&mut self, version: u32) -> Result<()> {
        let statement = self.0.statement(SET_VERSION)?;
        self.0.client.execute(&statement, &[Value::Int(i64::from(version))])?;
        Ok(())
    }
}

/// The recorded schema version; `None` for a database without authlite's tables.
fn schema_version(session: &mut Session) -> Result<Option<u32>> {
    if !session.flag(HAS_SCHEMA)? {
        return Ok(None);
    }
    let statement = session.statement(SCHEMA_VERSION)?;
    let rows = session.client.query(&statement, &[])?;
    let version: Option<i64> = rows.first().and_then(|r| r.get(0));
    Ok(Some(version.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX))))
}

/// The values of `keys` in the `meta` table of the database at `url`, read on one new
/// connection without writing. `NotFound` when the database has no authlite schema.
pub(super) fn recorded_settings(url: &str, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
    let settings = Settings::new(url, Duration::from_secs(5))?;
    let mut session = Session::new(PgClient::connect(&settings)?);
    if schema_version(&mut session)?.is_none() {
        return Err(Error::new(ErrorKind::NotFound, "no authlite schema in this database"));
    }
    let statement = session.statement(META_VALUE)?;
    keys.iter()
        .map(|key| {
            let rows = session.client.query(&statement, &[Value::Text(key)])?;
            Ok(rows.first().map(|r| r.get::<_, Vec<u8>>(0)))
        })
        .collect()
}

/// A pooled client and the statements prepared on it, by their SQLite-style text. Behind a
/// `RefCell` so that a shared [`Conn`] can run statements, one at a time.
pub(super) struct PgConn(RefCell<Session>);

struct Session {
    client: PgClient,
    statements: HashMap<&'static str, Statement>,
    /// In a write transaction: statements not sent yet, which go in one round trip with
    /// the next statement whose answer is needed, or with the commit.
    pending: Option<Vec<Step>>,
    /// Which pending step is a prefetch, and then its rows.
    prefetch: Option<usize>,
    prefetched: Option<Vec<tokio_postgres::Row>>,
}

impl Session {
    fn new(client: PgClient) -> Session {
        Session {
            client,
            statements: HashMap::new(),
            pending: None,
            prefetch: None,
            prefetched: None,
        }
    }

    /// Whether statements wait to be sent.
    fn has_pending(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// Sends what waits, then `last`, in one round trip; `last`'s answer.
    fn flush_with(&mut self, last: Step) -> Result<Answer> {
        let mut steps = self.pending.as_mut().map(std::mem::take).unwrap_or_default();
        steps.push(last);
        let prefetch = self.prefetch.take();
        let mut answers = self.client.pipeline(&steps)?;
        if let Some(Answer::Rows(rows)) = prefetch.and_then(|i| answers.get_mut(i)) {
            self.prefetched = Some(std::mem::take(rows));
        }
        answers.pop().ok_or_else(|| Error::new(ErrorKind::Internal, "a pipeline gave no answer"))
    }

    /// The one boolean a statement without parameters answers.
    fn flag(&mut self, sql: &'static str) -> Result<bool> {
        let statement = self.statement(sql)?;
        let rows = self.client.query(&statement, &[])?;
        Ok(rows.first().is_some_and(|r| r.get::<_, bool>(0)))
    }

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

/// Opens clients for the pool (TLS as the URL says), with `lock_timeout` so a writer
/// waiting on a stuck one fails like a busy SQLite database instead of hanging.
struct Manager {
    settings: Settings,
    lock_timeout: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = Error;

    fn connect(&self) -> Result<PgConn> {
        let mut client = PgClient::connect(&self.settings)?;
        let millis = self.lock_timeout.as_millis().max(1);
        client.batch(&format!("SET lock_timeout = {millis}"))?;
        Ok(PgConn(RefCell::new(Session::new(client))))
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<()> {
        conn.0.get_mut().client.batch("")
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.0.get_mut().client.is_broken()
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
        let rows = {
            let mut conn = self.inner()?;
            let statement = conn.statement(sql)?;
            if conn.has_pending() {
                match conn.flush_with(Step::Query(statement, Owned::of(args)))? {
                    Answer::Rows(rows) => rows,
                    _ => Vec::new(),
                }
            } else {
                conn.client.query(&statement, args)?
            }
        };
        for row in &rows {
            if !visit(&Row(row))? {
                break;
            }
        }
        Ok(())
    }

    /// Runs one change statement; how many rows it touched.
    pub(super) fn run(&self, sql: &'static str, args: &[Value<'_>]) -> Result<usize> {
        let mut conn = self.inner()?;
        let statement = conn.statement(sql)?;
        let n = if conn.has_pending() {
            match conn.flush_with(Step::Execute(statement, Owned::of(args)))? {
                Answer::Count(n) => n,
                _ => 0,
            }
        } else {
            conn.client.execute(&statement, args)?
        };
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Runs a change statement whose row count nobody reads: in a write transaction it
    /// waits to go with the next statement whose answer is needed, or with the commit (an
    /// error then fails that call, and the transaction, as it would have here).
    pub(super) fn run_pipelined(&self, sql: &'static str, args: &[Value<'_>]) -> Result<()> {
        let mut conn = self.inner()?;
        let statement = conn.statement(sql)?;
        match conn.pending.as_mut() {
            Some(pending) => pending.push(Step::Execute(statement, Owned::of(args))),
            None => drop(conn.client.execute(&statement, args)?),
        }
        Ok(())
    }

    /// In a write transaction, reads `sql` (no arguments) with the statements that begin
    /// it, for [`PgConn::take_prefetched`].
    pub(super) fn prefetch(&self, sql: &'static str) -> Result<()> {
        let mut conn = self.inner()?;
        let statement = conn.statement(sql)?;
        if let Some(pending) = conn.pending.as_mut() {
            pending.push(Step::Query(statement, Vec::new()));
            conn.prefetch = Some(pending.len() - 1);
        }
        Ok(())
    }

    /// The rows of the prefetch, once (sending what waits if they have not come yet);
    /// `None` without one.
    pub(super) fn take_prefetched(&self) -> Result<Option<Vec<tokio_postgres::Row>>> {
        let mut conn = self.inner()?;
        if conn.prefetch.is_some() {
            conn.flush_with(Step::Simple(""))?;
        }
        Ok(conn.prefetched.take())
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
        let started = conn.inner()?.client.batch(begin);
        started?;
        Ok(tx)
    }

    /// A transaction whose `BEGIN` waits to go with its first statement (see
    /// [`PgConn::run_pipelined`]); statements are queued until it ends.
    fn begin_pipelined(conn: &'c PgConn, begin: &'static str) -> Result<Transaction<'c>> {
        let mut session = conn.inner()?;
        session.pending = Some(vec![Step::Simple(begin)]);
        (session.prefetch, session.prefetched) = (None, None);
        Ok(Transaction { conn, open: true })
    }

    /// Ends the transaction with `sql` (which ends in `COMMIT`), in one round trip; the
    /// rows of text any `SELECT` in it gave.
    fn commit(mut self, sql: &'static str) -> Result<Vec<Vec<Option<String>>>> {
        self.open = false;
        let mut conn = self.conn.inner()?;
        let done = if conn.pending.is_some() {
            let done = conn.flush_with(Step::Simple(sql));
            conn.pending = None;
            done.map(|answer| match answer {
                Answer::Text(rows) => rows,
                _ => Vec::new(),
            })
        } else {
            conn.client.simple(sql)
        };
        if done.is_err() {
            conn.client.set_broken();
        }
        done
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
        // Statements still waiting were never sent, and neither was BEGIN if they include it.
        let begun = !conn.has_pending();
        (conn.pending, conn.prefetch, conn.prefetched) = (None, None, None);
        if begun && conn.client.batch(ROLLBACK).is_err() {
            conn.client.set_broken();
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's own words and SQLSTATE (the client's Display says only "db error").
        let message = match e.as_db_error() {
            Some(db) => format!("database error {}: {}", db.code().code(), db.message()),
            None => format!("database error: {}", tls::explain(&e)),
        };
        Error::storage_said(message, e)
    }
}

/// Cells of a PostgreSQL row. Booleans (what `IS NOT NULL` and `EXISTS` give there) read
/// as the integers SQLite gives for them.
impl Cells for tokio_postgres::Row {
    fn cell(&self, i: usize) -> std::result::Result<Value<'_>, String> {
        cell(self, i).map_err(|e| e.to_string())
    }

    fn column_name(&self, i: usize) -> Option<&str> {
        self.columns().get(i).map(|c| c.name())
    }
}

fn cell(
    r: &tokio_postgres::Row,
    i: usize,
) -> std::result::Result<Value<'_>, tokio_postgres::Error> {
    use tokio_postgres::types::Type;
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

impl tokio_postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use tokio_postgres::types::{IsNull, ToSql as Bind, Type};
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

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true // checked per value in `to_sql`
    }

    tokio_postgres::types::to_sql_checked!();
}
