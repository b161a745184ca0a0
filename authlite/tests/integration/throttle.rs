//! Login throttling on a real file: lockout with a growing delay, per-address limits,
//! exact thresholds under parallel guessing, persistence, and admin unlock.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::common::*;
use authlite::{AuditKind, AuditQuery, Auth, ClientInfo, Config, ErrorKind, UserId};

fn strict(env: &Env) -> Config {
    Config { lockout_threshold: 5, address_max_failures: 0, ..env.config() }
}

fn from(ip: &str) -> ClientInfo {
    ClientInfo { ip: Some(ip.into()), user_agent: None }
}

fn attempt(auth: &Auth, name: &str, password: &str) -> authlite::Result<authlite::Login> {
    auth.login(name, password, &ClientInfo::default())
}

fn an_account_locks_at_the_threshold_even_for_the_right_password_and_counts_down(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    user(&auth, "alice");
    for _ in 0..5 {
        assert_eq!(
            attempt(&auth, "alice", "wrong guess").unwrap_err().kind(),
            ErrorKind::InvalidCredentials
        );
    }
    let locked = attempt(&auth, "alice", PASSWORD).unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::AccountLocked);
    assert_eq!(locked.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(locked.kind().http_status(), 429);

    env.clock.advance(Duration::from_secs(45));
    let locked = attempt(&auth, "alice", PASSWORD).unwrap_err();
    assert_eq!(locked.retry_after(), Some(Duration::from_secs(15)));
    env.clock.advance(Duration::from_secs(15));
    attempt(&auth, "alice", PASSWORD).expect("lock expired");

    // The success reset the counter: four more failures do not lock.
    for _ in 0..4 {
        attempt(&auth, "alice", "wrong guess").unwrap_err();
    }
    attempt(&auth, "alice", PASSWORD).expect("not locked after 4");
}

fn each_further_lockout_lasts_twice_as_long_up_to_the_cap(b: Backend) {
    let env = Env::on(b);
    let config = Config { lockout_max_duration: Duration::from_secs(150), ..strict(&env) };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    for expected in [60, 120, 150, 150] {
        for _ in 0..5 {
            attempt(&auth, "alice", "wrong guess").unwrap_err();
        }
        let e = attempt(&auth, "alice", "wrong guess").unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(expected)));
        env.clock.advance(Duration::from_secs(expected));
    }
}

fn thirty_two_parallel_wrong_guesses_never_overshoot_the_threshold(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    user(&auth, "alice");
    let barrier = Arc::new(Barrier::new(32));
    let kinds: Vec<ErrorKind> = (0..32)
        .map(|i| {
            let (auth, barrier) = (auth.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                attempt(&auth, "alice", &format!("wrong guess {i}")).unwrap_err().kind()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let evaluated = kinds.iter().filter(|k| **k == ErrorKind::InvalidCredentials).count();
    assert_eq!(evaluated, 5, "exactly the threshold of guesses were judged: {kinds:?}");
    assert!(
        kinds.iter().all(|k| matches!(k, ErrorKind::InvalidCredentials | ErrorKind::AccountLocked))
    );
    let failed = auth
        .audit(&AuditQuery { kind: Some(AuditKind::LoginFailed), ..Default::default() })
        .unwrap();
    assert_eq!(failed.len(), 5);
}

fn a_lockout_survives_reopening(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    user(&auth, "alice");
    for _ in 0..5 {
        attempt(&auth, "alice", "wrong guess").unwrap_err();
    }
    drop(auth);
    let auth = Auth::open_with(strict(&env)).unwrap();
    assert_eq!(attempt(&auth, "alice", PASSWORD).unwrap_err().kind(), ErrorKind::AccountLocked);
    let other = Auth::open_with(strict(&env)).unwrap();
    assert_eq!(attempt(&other, "alice", PASSWORD).unwrap_err().kind(), ErrorKind::AccountLocked);
}

fn an_administrator_can_unlock(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    let alice = user(&auth, "alice");
    for _ in 0..5 {
        attempt(&auth, "alice", "wrong guess").unwrap_err();
    }
    auth.unlock_user(alice.id).unwrap();
    attempt(&auth, "alice", PASSWORD).expect("unlocked");
    assert_eq!(auth.unlock_user(UserId(9999)).unwrap_err().kind(), ErrorKind::NotFound);
    let unlocked = auth
        .audit(&AuditQuery { kind: Some(AuditKind::AccountUnlocked), ..Default::default() })
        .unwrap();
    assert_eq!(unlocked[0].user_id, Some(alice.id));
}

fn unknown_names_lock_like_real_ones_so_lockouts_reveal_nothing(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    user(&auth, "alice");
    for name in ["alice", "ghost"] {
        for _ in 0..5 {
            assert_eq!(
                attempt(&auth, name, "wrong guess").unwrap_err().kind(),
                ErrorKind::InvalidCredentials
            );
        }
        let e = attempt(&auth, name, "wrong guess").unwrap_err();
        assert_eq!(
            (e.kind(), e.retry_after()),
            (ErrorKind::AccountLocked, Some(Duration::from_secs(60))),
            "{name}"
        );
    }
}

fn username_and_email_share_one_counter(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    auth.register(authlite::NewUser::new("alice", PASSWORD).email("a@x.io")).unwrap();
    for i in 0..5 {
        let name = if i % 2 == 0 { "alice" } else { "A@X.IO" };
        attempt(&auth, name, "wrong guess").unwrap_err();
    }
    assert_eq!(attempt(&auth, "a@x.io", PASSWORD).unwrap_err().kind(), ErrorKind::AccountLocked);
}

fn a_client_address_is_capped_per_window_across_accounts(b: Backend) {
    let env = Env::on(b);
    let config = Config {
        address_max_failures: 3,
        address_window: Duration::from_secs(600),
        ..env.config()
    };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    user(&auth, "bob");
    for name in ["alice", "bob", "carol"] {
        let e = auth.login(name, "wrong guess", &from("198.51.100.7")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    }
    env.clock.advance(Duration::from_secs(100));
    let limited = auth.login("alice", PASSWORD, &from("198.51.100.7")).unwrap_err();
    assert_eq!(limited.kind(), ErrorKind::RateLimited);
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(500)));
    auth.login("alice", PASSWORD, &from("198.51.100.8")).expect("other addresses unaffected");
    // IPv6 addresses count by /64.
    for i in 0..3 {
        auth.login("bob", "wrong guess", &from(&format!("2001:db8:7:7::{i}"))).unwrap_err();
    }
    let e = auth.login("bob", PASSWORD, &from("2001:db8:7:7::ffff")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    env.clock.advance(Duration::from_secs(500));
    auth.login("alice", PASSWORD, &from("198.51.100.7")).expect("window over");
}

fn wrong_old_passwords_count_toward_the_lockout(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    let alice = user(&auth, "alice");
    for _ in 0..5 {
        let e = auth
            .change_password(alice.id, "not my password", "a brand new passphrase")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    }
    let e = auth.change_password(alice.id, PASSWORD, "a brand new passphrase").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccountLocked);
    assert_eq!(attempt(&auth, "alice", PASSWORD).unwrap_err().kind(), ErrorKind::AccountLocked);
}

fn lockouts_are_audited(b: Backend) {
    let env = Env::on(b);
    let auth = Auth::open_with(strict(&env)).unwrap();
    let alice = user(&auth, "alice");
    for _ in 0..6 {
        attempt(&auth, "alice", "wrong guess").unwrap_err();
    }
    let events = auth.audit(&AuditQuery { user_id: Some(alice.id), ..Default::default() }).unwrap();
    let kinds: Vec<AuditKind> = events.iter().rev().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            vec![AuditKind::UserRegistered],
            vec![AuditKind::LoginFailed; 5],
            vec![AuditKind::AccountLocked, AuditKind::LoginLocked],
        ]
        .concat()
    );
}

#[test]
fn defaults_are_sensible() {
    let c = Config::new("x.db");
    assert_eq!(c.lockout_threshold, 10);
    assert_eq!(c.lockout_duration, Duration::from_secs(60));
    assert_eq!(c.lockout_max_duration, Duration::from_secs(3600));
    assert_eq!(c.address_max_failures, 100);
    assert_eq!(c.address_window, Duration::from_secs(900));
}

backend_tests!(
    an_account_locks_at_the_threshold_even_for_the_right_password_and_counts_down,
    each_further_lockout_lasts_twice_as_long_up_to_the_cap,
    thirty_two_parallel_wrong_guesses_never_overshoot_the_threshold,
    a_lockout_survives_reopening,
    an_administrator_can_unlock,
    unknown_names_lock_like_real_ones_so_lockouts_reveal_nothing,
    username_and_email_share_one_counter,
    a_client_address_is_capped_per_window_across_accounts,
    wrong_old_passwords_count_toward_the_lockout,
    lockouts_are_audited,
);
