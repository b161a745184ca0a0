//! The audit trail on a real file: a row per event in the same transaction, no secrets
//! anywhere in the file, queries, subscribers after commit, and tamper evidence.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use authlite::{AuditEvent, AuditKind, AuditQuery, Auth, ClientInfo, Config, ErrorKind, NewUser};

const WAIT: Duration = Duration::from_secs(10);

fn kinds(auth: &Auth) -> HashSet<AuditKind> {
    let all = AuditQuery { limit: Some(10_000), ..Default::default() };
    auth.audit(&all).unwrap().into_iter().map(|e| e.kind).collect()
}

/// Runs one of everything, returning the secrets it handled.
fn everything(env: &Env, auth: &Auth) -> Vec<String> {
    let client = ClientInfo { ip: Some("192.0.2.1".into()), user_agent: Some("audit-test".into()) };
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let mut secrets = vec![PASSWORD.to_owned()];
    auth.login("alice", "the wrong password", &client).unwrap_err();
    let login = auth.login("alice", PASSWORD, &client).unwrap();
    let pair = auth.refresh(&login.refresh_token).unwrap();
    auth.refresh(&login.refresh_token).unwrap_err(); // reuse
    secrets.extend([
        login.access_token,
        login.refresh_token,
        pair.access_token,
        pair.refresh_token,
    ]);
    let second = auth.login("alice@example.com", PASSWORD, &client).unwrap();
    auth.revoke_token(&second.access_token).unwrap();
    auth.logout(&second.access_token).unwrap();
    let third = auth.login("alice", PASSWORD, &client).unwrap();
    auth.revoke_session(third.session.id).unwrap();
    auth.revoke_all_sessions(alice.id).unwrap();
    secrets.extend([second.access_token, second.refresh_token, third.refresh_token]);
    auth.change_password(alice.id, PASSWORD, "a second long passphrase").unwrap();
    auth.set_password(alice.id, "a third long passphrase").unwrap();
    secrets.extend(["a second long passphrase".into(), "a third long passphrase".into()]);
    auth.set_email(alice.id, Some("alice@example.org")).unwrap();
    auth.create_role("clerk").unwrap();
    auth.grant("clerk", "orders", "read").unwrap();
    auth.assign_role(alice.id, "clerk").unwrap();
    let fourth = auth.login("alice", "a third long passphrase", &client).unwrap();
    let who = auth.validate(&fourth.access_token).unwrap();
    auth.authorize(&who, "orders", "refund").unwrap_err();
    auth.revoke_grant("clerk", "orders", "read").unwrap();
    auth.unassign_role(alice.id, "clerk").unwrap();
    auth.delete_role("clerk").unwrap();
    secrets.extend([fourth.access_token, fourth.refresh_token]);
    for _ in 0..10 {
        auth.login("alice", "guessing wrong again", &client).unwrap_err();
    }
    auth.login("alice", "guessing wrong again", &client).unwrap_err(); // locked
    auth.unlock_user(alice.id).unwrap();
    auth.deactivate_user(alice.id).unwrap();
    auth.activate_user(alice.id).unwrap();
    auth.rotate_signing_key().unwrap();
    auth.import_user(
        "imported",
        "pbkdf2_sha256$20000$Yx3kEo4jv1Aa$PQf79nQO8TQnPPk9kw43HNHItCQpC1JUXbMomUQ1wjY=",
    )
    .unwrap();
    auth.login("imported", "django era one password", &ClientInfo::default()).unwrap();
    secrets.push("django era one password".into());
    auth.delete_user(alice.id).unwrap();
    let _ = env;
    secrets
}

fn every_security_event_leaves_a_row(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    everything(&env, &auth);
    let seen = kinds(&auth);
    for kind in [
        AuditKind::UserRegistered,
        AuditKind::UserImported,
        AuditKind::LoginSucceeded,
        AuditKind::LoginFailed,
        AuditKind::LoginLocked,
        AuditKind::AccountLocked,
        AuditKind::AccountUnlocked,
        AuditKind::Logout,
        AuditKind::TokenRefreshed,
        AuditKind::RefreshReused,
        AuditKind::TokenRevoked,
        AuditKind::SessionRevoked,
        AuditKind::SessionsRevoked,
        AuditKind::PasswordChanged,
        AuditKind::PasswordSet,
        AuditKind::PasswordRehashed,
        AuditKind::EmailChanged,
        AuditKind::UserDeactivated,
        AuditKind::UserActivated,
        AuditKind::UserDeleted,
        AuditKind::RoleCreated,
        AuditKind::RoleDeleted,
        AuditKind::PermissionGranted,
        AuditKind::PermissionRevoked,
        AuditKind::RoleAssigned,
        AuditKind::RoleUnassigned,
        AuditKind::AccessDenied,
        AuditKind::KeyRotated,
    ] {
        assert!(seen.contains(&kind), "no {kind} row");
    }
    let logins = auth
        .audit(&AuditQuery { kind: Some(AuditKind::LoginSucceeded), ..Default::default() })
        .unwrap();
    let first = logins.last().unwrap();
    assert_eq!(first.ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(first.user_agent.as_deref(), Some("audit-test"));
    assert!(first.session_id.is_some());
    assert!(auth.verify_audit_chain().unwrap() > 40);
}

fn no_password_or_token_is_anywhere_in_the_database_files(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secrets = everything(&env, &auth);
    drop(auth);
    let bytes = env.stored_bytes();
    // The search sees what is stored: text, and the bytes of binary columns.
    assert!(contains(&bytes, b"audit-test"), "a user agent in the audit rows");
    assert!(contains(&bytes, &env.bytes("SELECT secret FROM signing_keys ORDER BY id LIMIT 1")));
    for secret in &secrets {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "a secret ({} bytes) is stored",
            secret.len()
        );
    }
}

fn queries_filter_by_user_kind_time_and_page(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let bob = user(&auth, "bob");
    let start = authlite::Clock::now(&env.clock);
    env.clock.advance(Duration::from_secs(60));
    for _ in 0..3 {
        login(&auth, "alice");
    }
    login(&auth, "bob");
    let q = |q: AuditQuery| auth.audit(&q).unwrap();
    assert_eq!(q(AuditQuery { user_id: Some(alice.id), ..Default::default() }).len(), 4);
    let bob_logins = q(AuditQuery {
        user_id: Some(bob.id),
        kind: Some(AuditKind::LoginSucceeded),
        ..Default::default()
    });
    assert_eq!(bob_logins.len(), 1);
    let before =
        q(AuditQuery { until: Some(start + Duration::from_secs(1)), ..Default::default() });
    assert_eq!(before.len(), 2, "the two registrations");
    let after =
        q(AuditQuery { since: Some(start + Duration::from_secs(60)), ..Default::default() });
    assert_eq!(after.len(), 4);
    let page1 = q(AuditQuery { limit: Some(2), ..Default::default() });
    let page2 =
        q(AuditQuery { limit: Some(2), before_id: Some(page1[1].id), ..Default::default() });
    assert!(page1[0].id > page1[1].id && page1[1].id > page2[0].id, "newest first, no overlap");
}

#[test]
fn subscribers_see_events_only_after_commit() {
    let env = Env::new();
    let auth = env.open();
    let path = env.path.clone();
    let (tx, rx) = mpsc::channel::<(AuditEvent, bool)>();
    let tx = Mutex::new(tx);
    auth.subscribe(move |event| {
        // Another connection can already see the row: the transaction has committed.
        let visible: bool = raw(&path)
            .query_row("SELECT count(*) FROM audit_log WHERE id = ?1", [event.id], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n == 1)
            .unwrap_or(false);
        let _ = tx.lock().unwrap().send((event.clone(), visible));
    });
    let alice = user(&auth, "alice");
    auth.login("alice", "wrong password!", &ClientInfo::default()).unwrap_err();
    let (registered, visible) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (registered.kind, registered.user_id, visible),
        (AuditKind::UserRegistered, Some(alice.id), true)
    );
    let (failed, visible) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((failed.kind, visible), (AuditKind::LoginFailed, true));

    // A failed operation that rolled back publishes nothing.
    auth.register(NewUser::new("alice", PASSWORD)).unwrap_err();
    auth.create_role("probe").unwrap();
    let (next, _) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(next.kind, AuditKind::RoleCreated);
}

fn a_panicking_or_blocked_subscriber_changes_nothing(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    auth.subscribe(|_| panic!("subscriber bug"));
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in = seen.clone();
    auth.subscribe(move |event| {
        // Blocks until the test lets it go: the engine must not wait for it.
        let _ = gate.lock().unwrap().recv_timeout(WAIT);
        seen_in.lock().unwrap().push(event.kind);
    });
    user(&auth, "alice");
    for _ in 0..5 {
        let login = login(&auth, "alice");
        auth.validate(&login.access_token).unwrap();
        auth.logout(&login.access_token).unwrap();
    }
    assert!(auth.verify_audit_chain().is_ok());
    for _ in 0..11 {
        release.send(()).unwrap();
    }
    let deadline = std::time::Instant::now() + WAIT;
    while seen.lock().unwrap().len() < 11 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 11, "every event still delivered, in order: {seen:?}");
    assert_eq!(seen[0], AuditKind::UserRegistered);
    assert_eq!(auth.audit_events_dropped(), 0);
}

fn unsubscribed_callbacks_stop_receiving(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let (tx, rx) = mpsc::channel::<AuditKind>();
    let tx = Mutex::new(tx);
    let id = auth.subscribe(move |e| {
        let _ = tx.lock().unwrap().send(e.kind);
    });
    user(&auth, "alice");
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), AuditKind::UserRegistered);
    assert!(auth.unsubscribe(id));
    assert!(!auth.unsubscribe(id));
    user(&auth, "bob");
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
}

fn chain_error(auth: &Auth) -> String {
    let e = auth.verify_audit_chain().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    e.to_string()
}

fn trail(env: &Env) -> Auth {
    let auth = env.open();
    user(&auth, "alice");
    for _ in 0..4 {
        login(&auth, "alice");
    }
    assert_eq!(auth.verify_audit_chain().unwrap(), 5);
    auth
}

fn editing_an_audit_row_by_hand_is_detected_and_named(b: Backend) {
    let env = Env::on(b);
    let auth = trail(&env);
    env.exec("UPDATE audit_log SET ip = '10.0.0.1' WHERE id = 3");
    assert!(chain_error(&auth).contains("row 3"));
}

fn deleting_an_audit_row_by_hand_is_detected(b: Backend) {
    let env = Env::on(b);
    let auth = trail(&env);
    env.exec("DELETE FROM audit_log WHERE id = 2");
    assert!(chain_error(&auth).contains("row 3"), "the row after the gap is named");
}

fn inserting_or_reordering_audit_rows_by_hand_is_detected(b: Backend) {
    let env = Env::on(b);
    let auth = trail(&env);
    env.exec(
        "INSERT INTO audit_log (id, at, kind, user_id, mac) \
         SELECT 6, at, kind, user_id, mac FROM audit_log WHERE id = 5",
    );
    assert!(chain_error(&auth).contains("row 6"));
    env.exec("DELETE FROM audit_log WHERE id = 6");
    assert!(auth.verify_audit_chain().is_ok());
    env.exec("UPDATE audit_log SET kind = 'login.failed' WHERE id = 4");
    assert!(chain_error(&auth).contains("row 4"));
}

fn deleting_the_oldest_rows_by_hand_is_detected_but_the_retention_purge_is_not_tampering(
    b: Backend,
) {
    let env = Env::on(b);
    let auth = trail(&env);
    env.clock.advance(Duration::from_secs(3600));
    login(&auth, "alice");
    let deleted =
        auth.purge_audit(authlite::Clock::now(&env.clock) - Duration::from_secs(60)).unwrap();
    assert_eq!(deleted, 5);
    assert_eq!(auth.verify_audit_chain().unwrap(), 2, "the newest login and the purge record");
    login(&auth, "alice");
    assert!(auth.verify_audit_chain().is_ok());

    let env = Env::on(b);
    let auth = trail(&env);
    env.exec("DELETE FROM audit_log WHERE id <= 2");
    assert!(chain_error(&auth).contains("row 3"));
}

fn a_master_secret_from_the_config_keys_the_chain(b: Backend) {
    let env = Env::on(b);
    let secret = authlite::SecretBytes::new(vec![42u8; 32]);
    let config = Config { master_secret: Some(secret.clone()), ..env.config() };
    let auth = Auth::open_with(config.clone()).unwrap();
    user(&auth, "alice");
    assert!(auth.verify_audit_chain().is_ok());
    drop(auth);
    // Without the secret, or with another one, the file is refused at open (not later as
    // a tamper alarm), before anything is written under the wrong chain key.
    let rows = || env.int("SELECT count(*) FROM audit_log");
    let before = rows();
    assert_eq!(err(Auth::open_with(env.config())), ErrorKind::Config);
    let wrong = authlite::SecretBytes::new(vec![7u8; 32]);
    assert_eq!(
        err(Auth::open_with(Config { master_secret: Some(wrong), ..env.config() })),
        ErrorKind::Config
    );
    assert_eq!(rows(), before, "nothing written by a refused opener");
    assert!(Auth::open_with(config).unwrap().verify_audit_chain().is_ok());
}

/// The chain check reads the anchor, the newest purge record and every row: on one
/// snapshot, so a purge committing in between cannot raise a false tamper alarm.
fn verification_racing_purges_never_raises_a_false_alarm(b: Backend) {
    let env = Env::on(b);
    let writer = env.open();
    let checker = env.open();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let purger = {
        let (stop, clock) = (stop.clone(), env.clock.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && rounds < 2_000 {
                writer.create_role(&format!("role{rounds}")).unwrap();
                clock.advance(Duration::from_millis(1));
                writer.purge_audit(writer.config().clock.now()).unwrap();
                rounds += 1;
            }
            rounds
        })
    };
    let mut checks = 0;
    while !purger.is_finished() && checks < 2_000 {
        checker.verify_audit_chain().expect("no false alarm while purges commit");
        checks += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(purger.join().unwrap() > 10);
    assert!(checks > 10, "the two ran concurrently");
    checker.verify_audit_chain().unwrap();
}

backend_tests!(
    no_password_or_token_is_anywhere_in_the_database_files,
    a_master_secret_from_the_config_keys_the_chain,
    deleting_the_oldest_rows_by_hand_is_detected_but_the_retention_purge_is_not_tampering,
    inserting_or_reordering_audit_rows_by_hand_is_detected,
    deleting_an_audit_row_by_hand_is_detected,
    editing_an_audit_row_by_hand_is_detected_and_named,
    every_security_event_leaves_a_row,
    queries_filter_by_user_kind_time_and_page,
    a_panicking_or_blocked_subscriber_changes_nothing,
    unsubscribed_callbacks_stop_receiving,
    verification_racing_purges_never_raises_a_false_alarm,
);
