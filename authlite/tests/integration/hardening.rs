//! What the database protects by itself: the settings that bind the file, refusing files
//! that are not ours, look-alike usernames, verification of long imported passwords, and
//! bounded denial auditing.

use std::time::Duration;

use crate::common::*;
use authlite::{
    AuditKind, AuditQuery, Auth, ClientInfo, Config, ErrorKind, NewUser, SecretBytes,
    SigningAlgorithm,
};

fn master() -> SecretBytes {
    SecretBytes::new(b"the application's master secret, 32+ bytes".to_vec())
}

/// The application's own configuration: EdDSA, a master secret, its issuer and audience.
fn app_config(env: &Env) -> Config {
    Config {
        signing_algorithm: SigningAlgorithm::EdDsa,
        master_secret: Some(master()),
        issuer: "till".into(),
        audience: "shop".into(),
        ..env.config()
    }
}

fn audit_rows(env: &Env) -> i64 {
    env.int("SELECT count(*) FROM audit_log")
}

fn key_rows(env: &Env) -> Vec<(String, String, bool)> {
    let rows = env.texts(
        "SELECT kid || ' ' || alg || ' ' || (CASE WHEN retired_at IS NULL THEN 'live' ELSE 'retired' END) \
         FROM signing_keys ORDER BY id",
    );
    rows.iter()
        .map(|row| {
            let parts: Vec<&str> = row.split(' ').collect();
            (parts[0].to_owned(), parts[1].to_owned(), parts[2] == "retired")
        })
        .collect()
}

/// An operator's tool that only knows the master secret starts from the settings the file
/// records, and acts as the application would: no key of another algorithm, rows under the
/// application's chain key, the application's tokens verify.
#[test]
fn a_tool_opens_with_the_recorded_settings_and_acts_as_the_application() {
    let env = Env::new();
    let app = Auth::open_with(app_config(&env)).unwrap();
    user(&app, "alice");
    let token = login(&app, "alice").access_token;
    let keys_before = key_rows(&env);
    assert_eq!(keys_before.len(), 1);
    assert_eq!(keys_before[0].1, "EdDSA");

    let rows = audit_rows(&env);
    let naive = Config { master_secret: Some(master()), ..env.config() };
    assert_eq!(err(Auth::open_with(naive)), ErrorKind::Config, "defaults conflict with the file");
    assert_eq!((audit_rows(&env), key_rows(&env)), (rows, keys_before.clone()), "nothing written");

    let recorded = Auth::recorded_config(&env.path).unwrap();
    assert_eq!(recorded.signing_algorithm, SigningAlgorithm::EdDsa);
    assert_eq!((recorded.issuer.as_str(), recorded.audience.as_str()), ("till", "shop"));
    let tool = Auth::open_with(Config {
        master_secret: Some(master()),
        clock: env.config().clock,
        pbkdf2_iterations: 1_000,
        ..recorded
    })
    .unwrap();
    assert_eq!(key_rows(&env), keys_before, "opening added no key");
    tool.validate(&token).expect("the application's token verifies in the tool");
    tool.create_role("auditor").unwrap();
    let kid = tool.rotate_signing_key().unwrap();
    assert!(key_rows(&env).iter().all(|k| k.1 == "EdDSA"), "rotation keeps the algorithm");
    assert_eq!(err(tool.retire_signing_key(&kid)), ErrorKind::Conflict, "the key that signs");
    drop(tool);

    app.verify_audit_chain().expect("rows written by the tool verify under the app's key");
    let next = login(&app, "alice").access_token;
    assert!(app.validate(&next).is_ok());
    assert_eq!(err(Auth::recorded_config(env.dir.path().join("missing.db"))), ErrorKind::NotFound);
}

fn a_conflicting_opener_is_refused_before_it_writes(b: Backend) {
    let env = Env::on(b);
    let app = Auth::open_with(app_config(&env)).unwrap();
    user(&app, "alice");
    let (rows, keys) = (audit_rows(&env), key_rows(&env));
    let conflicting: [(&str, Config); 7] = [
        (
            "default algorithm",
            Config { signing_algorithm: SigningAlgorithm::Hs256, ..app_config(&env) },
        ),
        ("default issuer", Config { issuer: "authlite".into(), ..app_config(&env) }),
        ("no master secret", Config { master_secret: None, ..app_config(&env) }),
        (
            "wrong master secret",
            Config { master_secret: Some(SecretBytes::new(vec![9; 32])), ..app_config(&env) },
        ),
        ("another issuer", Config { issuer: "web".into(), ..app_config(&env) }),
        ("another audience", Config { audience: "api".into(), ..app_config(&env) }),
        (
            "an HS256 secret",
            Config {
                signing_secret: Some(SecretBytes::new(vec![1; 32])),
                signing_algorithm: SigningAlgorithm::Hs256,
                ..app_config(&env)
            },
        ),
    ];
    for (what, config) in conflicting {
        assert_eq!(err(Auth::open_with(config)), ErrorKind::Config, "{what}");
    }
    assert_eq!((audit_rows(&env), key_rows(&env)), (rows, keys), "nothing written");
    app.verify_audit_chain().unwrap();
}

#[test]
fn a_file_that_is_not_ours_is_refused_without_a_byte_changed() {
    let env = Env::new();
    {
        let conn = rusqlite::Connection::open(&env.path).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');").unwrap();
    }
    let before = std::fs::read(&env.path).unwrap();
    assert_eq!(err(Auth::open_with(env.config())), ErrorKind::Storage);
    assert_eq!(std::fs::read(&env.path).unwrap(), before, "not a byte changed");
    assert!(!env.dir.path().join("auth.db-wal").exists(), "no WAL was started");

    std::fs::write(&env.path, b"not a database at all, just some text").unwrap();
    assert_eq!(err(Auth::open_with(env.config())), ErrorKind::Storage);
    assert_eq!(std::fs::read(&env.path).unwrap(), b"not a database at all, just some text");
}

#[test]
fn an_opener_that_may_not_create_never_creates() {
    let env = Env::new();
    let missing = Config { create_if_missing: false, ..env.config() };
    assert_eq!(err(Auth::open_with(missing.clone())), ErrorKind::NotFound);
    assert!(!env.path.exists(), "no file made");
    env.open();
    Auth::open_with(missing).expect("an existing database opens");
}

fn look_alike_usernames_collide_or_are_refused(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "admin");
    user(&auth, "scope");
    for alike in
        ["аdmin", "admіn", "admın", "admi\u{307}n", "Admi\u{301}\u{301}n", "ADMIN", "ѕсоре"]
    {
        let kind = err(auth.register(NewUser::new(alike, PASSWORD)));
        assert!(
            matches!(kind, ErrorKind::Conflict | ErrorKind::InvalidInput),
            "{alike:?}: {kind:?}"
        );
    }
    user(&auth, "admins");
    user(&auth, "Мария");
    assert_eq!(auth.find_user("admin").unwrap().username, "admin");
}

/// Django allows 4,096 characters; a user imported from it must be able to log in with a
/// password longer than the 128 allowed for new ones.
fn an_imported_long_password_logs_in(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let password = "correct horse battery staple ".repeat(6)[..160].to_owned();
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), b"longsalt", 1_000, &mut hash);
    use base64::Engine;
    let stored = format!(
        "pbkdf2_sha256$1000$longsalt${}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    );
    auth.import_user("django", &stored).unwrap();
    auth.login("django", &password, &ClientInfo::default()).expect("a 160-character password");
    assert_eq!(
        err(auth.register(NewUser::new("newbie", password.as_str()))),
        ErrorKind::WeakPassword,
        "new passwords keep the 128-character cap"
    );
    let too_long = "x".repeat(4097);
    assert_eq!(
        err(auth.login("django", &too_long, &ClientInfo::default())),
        ErrorKind::InvalidCredentials
    );
}

fn a_flood_of_denials_is_audited_once_per_window_with_a_count(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "mallory");
    let who = auth.validate(&login(&auth, "mallory").access_token).unwrap();
    let denied = || {
        let q = AuditQuery { kind: Some(AuditKind::AccessDenied), ..Default::default() };
        auth.audit(&q).unwrap()
    };
    for _ in 0..500 {
        assert_eq!(err(auth.authorize(&who, "orders", "refund")), ErrorKind::Forbidden);
    }
    assert_eq!(denied().len(), 1, "one row for the window");
    assert_eq!(err(auth.authorize(&who, "orders", "delete")), ErrorKind::Forbidden);
    assert_eq!(denied().len(), 2, "another action is another key");
    env.clock.advance(Duration::from_secs(61));
    assert_eq!(err(auth.authorize(&who, "orders", "refund")), ErrorKind::Forbidden);
    let rows = denied();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].detail.as_deref(), Some("resource=orders action=refund repeats_before=499"));
    auth.verify_audit_chain().unwrap();
}

/// On either backend: an opener that may not create finds nothing and makes nothing; the
/// recorded settings come back through the same path or URL; a database holding someone
/// else's tables is refused.
fn only_an_opener_that_may_create_creates(b: Backend) {
    let env = Env::on(b);
    let missing = Config { create_if_missing: false, ..env.config() };
    assert_eq!(err(Auth::open_with(missing.clone())), ErrorKind::NotFound);
    assert_eq!(err(Auth::recorded_config(&env.path)), ErrorKind::NotFound);
    let app = Auth::open_with(Config { issuer: "till".into(), ..env.config() }).unwrap();
    user(&app, "alice");
    let recorded = Auth::recorded_config(&env.path).unwrap();
    assert_eq!(recorded.issuer, "till");
    let tool = Auth::open_with(Config { create_if_missing: false, ..recorded }).unwrap();
    assert_eq!(tool.find_user("alice").unwrap().username, "alice");

    let foreign = Env::on(b);
    foreign.exec("CREATE TABLE meta (key TEXT, note TEXT)");
    assert_eq!(err(Auth::open_with(foreign.config())), ErrorKind::Storage);
    assert_eq!(foreign.int("SELECT count(*) FROM meta"), 0, "nothing written");
}

backend_tests!(
    only_an_opener_that_may_create_creates,
    a_conflicting_opener_is_refused_before_it_writes,
    look_alike_usernames_collide_or_are_refused,
    an_imported_long_password_logs_in,
    a_flood_of_denials_is_audited_once_per_window_with_a_count,
);

/// The database, its `-wal` and `-shm`, and a backup are readable by their owner only, even
/// under the most permissive umask: they hold the signing and master keys.
#[cfg(unix)]
#[test]
fn the_database_its_wal_shm_and_backups_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let previous = rustix::process::umask(rustix::fs::Mode::empty());
    let opened = Auth::open_with(env.config());
    let auth = opened.expect("open");
    user(&auth, "alice"); // a write: the WAL and its index exist now
    let backup = env.dir.path().join("backup.db");
    auth.backup_to(&backup).unwrap();
    rustix::process::umask(previous);
    let mode = |suffix: &str| {
        let mut path = env.path.clone().into_os_string();
        path.push(suffix);
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(""), 0o600, "the database");
    assert_eq!(mode("-wal"), 0o600, "its WAL");
    assert_eq!(mode("-shm"), 0o600, "its shared-memory index");
    let file_mode =
        |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(file_mode(&backup), 0o600, "a backup");
}
