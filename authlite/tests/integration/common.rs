//! Shared helpers for the integration tests: real database files in temp dirs, a manual
//! clock, and low PBKDF2 iterations so tests stay fast.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use authlite::{Auth, ClientInfo, Config, Login, ManualClock, NewUser, User};
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
