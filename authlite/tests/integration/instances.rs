//! Several instances of a service on one database (DESIGN §10): two `Auth` values in this
//! process and one in another process, crossing every kind of shared state — a revocation,
//! a deactivation, a refresh token raced by all three, failed logins counted towards one
//! lockout, and a key rotation and retirement. On PostgreSQL these are the instances of a
//! service behind a load balancer; on SQLite, processes sharing one file.
//!
//! The other process is this test binary run again (`current_exe`) with only
//! `instance_child` selected; it opens its own engine, runs one command from `CMD_ENV` and
//! prints `RESULT <outcome>` (`ok`, `ok <value>`, or the error kind's name).

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use authlite::{Auth, ClientInfo, ErrorKind, ManualClock};

const CMD_ENV: &str = "AUTHLITE_INSTANCE_CMD";
const DB_ENV: &str = "AUTHLITE_INSTANCE_DB";
const CLOCK_ENV: &str = "AUTHLITE_INSTANCE_CLOCK_MS";

/// Runs one command in an engine of another process; its outcome.
fn elsewhere(env: &Env, cmd: &[&str]) -> String {
    let now = authlite::Clock::now(&env.clock).duration_since(UNIX_EPOCH).unwrap().as_millis();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "instances::instance_child", "--nocapture", "--test-threads=1"])
        .env(CMD_ENV, cmd.join("\n"))
        .env(DB_ENV, &env.path)
        .env(CLOCK_ENV, now.to_string())
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout.lines().find_map(|l| l.strip_prefix("RESULT "));
    match result {
        Some(r) if out.status.success() => r.to_owned(),
        _ => panic!("child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// The name `elsewhere` reports for an outcome of this process.
fn outcome<T>(result: authlite::Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

#[test]
fn instance_child() {
    let Ok(cmd) = std::env::var(CMD_ENV) else { return };
    let path = std::path::PathBuf::from(std::env::var_os(DB_ENV).unwrap());
    let ms: u64 = std::env::var(CLOCK_ENV).unwrap().parse().unwrap();
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_millis(ms));
    let auth = Auth::open_with(config_for(&path, &clock)).unwrap();
    let cmd: Vec<&str> = cmd.split('\n').collect();
    let result = match cmd[0] {
        "validate" => outcome(auth.validate(cmd[1])),
        "logout" => outcome(auth.logout(cmd[1])),
        "refresh" => match auth.refresh(cmd[1]) {
            Ok(pair) => format!("ok {}", pair.access_token),
            Err(e) => format!("{:?}", e.kind()),
        },
        "login" => outcome(auth.login(cmd[1], cmd[2], &ClientInfo::default())),
        "retire" => outcome(auth.retire_signing_key(cmd[1])),
        other => panic!("unknown command {other}"),
    };
    // libtest may already have written "test instance_child ... " without a newline.
    println!("\nRESULT {result}");
}

fn instances_share_one_truth(b: Backend) {
    let env = Env::on(b);
    let (one, two) = (env.open(), env.open());
    let alice = user(&one, "alice");

    // A session ended in another process stops here, in both engines, at once.
    let session = login(&one, "alice");
    assert!(two.validate(&session.access_token).is_ok());
    assert_eq!(elsewhere(&env, &["validate", &session.access_token]), "ok");
    assert_eq!(elsewhere(&env, &["logout", &session.access_token]), "ok");
    for auth in [&one, &two] {
        assert_eq!(err(auth.validate(&session.access_token)), ErrorKind::RevokedToken);
        assert_eq!(err(auth.refresh(&session.refresh_token)), ErrorKind::RevokedToken);
    }

    // A deactivation by one engine stops the others' next call.
    let session = login(&two, "alice");
    one.deactivate_user(alice.id).unwrap();
    assert_eq!(err(two.validate(&session.access_token)), ErrorKind::InactiveUser);
    assert_eq!(elsewhere(&env, &["validate", &session.access_token]), "InactiveUser");
    one.activate_user(alice.id).unwrap();
    assert_eq!(
        err(two.validate(&session.access_token)),
        ErrorKind::RevokedToken,
        "activation does not revive the tokens deactivation killed"
    );
    assert!(two.validate(&login(&one, "alice").access_token).is_ok());

    // One refresh token raced by both engines and another process: exactly one winner.
    for round in 0..3 {
        let session = login(&one, "alice");
        let barrier = Arc::new(Barrier::new(3));
        let racers: Vec<_> = [one.clone(), two.clone()]
            .into_iter()
            .map(|auth| {
                let (barrier, token) = (barrier.clone(), session.refresh_token.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    outcome(auth.refresh(&token))
                })
            })
            .collect();
        barrier.wait();
        let mut outcomes = vec![elsewhere(&env, &["refresh", &session.refresh_token])];
        outcomes.extend(racers.into_iter().map(|r| r.join().unwrap()));
        let winners = outcomes.iter().filter(|o| o.starts_with("ok")).count();
        let reused = outcomes.iter().filter(|o| *o == "TokenReused").count();
        assert_eq!((winners, reused), (1, 2), "round {round}: {outcomes:?}");
    }

    // Failed logins from every instance count towards one lockout (threshold 10).
    let bob = user(&one, "bob");
    for i in 0..9 {
        let auth = if i % 2 == 0 { &one } else { &two };
        assert_eq!(
            err(auth.login("bob", "not the password", &ClientInfo::default())),
            ErrorKind::InvalidCredentials
        );
    }
    assert_eq!(elsewhere(&env, &["login", "bob", "not the password"]), "InvalidCredentials");
    for auth in [&one, &two] {
        assert_eq!(
            err(auth.login("bob", PASSWORD, &ClientInfo::default())),
            ErrorKind::AccountLocked
        );
    }
    assert_eq!(elsewhere(&env, &["login", "bob", PASSWORD]), "AccountLocked");
    two.unlock_user(bob.id).unwrap();
    assert_eq!(elsewhere(&env, &["login", "bob", PASSWORD]), "ok");

    // A key rotated by one engine signs the other's next token; retiring the old key in
    // another process kills its tokens everywhere.
    let old = login(&two, "alice");
    let old_kid = one.signing_keys().unwrap().into_iter().find(|k| k.signing).unwrap().kid;
    one.rotate_signing_key().unwrap();
    let fresh = login(&two, "alice"); // signed by `two`, which did not rotate
    assert!(two.validate(&fresh.access_token).is_ok());
    assert_eq!(elsewhere(&env, &["validate", &fresh.access_token]), "ok");
    assert!(one.validate(&old.access_token).is_ok(), "old keys verify until retired");
    assert_eq!(elsewhere(&env, &["retire", &old_kid]), "ok");
    for auth in [&one, &two] {
        assert_eq!(err(auth.validate(&old.access_token)), ErrorKind::InvalidToken);
        // Still valid after the old key's retirement: `two` signed it with the new key.
        assert!(auth.validate(&fresh.access_token).is_ok());
    }
    assert!(one.verify_audit_chain().is_ok(), "one chain, written by every instance");
}

backend_tests!(instances_share_one_truth);
