//! Importing users with password hashes from other systems. The vectors in
//! fixtures/import_vectors.json were made by fixtures/make_import_vectors.py: PBKDF2 with
//! Python's hashlib the way Django, Werkzeug and passlib make it, and bcrypt, scrypt and
//! Argon2 by the real libraries (Python bcrypt, argon2-cffi, Werkzeug, Django, passlib),
//! each checked by its library before it was written.

use crate::common::*;
use authlite::{AuditKind, AuditQuery, Auth, ClientInfo, Config, ErrorKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    format: String,
    username: String,
    password: String,
    hash: String,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("../fixtures/import_vectors.json")).unwrap()
}

fn stored_hash(env: &Env, username: &str) -> String {
    env.text(&format!("SELECT password_hash FROM users WHERE username = '{username}'"))
}

fn other_systems_hashes_log_in_and_are_upgraded(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    for v in vectors() {
        auth.import_user(&v.username, &v.hash).unwrap();
        assert_eq!(stored_hash(&env, &v.username), v.hash, "{}: stored as given", v.format);
        let wrong = auth.login(&v.username, "not the password", &ClientInfo::default());
        assert_eq!(wrong.unwrap_err().kind(), ErrorKind::InvalidCredentials, "{}", v.format);

        auth.login(&v.username, &v.password, &ClientInfo::default())
            .unwrap_or_else(|e| panic!("{} vector did not log in: {e}", v.format));
        let upgraded = stored_hash(&env, &v.username);
        assert!(upgraded.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{}: {upgraded}", v.format);
        auth.login(&v.username, &v.password, &ClientInfo::default())
            .unwrap_or_else(|e| panic!("{} after upgrade: {e}", v.format));
    }
    let imported = auth
        .audit(&AuditQuery { kind: Some(AuditKind::UserImported), ..Default::default() })
        .unwrap();
    assert_eq!(imported.len(), vectors().len());
    let rehashed = auth
        .audit(&AuditQuery { kind: Some(AuditKind::PasswordRehashed), ..Default::default() })
        .unwrap();
    assert_eq!(rehashed.len(), vectors().len());
}

fn this_crates_own_phc_hashes_import_too(b: Backend) {
    let source = Env::on(b);
    let from = source.open();
    user(&from, "alice");
    let hash = stored_hash(&source, "alice");
    let env = Env::on(b);
    let auth = env.open();
    auth.import_user("alice", &hash).unwrap();
    auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap();
    assert_eq!(stored_hash(&env, "alice"), hash, "already current: kept");
}

fn raising_the_iteration_count_rehashes_at_the_next_login(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    drop(auth);
    let auth = Auth::open_with(Config { pbkdf2_iterations: 5_000, ..env.config() }).unwrap();
    auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap();
    assert!(stored_hash(&env, "alice").starts_with("$pbkdf2-sha256$i=5000,"));
}

fn unsupported_or_malformed_hashes_are_refused(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    for bad in [
        "",
        "plaintext-password",
        "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
        "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
        "sha1$salt$2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        "unsalted_md5$5f4dcc3b5aa765d61d8327deb882cf99",
        "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=2097152,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "scrypt:2097152:8:1$salt$00112233445566778899aabbccddeeff",
        "pbkdf2_sha256$999999999$salt$AAAA",
        "pbkdf2:sha256:260000$salt$not-hex",
        "pbkdf2_sha1$20000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        let e = auth.import_user("bob", bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
    }
    assert_eq!(auth.find_user("bob").unwrap_err().kind(), ErrorKind::NotFound);
    let v = &vectors()[0];
    auth.import_user("bob", &v.hash).unwrap();
    assert_eq!(auth.import_user("BOB", &v.hash).unwrap_err().kind(), ErrorKind::Conflict);
}

backend_tests!(
    other_systems_hashes_log_in_and_are_upgraded,
    this_crates_own_phc_hashes_import_too,
    raising_the_iteration_count_rehashes_at_the_next_login,
    unsupported_or_malformed_hashes_are_refused,
);
