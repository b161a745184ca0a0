//! The store on real files: creation, reopening, pragmas, and failing closed when the file
//! is not what it should be.

use crate::common::*;
use authlite::{Auth, ClientInfo, Config, ErrorKind, UserId};

fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

#[test]
fn auth_is_a_cheap_shareable_handle() {
    assert_send_sync_clone::<Auth>();
}

#[test]
fn open_creates_the_file_with_wal_schema_and_a_key() {
    let env = Env::new();
    assert!(!env.path.exists());
    let auth = Auth::open(&env.path).unwrap();
    assert!(env.path.exists());
    let conn = raw(&env.path);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert!(version >= 1);
    let keys: i64 = conn.query_row("SELECT count(*) FROM signing_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(keys, 1);
    let secret: Vec<u8> =
        conn.query_row("SELECT secret FROM signing_keys", [], |r| r.get(0)).unwrap();
    assert!(secret.len() >= 32);
    assert_eq!(auth.config().pbkdf2_iterations, 600_000, "Auth::open uses the defaults");
}

#[test]
fn reopening_keeps_users_and_keys() {
    let env = Env::new();
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    drop(auth);
    let auth = env.open();
    assert!(auth.validate(&login.access_token).is_ok(), "same key after reopen");
    assert_eq!(auth.signing_keys().unwrap().len(), 1);
    auth.refresh(&login.refresh_token).unwrap();
}

#[test]
fn a_deleted_database_is_an_error_not_a_fresh_empty_one() {
    let env = Env::new();
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", env.path.display()));
    }
    assert_eq!(auth.validate(&login.access_token).unwrap_err().kind(), ErrorKind::Storage);
    assert_eq!(auth.refresh(&login.refresh_token).unwrap_err().kind(), ErrorKind::Storage);
    assert_eq!(
        auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap_err().kind(),
        ErrorKind::Storage
    );
    assert!(!env.path.exists(), "the engine must not recreate the file");
}

#[test]
fn a_swapped_file_fails_closed() {
    let env = Env::new();
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    auth.validate(&login.access_token).unwrap();
    let impostor = env.dir.path().join("impostor");
    std::fs::write(&impostor, b"this is not a database, just some bytes").unwrap();
    std::fs::rename(&impostor, &env.path).unwrap();
    assert_eq!(auth.validate(&login.access_token).unwrap_err().kind(), ErrorKind::Storage);
    assert_eq!(auth.user(UserId(1)).unwrap_err().kind(), ErrorKind::Storage);
}

#[test]
fn opening_something_that_is_not_our_database_fails_cleanly() {
    let env = Env::new();
    std::fs::write(&env.path, b"definitely not sqlite").unwrap();
    assert_eq!(Auth::open_with(env.config()).unwrap_err().kind(), ErrorKind::Storage);

    let env = Env::new();
    raw(&env.path).execute_batch("CREATE TABLE customers (id INTEGER)").unwrap();
    assert_eq!(Auth::open_with(env.config()).unwrap_err().kind(), ErrorKind::Storage);

    let env = Env::new();
    drop(env.open());
    raw(&env.path).execute_batch("PRAGMA user_version = 9999").unwrap();
    assert_eq!(Auth::open_with(env.config()).unwrap_err().kind(), ErrorKind::Storage);
}

#[test]
fn a_missing_directory_is_a_storage_error() {
    let env = Env::new();
    let config = config_for(&env.dir.path().join("no/such/dir/auth.db"), &env.clock);
    assert_eq!(Auth::open_with(config).unwrap_err().kind(), ErrorKind::Storage);
}

#[test]
fn an_invalid_config_is_refused_before_touching_disk() {
    let env = Env::new();
    let config = Config { pbkdf2_iterations: 10, ..env.config() };
    assert_eq!(Auth::open_with(config).unwrap_err().kind(), ErrorKind::Config);
    assert!(!env.path.exists());
}

#[test]
fn in_memory_engines_are_private_and_complete() {
    let a = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() }).unwrap();
    let b = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() }).unwrap();
    user(&a, "alice");
    assert_eq!(b.find_user("alice").unwrap_err().kind(), ErrorKind::NotFound);
    let login = login(&a, "alice");
    a.validate(&login.access_token).unwrap();
    a.refresh(&login.refresh_token).unwrap();
    assert!(Auth::open_in_memory().is_ok());
}

#[test]
fn the_validation_query_is_never_re_prepared() {
    // A statement SQLite re-prepares on every use costs several microseconds; the query
    // planner stability guarantee set per connection must prevent it.
    let env = Env::new();
    let auth = env.open();
    user(&auth, "alice");
    drop(auth);
    let conn = raw(&env.path);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT s.user_id, u.username FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = ?1",
        )
        .unwrap();
    for id in 0..50 {
        let _ = stmt.query_row([id], |_| Ok(()));
    }
    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
}
