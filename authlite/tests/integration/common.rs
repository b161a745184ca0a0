//! Shared helpers for the integration tests: real database files in temp dirs, a manual
//! clock, and low PBKDF2 iterations so tests stay fast.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use authlite::{Auth, ClientInfo, Config, ErrorKind, Login, ManualClock, NewUser, User};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery staple";

/// The database a backend-neutral test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A temp dir, a manual clock, and one database: a file in the dir, or (PostgreSQL) a
/// fresh schema of the database at `AUTHLITE_TEST_POSTGRES_URL`, dropped afterwards.
pub struct Env {
    pub dir: TempDir,
    /// The SQLite file, or the PostgreSQL URL (selecting the test's own schema).
    pub path: PathBuf,
    pub clock: ManualClock,
    pub backend: Backend,
    schema: Option<String>,
}

impl Env {
    /// A database file in a temp dir.
    pub fn new() -> Env {
        Env::on(Backend::Sqlite)
    }

    /// A fresh, empty database on `backend`.
    pub fn on(backend: Backend) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new();
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("auth.db");
                Env { dir, path, clock, backend, schema: None }
            }
            Backend::Postgres => {
                let base = postgres_url();
                let schema = format!("t_{}", random_suffix());
                pg_admin(&base).batch_execute(&format!("CREATE SCHEMA {schema}")).expect("schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Env { dir, path: PathBuf::from(url), clock, backend, schema: Some(schema) }
            }
        }
    }

    /// Runs SQL behind the engine's back (no parameters; one statement or several).
    pub fn exec(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => raw(&self.path).execute_batch(sql).expect("raw sql"),
            Backend::Postgres => pg_client(&self.path).batch_execute(sql).expect("raw sql"),
        }
    }

    /// The first column of the first row of `sql`.
    pub fn scalar<T>(&self, sql: &str) -> T
    where
        T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>,
    {
        match self.backend {
            Backend::Sqlite => raw(&self.path).query_row(sql, [], |r| r.get(0)).expect("raw sql"),
            Backend::Postgres => pg_client(&self.path).query_one(sql, &[]).expect("raw sql").get(0),
        }
    }

    /// [`Env::scalar`] as an integer.
    pub fn int(&self, sql: &str) -> i64 {
        self.scalar(sql)
    }

    /// [`Env::scalar`] as bytes.
    pub fn bytes(&self, sql: &str) -> Vec<u8> {
        self.scalar(sql)
    }

    /// The first column of every row of `sql`, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => {
                let conn = raw(&self.path);
                let mut stmt = conn.prepare(sql).expect("raw sql");
                stmt.query_map([], |r| r.get(0)).expect("raw sql").map(Result::unwrap).collect()
            }
            Backend::Postgres => {
                let rows = pg_client(&self.path).query(sql, &[]).expect("raw sql");
                rows.iter().map(|r| r.get(0)).collect()
            }
        }
    }

    /// Everything the database holds at rest, as bytes to search for secrets. SQLite: every
    /// file in the dir (database, WAL, index) after a checkpoint. PostgreSQL: every row of
    /// every table as text, plus the bytes behind each `\\x...` (bytea) in it.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let mut bytes = file_bytes(&self.path);
                for entry in std::fs::read_dir(self.dir.path()).expect("dir") {
                    bytes.extend(std::fs::read(entry.expect("entry").path()).expect("read"));
                }
                bytes
            }
            Backend::Postgres => {
                let mut client = pg_client(&self.path);
                let tables = client
                    .query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = current_schema()",
                        &[],
                    )
                    .expect("tables");
                let mut bytes = Vec::new();
                for table in tables {
                    let table: String = table.get(0);
                    let sql = format!("SELECT t::text FROM {table} t");
                    for row in client.query(&sql, &[]).expect("rows") {
                        let text: String = row.get(0);
                        bytes.extend(text.as_bytes());
                        for hex in text.split("\\x").skip(1) {
                            let digits: String =
                                hex.chars().take_while(char::is_ascii_hexdigit).collect();
                            bytes.extend(digits.as_bytes().chunks(2).filter_map(|pair| {
                                u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()
                            }));
                        }
                    }
                }
                assert!(!bytes.is_empty());
                bytes
            }
        }
    }

    /// [`Env::scalar`] as text.
    pub fn text(&self, sql: &str) -> String {
        self.scalar(sql)
    }

    pub fn config(&self) -> Config {
        config_for(&self.path, &self.clock)
    }

    pub fn open(&self) -> Auth {
        Auth::open_with(self.config()).expect("open")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            // Best effort: a leftover schema only costs space in a throw-away database.
            let _ = pg_admin(&postgres_url())
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// The PostgreSQL database the suite runs on: `AUTHLITE_TEST_POSTGRES_URL`. The tests that
/// need it are ignored when it was not set at build time (see `backend_tests!`).
pub fn postgres_url() -> String {
    std::env::var("AUTHLITE_TEST_POSTGRES_URL")
        .expect("AUTHLITE_TEST_POSTGRES_URL names the PostgreSQL database of the test suite")
}

fn pg_admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to PostgreSQL")
}

/// A client on the test's schema (the URL carries its search_path).
pub fn pg_client(path: &Path) -> postgres::Client {
    pg_admin(path.to_str().expect("URL"))
}

fn random_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Instantiates backend-neutral tests, each a `fn name(b: Backend)`, once per backend:
/// `<file>::sqlite::<name>` and `<file>::postgres::<name>`. The PostgreSQL ones are ignored
/// unless `AUTHLITE_TEST_POSTGRES_URL` was set when the tests were built (build.rs turns it
/// into the `authlite_pg_tests` cfg), so a machine without PostgreSQL reports them as
/// ignored, never as passed.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::common::Backend::Sqlite)
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(
                    not(authlite_pg_tests),
                    ignore = "needs AUTHLITE_TEST_POSTGRES_URL (and the postgres feature)"
                )]
                fn $name() {
                    super::$name($crate::common::Backend::Postgres)
                }
            )*
        }
    };
}
pub(crate) use backend_tests;

pub fn config_for(path: &Path, clock: &ManualClock) -> Config {
    Config { pbkdf2_iterations: 1_000, clock: Arc::new(clock.clone()), ..Config::new(path) }
}

pub fn user(auth: &Auth, name: &str) -> User {
    auth.register(NewUser::new(name, PASSWORD)).expect("register")
}

pub fn login(auth: &Auth, name: &str) -> Login {
    auth.login(name, PASSWORD, &ClientInfo::default()).expect("login")
}

/// Opens the database file directly, behind the engine's back.
pub fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
    conn
}

/// The kind of the error `result` must be.
pub fn err<T>(result: authlite::Result<T>) -> ErrorKind {
    match result {
        Ok(_) => panic!("succeeded, expected an error"),
        Err(e) => e.kind(),
    }
}

/// Every byte of the database file and its WAL, after a checkpoint: what a stolen disk
/// image would hold.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    let conn = raw(path);
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
    let mut bytes = std::fs::read(path).expect("read db");
    if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
        bytes.extend(wal);
    }
    bytes
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
