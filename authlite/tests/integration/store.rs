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
    // A cache hit may answer for up to the link-check interval (2 ms, DESIGN §7), and only
    // with what was last read; then it is refused, and so is everything after.
    let started = std::time::Instant::now();
    loop {
        match auth.validate(&login.access_token) {
            Ok(who) => assert_eq!(who.session_id, Some(login.session.id), "a stale answer"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Storage);
                break;
            }
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(100), "still answered");
    }
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

/// `secure_delete`: a replaced password hash, a deleted user's hash and a spent, purged
/// refresh token's hash are overwritten, not left in the file's free space.
#[test]
fn replaced_and_deleted_secrets_do_not_linger_in_the_file() {
    let env = Env::new();
    let auth = env.open();
    // A Werkzeug vector from tests/fixtures/import_vectors.json.
    let werkzeug = "pbkdf2:sha256:260000$xS9QwLp1mNb2$\
                    4107dfeb1bc710e5594ae110a115e98d209bf703a155d352d0db86ce23023243";
    let hash_of = |name: &str| -> String {
        raw(&env.path)
            .query_row("SELECT password_hash FROM users WHERE username = ?1", [name], |r| r.get(0))
            .unwrap()
    };
    // An imported hash upgraded on first login (the case that was found in the file).
    auth.import_user("erin", werkzeug).unwrap();
    auth.login("erin", "flask user secret", &ClientInfo::default()).unwrap();
    assert_ne!(hash_of("erin"), werkzeug, "upgraded on login");
    // A registered user whose password is replaced.
    user(&auth, "carol");
    let carol_old = hash_of("carol");
    let carol = auth.find_user("carol").unwrap();
    auth.set_password(carol.id, "a replacement passphrase").unwrap();
    // A refresh token spent by rotation, its session then ended and purged.
    user(&auth, "frank");
    let dave = user(&auth, "dave");
    let dave_hash = hash_of("dave");
    let login = login(&auth, "frank");
    let selector = login.refresh_token.split('.').next().unwrap().to_owned();
    let spent: Vec<u8> = raw(&env.path)
        .query_row("SELECT secret_hash FROM refresh_tokens WHERE selector = ?1", [&selector], |r| {
            r.get(0)
        })
        .unwrap();
    let next = auth.refresh(&login.refresh_token).unwrap();
    auth.logout(&next.access_token).unwrap();
    auth.purge_expired().unwrap();
    // A deleted user (last: later inserts could reuse the freed space and hide a lapse).
    auth.delete_user(dave.id).unwrap();
    drop(auth);

    let bytes = file_bytes(&env.path);
    assert!(contains(&bytes, hash_of("carol").as_bytes()), "the scan finds live hashes");
    assert!(!contains(&bytes, carol_old.as_bytes()), "replaced hash lingers");
    assert!(!contains(&bytes, werkzeug.as_bytes()), "upgraded imported hash lingers");
    assert!(!contains(&bytes, dave_hash.as_bytes()), "deleted user's hash lingers");
    assert!(!contains(&bytes, &spent), "spent refresh token's hash lingers");
    assert!(!contains(&bytes, selector.as_bytes()), "purged refresh token's selector lingers");
}

#[test]
fn status_counts_what_is_in_the_file() {
    let env = Env::new();
    let auth = env.open();
    let fresh = auth.status().unwrap();
    assert_eq!((fresh.users, fresh.live_sessions, fresh.signing_keys), (0, 0, 1));
    assert!(fresh.schema_version >= 3 && fresh.db_bytes > 0);
    user(&auth, "alice");
    user(&auth, "bob");
    let first = login(&auth, "alice");
    login(&auth, "bob");
    auth.logout(&first.access_token).unwrap();
    let now = auth.status().unwrap();
    assert_eq!((now.users, now.live_sessions), (2, 1));
    assert_eq!(
        now.audit_rows,
        auth.audit(&authlite::AuditQuery { limit: Some(1000), ..Default::default() }).unwrap().len()
            as u64
    );
    assert!(now.wal_bytes > 0, "a live engine has a WAL");
    env.clock.advance(std::time::Duration::from_secs(31 * 86_400));
    assert_eq!(auth.status().unwrap().live_sessions, 0, "expired sessions are not live");
    auth.check_integrity().unwrap();
}

#[test]
fn a_backup_taken_while_writing_opens_and_verifies() {
    let env = Env::new();
    let auth = env.open();
    for i in 0..20 {
        user(&auth, &format!("user{i}"));
    }
    let token = login(&auth, "user0").access_token;
    let writer = {
        let auth = env.open();
        std::thread::spawn(move || {
            for i in 0..100 {
                auth.create_role(&format!("role{i}")).unwrap();
            }
        })
    };
    let copy = env.dir.path().join("copy.db");
    auth.backup_to(&copy).unwrap();
    writer.join().unwrap();
    assert_eq!(err(auth.backup_to(&copy)), ErrorKind::Conflict, "never overwrites");

    let restored = Auth::open_with(crate::common::config_for(&copy, &env.clock)).unwrap();
    assert!(restored.verify_audit_chain().unwrap() > 20);
    assert_eq!(restored.status().unwrap().users, 20);
    restored.validate(&token).expect("the same database: its tokens");
    restored.login("user3", PASSWORD, &ClientInfo::default()).unwrap();
    let memory = Auth::open_in_memory().unwrap();
    memory.backup_to(env.dir.path().join("mem.db")).unwrap();
}

/// Holds the write lock from outside the engine (SQLite: `BEGIN IMMEDIATE` on another
/// connection; PostgreSQL: the writers' advisory lock in another session) until dropped.
enum WriteLockHolder {
    Sqlite(rusqlite::Connection),
    Postgres(::postgres::Client),
}

impl WriteLockHolder {
    fn take(env: &Env) -> WriteLockHolder {
        match env.backend {
            Backend::Sqlite => {
                let conn = raw(&env.path);
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                WriteLockHolder::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut client = pg_client(&env.path);
                client
                    .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7022647185798427749)")
                    .unwrap();
                WriteLockHolder::Postgres(client)
            }
        }
    }

    fn release(self) {
        match self {
            WriteLockHolder::Sqlite(conn) => conn.execute_batch("COMMIT").unwrap(),
            WriteLockHolder::Postgres(mut client) => client.batch_execute("COMMIT").unwrap(),
        }
    }
}

/// Writes that time out on the write lock (held elsewhere) fail with an error and leave
/// every pooled connection usable: none goes back to the pool inside an open or aborted
/// transaction (on PostgreSQL a `lock_timeout` in `BEGIN; SELECT pg_advisory_xact_lock`
/// used to leave its connection "idle in transaction (aborted)").
fn a_write_lock_timeout_leaves_every_pooled_connection_usable(b: Backend) {
    let env = Env::on(b);
    let pool = 3;
    let config = Config {
        busy_timeout: std::time::Duration::from_millis(100),
        pool_size: pool,
        ..env.config()
    };
    let auth = retry_lock_timeouts(|| Auth::open_with(config.clone())).unwrap();
    let holder = WriteLockHolder::take(&env);
    for i in 0..2 * pool {
        assert!(auth.create_role(&format!("blocked{i}")).is_err(), "the lock is held elsewhere");
    }
    holder.release();
    // Every connection of the pool, several times over: reads and writes all work.
    for i in 0..3 * pool {
        retry_lock_timeouts(|| auth.create_role(&format!("r{i}"))).unwrap();
        assert!(auth.roles().unwrap().contains(&format!("r{i}")));
    }
    assert!(!auth.roles().unwrap().iter().any(|r| r.starts_with("blocked")), "nothing half-done");
}

/// `call`, again while it fails on a lock timeout. On PostgreSQL the advisory lock is
/// database-wide: another test's migration may hold it past a 100 ms lock timeout. Only
/// that is retried; a connection left in an aborted transaction fails differently.
fn retry_lock_timeouts<T>(call: impl Fn() -> authlite::Result<T>) -> authlite::Result<T> {
    loop {
        match call() {
            Err(e) if e.to_string().contains("lock timeout") => continue,
            done => break done,
        }
    }
}

backend_tests!(a_write_lock_timeout_leaves_every_pooled_connection_usable);
