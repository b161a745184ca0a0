//! Shared helpers for the integration tests: real database files in temp dirs, a manual
//! clock, and low PBKDF2 iterations so tests stay fast.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use authlite::{Auth, ClientInfo, Config, ErrorKind, Login, ManualClock, NewUser, User};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery staple";

/// A temp dir holding one database file, a manual clock, and the config for it.
pub struct Env {
    pub dir: TempDir,
    pub path: PathBuf,
    pub clock: ManualClock,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("auth.db");
        Env { dir, path, clock: ManualClock::new() }
    }

    pub fn config(&self) -> Config {
        config_for(&self.path, &self.clock)
    }

    pub fn open(&self) -> Auth {
        Auth::open_with(self.config()).expect("open")
    }
}

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
