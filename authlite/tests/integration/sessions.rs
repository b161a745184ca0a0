//! Login, refresh rotation, lifetimes, logout and revocation on a real database file.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::common::*;
use authlite::{Auth, ClientInfo, Clock, Config, ErrorKind, SessionId, UserId};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn login_creates_a_session_with_client_info_and_tokens(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth
        .register(authlite::NewUser::new("Alice", PASSWORD).email("alice@example.com"))
        .unwrap();
    let client = ClientInfo {
        ip: Some("203.0.113.9".into()),
        user_agent: Some("test-agent/1.0\u{7}".into()),
    };
    let login = auth.login("ALICE", PASSWORD, &client).unwrap();
    assert_eq!(login.user.id, alice.id);
    assert!(login.user.last_login_at.is_some());
    assert_eq!(login.session.user_id, alice.id);
    assert_eq!(login.session.ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(
        login.session.user_agent.as_deref(),
        Some("test-agent/1.0?"),
        "control chars replaced"
    );
    let now = env.clock.now();
    let ttl = auth.config().access_token_ttl;
    let skew = login.access_expires_at.duration_since(now - Duration::from_secs(1)).unwrap();
    assert!(skew <= ttl + Duration::from_secs(1) && skew >= ttl - Duration::from_secs(1));
    assert_eq!(login.session.expires_at, login.session.created_at + auth.config().session_lifetime);
    assert!(!format!("{login:?}").contains(&login.access_token), "Debug hides tokens");

    let by_email = auth.login("ALICE@example.com", PASSWORD, &ClientInfo::default()).unwrap();
    assert_eq!(by_email.user.id, alice.id);
    assert_ne!(by_email.session.id, login.session.id);

    let who = auth.validate(&login.access_token).unwrap();
    assert_eq!((who.user_id, who.session_id), (alice.id, Some(login.session.id)));
    assert_eq!(who.username, "Alice");
}

fn wrong_password_and_unknown_user_look_the_same(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let wrong = auth.login("alice", "not the password", &ClientInfo::default()).unwrap_err();
    let unknown = auth.login("mallory", PASSWORD, &ClientInfo::default()).unwrap_err();
    let garbage = auth.login("bad\0name", PASSWORD, &ClientInfo::default()).unwrap_err();
    let too_long = auth.login("alice", &"x".repeat(100_000), &ClientInfo::default()).unwrap_err();
    for e in [&wrong, &unknown, &garbage, &too_long] {
        assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
        assert_eq!(e.to_string(), wrong.to_string());
    }
}

fn unknown_users_take_as_long_as_wrong_passwords(b: Backend) {
    // A dummy PBKDF2 runs for unknown users. Real iterations make hashing dominate; compare
    // the fastest of several tries so machine noise only ever makes the ratio fairer.
    let env = Env::on(b);
    let auth = Auth::open_with(Config { pbkdf2_iterations: 200_000, ..env.config() }).unwrap();
    user(&auth, "alice");
    let time = |name: &str| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                let _ = auth.login(name, "wrong password!", &ClientInfo::default());
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let (known, unknown) = (time("alice"), time("nobody"));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((0.5..2.0).contains(&ratio), "known {known:?} vs unknown {unknown:?}");
}

fn logout_ends_the_session_for_every_token_of_it(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let other = crate::common::login(&auth, "alice");
    auth.logout(&login.access_token).unwrap();
    assert_eq!(err(auth.validate(&login.access_token)), ErrorKind::RevokedToken);
    assert_eq!(err(auth.refresh(&login.refresh_token)), ErrorKind::RevokedToken);
    assert!(auth.validate(&other.access_token).is_ok(), "other sessions live on");
    auth.logout(&login.access_token).unwrap();
    assert_eq!(err(auth.logout("not-a-token")), ErrorKind::InvalidToken);
}

fn logout_accepts_an_expired_but_genuine_token(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    env.clock.advance(auth.config().access_token_ttl * 2);
    auth.logout(&login.access_token).unwrap();
    assert_eq!(err(auth.refresh(&login.refresh_token)), ErrorKind::RevokedToken);
}

fn refresh_rotates_and_a_replay_revokes_the_whole_session(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let next = auth.refresh(&login.refresh_token).unwrap();
    assert_ne!(next.refresh_token, login.refresh_token);
    assert_ne!(next.access_token, login.access_token);
    assert!(!format!("{next:?}").contains(&next.refresh_token));
    let who = auth.validate(&next.access_token).unwrap();
    assert_eq!(who.session_id, Some(login.session.id), "same session");
    let third = auth.refresh(&next.refresh_token).unwrap();

    assert_eq!(err(auth.refresh(&login.refresh_token)), ErrorKind::TokenReused);
    for token in [&login.access_token, &next.access_token, &third.access_token] {
        assert_eq!(err(auth.validate(token)), ErrorKind::RevokedToken);
    }
    assert_eq!(err(auth.refresh(&third.refresh_token)), ErrorKind::RevokedToken);
    assert!(auth.session(login.session.id).unwrap().revoked_at.is_some());
}

fn malformed_and_unknown_refresh_tokens_are_invalid_and_harmless(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let (selector, secret) = login.refresh_token.split_once('.').unwrap();
    let flipped = if secret.starts_with('A') { "B" } else { "A" };
    let wrong_secret = format!("{selector}.{flipped}{}", &secret[1..]);
    for bad in ["", ".", "x.y", &login.access_token, &wrong_secret, &"A".repeat(10_000)] {
        assert_eq!(err(auth.refresh(bad)), ErrorKind::InvalidToken, "{bad:.30}");
    }
    // A wrong secret for a real selector is not "reuse": the session survives.
    assert!(auth.refresh(&login.refresh_token).is_ok());
}

fn sixteen_threads_redeeming_one_refresh_token_yield_exactly_one_winner(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let token = login(&auth, "alice").refresh_token;
    let barrier = Arc::new(Barrier::new(16));
    let results: Vec<_> = (0..16)
        .map(|_| {
            let (auth, token, barrier) = (auth.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                auth.refresh(&token)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1);
    for r in results.iter().filter(|r| r.is_err()) {
        assert_eq!(r.as_ref().unwrap_err().kind(), ErrorKind::TokenReused);
    }
}

fn idle_timeout_ends_unrefreshed_sessions_and_refresh_slides_it(b: Backend) {
    let env = Env::on(b);
    let config = Config {
        session_idle_timeout: Duration::from_secs(600),
        access_token_ttl: Duration::from_secs(3600),
        ..env.config()
    };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    let first = login(&auth, "alice");
    env.clock.advance(Duration::from_secs(599));
    let pair = auth.refresh(&first.refresh_token).unwrap();
    env.clock.advance(Duration::from_secs(599));
    assert!(auth.validate(&pair.access_token).is_ok(), "refresh slid the idle expiry");
    env.clock.advance(Duration::from_secs(1));
    assert_eq!(err(auth.validate(&pair.access_token)), ErrorKind::ExpiredToken);
    assert_eq!(err(auth.refresh(&pair.refresh_token)), ErrorKind::ExpiredToken);
    assert!(auth.sessions(first.user.id).unwrap().is_empty());
}

fn absolute_lifetime_never_moves(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let lifetime = auth.config().session_lifetime; // 30 days, idle 14 days
    let mut pair = auth.refresh(&login.refresh_token).unwrap();
    for _ in 0..2 {
        env.clock.advance(10 * DAY);
        pair = auth.refresh(&pair.refresh_token).unwrap();
    }
    let session = auth.session(login.session.id).unwrap();
    assert_eq!(session.expires_at, login.session.expires_at, "absolute end unchanged");
    assert_eq!(session.expires_at, session.created_at + lifetime);
    assert_eq!(session.idle_expires_at, session.expires_at, "idle expiry capped at the end");
    assert!(
        pair.access_expires_at <= session.expires_at,
        "access tokens never outlive their session"
    );
    env.clock.advance(10 * DAY - Duration::from_secs(1));
    let pair = auth.refresh(&pair.refresh_token).unwrap();
    env.clock.advance(Duration::from_secs(1));
    assert_eq!(err(auth.validate(&pair.access_token)), ErrorKind::ExpiredToken);
    assert_eq!(err(auth.refresh(&pair.refresh_token)), ErrorKind::ExpiredToken);
}

fn sessions_are_listed_and_revoked(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let bob = user(&auth, "bob");
    let a1 = login(&auth, "alice");
    env.clock.advance(Duration::from_secs(1));
    let a2 = login(&auth, "alice");
    let b1 = login(&auth, "bob");
    let listed: Vec<_> = auth.sessions(alice.id).unwrap().iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![a2.session.id, a1.session.id], "newest first");

    auth.revoke_session(a1.session.id).unwrap();
    auth.revoke_session(a1.session.id).unwrap(); // idempotent
    assert_eq!(err(auth.validate(&a1.access_token)), ErrorKind::RevokedToken);
    assert_eq!(auth.sessions(alice.id).unwrap().len(), 1);

    assert_eq!(auth.revoke_all_sessions(alice.id).unwrap(), 1);
    assert_eq!(err(auth.validate(&a2.access_token)), ErrorKind::RevokedToken);
    assert!(auth.validate(&b1.access_token).is_ok(), "bob untouched");
    assert_eq!(auth.sessions(bob.id).unwrap().len(), 1);

    assert_eq!(err(auth.revoke_session(SessionId(999_999))), ErrorKind::NotFound);
    assert_eq!(err(auth.revoke_all_sessions(UserId(999_999))), ErrorKind::NotFound);
    assert_eq!(err(auth.session(SessionId(999_999))), ErrorKind::NotFound);
    assert!(auth.sessions(UserId(999_999)).unwrap().is_empty());
}

fn revocation_is_seen_at_once_by_another_engine_on_the_same_file(b: Backend) {
    let env = Env::on(b);
    let a = env.open();
    let b = env.open();
    let alice = user(&a, "alice");
    let login = login(&a, "alice");
    // Warm b's cache first: the next answer must still change.
    for _ in 0..3 {
        b.validate(&login.access_token).unwrap();
    }
    a.revoke_session(login.session.id).unwrap();
    assert_eq!(err(b.validate(&login.access_token)), ErrorKind::RevokedToken);

    let second = crate::common::login(&b, "alice");
    b.validate(&second.access_token).unwrap();
    a.deactivate_user(alice.id).unwrap();
    assert_eq!(err(b.validate(&second.access_token)), ErrorKind::InactiveUser);
}

fn changes_by_raw_sql_from_another_connection_are_seen_at_once(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    auth.validate(&login.access_token).unwrap();
    auth.validate(&login.access_token).unwrap();
    let id = login.session.id;
    env.exec(&format!("UPDATE sessions SET revoked_at = 1 WHERE id = {id}"));
    assert_eq!(err(auth.validate(&login.access_token)), ErrorKind::RevokedToken);
    env.exec(&format!("UPDATE sessions SET revoked_at = NULL WHERE id = {id}"));
    assert!(auth.validate(&login.access_token).is_ok());
}

fn password_change_and_reset_end_every_session(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let before = login(&auth, "alice");
    assert_eq!(
        err(auth.change_password(alice.id, "wrong old password", "a brand new passphrase")),
        ErrorKind::InvalidCredentials
    );
    assert!(auth.validate(&before.access_token).is_ok(), "failed change changes nothing");
    auth.change_password(alice.id, PASSWORD, "a brand new passphrase").unwrap();
    assert_eq!(err(auth.validate(&before.access_token)), ErrorKind::RevokedToken);
    assert_eq!(err(auth.refresh(&before.refresh_token)), ErrorKind::RevokedToken);
    assert_eq!(
        err(auth.login("alice", PASSWORD, &ClientInfo::default())),
        ErrorKind::InvalidCredentials
    );
    let after = auth.login("alice", "a brand new passphrase", &ClientInfo::default()).unwrap();

    auth.set_password(alice.id, "reset by the administrator").unwrap();
    assert_eq!(err(auth.validate(&after.access_token)), ErrorKind::RevokedToken);
    auth.login("alice", "reset by the administrator", &ClientInfo::default()).unwrap();
}

fn deactivation_blocks_everything_until_activation(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let login = login(&auth, "alice");
    auth.deactivate_user(alice.id).unwrap();
    auth.deactivate_user(alice.id).unwrap(); // idempotent
    assert!(!auth.user(alice.id).unwrap().active);
    assert_eq!(err(auth.validate(&login.access_token)), ErrorKind::InactiveUser);
    assert_eq!(
        err(auth.refresh(&login.refresh_token)),
        ErrorKind::InactiveUser,
        "one liveness rule"
    );
    assert_eq!(err(auth.login("alice", PASSWORD, &ClientInfo::default())), ErrorKind::InactiveUser);
    assert_eq!(
        err(auth.login("alice", "wrong password", &ClientInfo::default())),
        ErrorKind::InvalidCredentials,
        "no account state revealed without the password"
    );
    auth.activate_user(alice.id).unwrap();
    assert_eq!(
        err(auth.validate(&login.access_token)),
        ErrorKind::RevokedToken,
        "old sessions stay dead"
    );
    let again = crate::common::login(&auth, "alice");
    assert!(auth.validate(&again.access_token).is_ok());
}

fn deleting_a_user_kills_their_tokens_and_frees_nothing_for_reuse(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let login = login(&auth, "alice");
    auth.delete_user(alice.id).unwrap();
    assert_eq!(err(auth.validate(&login.access_token)), ErrorKind::RevokedToken);
    assert_eq!(err(auth.refresh(&login.refresh_token)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.user(alice.id)), ErrorKind::NotFound);
    assert_eq!(err(auth.delete_user(alice.id)), ErrorKind::NotFound);
    assert_eq!(
        err(auth.login("alice", PASSWORD, &ClientInfo::default())),
        ErrorKind::InvalidCredentials
    );
    // A new "alice" gets a new id: the old token still names the old one.
    let new_alice = user(&auth, "alice");
    assert_ne!(new_alice.id, alice.id);
    assert_eq!(err(auth.validate(&login.access_token)), ErrorKind::RevokedToken);
}

fn purge_removes_ended_sessions_only(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let dead = login(&auth, "alice");
    let live = crate::common::login(&auth, "alice");
    auth.logout(&dead.access_token).unwrap();
    assert_eq!(auth.purge_expired().unwrap(), 1);
    assert_eq!(err(auth.session(dead.session.id)), ErrorKind::NotFound);
    assert_eq!(err(auth.validate(&dead.access_token)), ErrorKind::RevokedToken);
    assert!(auth.validate(&live.access_token).is_ok());
}

fn the_cache_never_outlives_expiry(b: Backend) {
    let env = Env::on(b);
    let config = Config { session_idle_timeout: Duration::from_secs(60), ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    for _ in 0..5 {
        auth.validate(&login.access_token).unwrap();
    }
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(err(auth.validate(&login.access_token)), ErrorKind::ExpiredToken);
}

fn revoke_all_counts_only_sessions_that_were_live(b: Backend) {
    let env = Env::on(b);
    let config = Config { session_idle_timeout: Duration::from_secs(600), ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    let alice = user(&auth, "alice");
    login(&auth, "alice");
    env.clock.advance(Duration::from_secs(600)); // that one is now idle-expired
    login(&auth, "alice");
    assert_eq!(auth.sessions(alice.id).unwrap().len(), 1);
    assert_eq!(auth.revoke_all_sessions(alice.id).unwrap(), 1);
}

/// `validate` and `refresh` share one rule for whether a session can be used, with one
/// precedence: inactive account, then revoked session, then expired session.
fn validate_and_refresh_agree_on_every_session_outcome(b: Backend) {
    type Change = fn(&Auth, &Env, &authlite::Login);
    let deactivate: Change = |auth, _, login| auth.deactivate_user(login.user.id).unwrap();
    let revoke: Change = |auth, _, login| auth.revoke_session(login.session.id).unwrap();
    let idle: Change = |_, env, _| env.clock.advance(Duration::from_secs(2 * 60));
    let revoke_then_idle: Change = |auth, env, login| {
        auth.revoke_session(login.session.id).unwrap();
        env.clock.advance(Duration::from_secs(2 * 60));
    };
    let absolute: Change = |_, env, _| env.clock.advance(Duration::from_secs(11 * 60));
    let cases: [(&str, Change, ErrorKind); 5] = [
        // Deactivation also revokes the sessions: the account decides first.
        ("deactivated", deactivate, ErrorKind::InactiveUser),
        ("revoked", revoke, ErrorKind::RevokedToken),
        ("idle", idle, ErrorKind::ExpiredToken),
        ("revoked, then idle", revoke_then_idle, ErrorKind::RevokedToken),
        ("past its lifetime", absolute, ErrorKind::ExpiredToken),
    ];
    for (name, change, expected) in cases {
        let env = Env::on(b);
        let config = Config {
            session_idle_timeout: Duration::from_secs(60),
            session_lifetime: Duration::from_secs(10 * 60),
            access_token_ttl: Duration::from_secs(60 * 60),
            ..env.config()
        };
        let auth = Auth::open_with(config).unwrap();
        user(&auth, "alice");
        let login = login(&auth, "alice");
        change(&auth, &env, &login);
        assert_eq!(err(auth.validate(&login.access_token)), expected, "validate: {name}");
        assert_eq!(err(auth.refresh(&login.refresh_token)), expected, "refresh: {name}");
    }
}

fn a_refresh_token_alone_logs_out_and_pairs_say_their_session_and_refresh_expiry(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let first = login(&auth, "alice");
    let pair = auth.refresh(&first.refresh_token).unwrap();
    assert_eq!(pair.session_id, first.session.id);
    let session = auth.session(first.session.id).unwrap();
    assert_eq!(pair.refresh_expires_at, session.idle_expires_at);
    auth.logout_with_refresh_token(&pair.refresh_token).unwrap();
    assert_eq!(err(auth.validate(&pair.access_token)), ErrorKind::RevokedToken);
    auth.logout_with_refresh_token(&pair.refresh_token).unwrap(); // already ended: fine
    assert_eq!(err(auth.logout_with_refresh_token("garbage")), ErrorKind::InvalidToken);
}

fn public_values_serialize_without_secrets_and_kinds_have_stable_names(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(authlite::NewUser::new("alice", PASSWORD).email("a@x.io")).unwrap();
    let login = login(&auth, "alice");
    let who = auth.validate(&login.access_token).unwrap();
    let user = serde_json::to_value(&alice).unwrap();
    assert_eq!(user["username"], "alice");
    assert_eq!(user["kind"], "person");
    assert!(user["created_at"].is_i64(), "times are milliseconds: {user}");
    let principal = serde_json::to_value(&who).unwrap();
    assert_eq!(principal["session_id"], login.session.id.get());
    let session = serde_json::to_value(&login.session).unwrap();
    let events = serde_json::to_value(auth.audit(&Default::default()).unwrap()).unwrap();
    assert_eq!(events[0]["kind"], "login.succeeded");
    let all = format!("{user}{principal}{session}{events}");
    assert!(!all.contains("pbkdf2") && !all.contains(&login.refresh_token));
    let names: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), ErrorKind::ALL.len());
    assert_eq!(ErrorKind::InvalidToken.as_str(), "invalid_token");
    assert_eq!(ErrorKind::MfaRequired.http_status(), 401);
}

backend_tests!(
    changes_by_raw_sql_from_another_connection_are_seen_at_once,
    login_creates_a_session_with_client_info_and_tokens,
    wrong_password_and_unknown_user_look_the_same,
    unknown_users_take_as_long_as_wrong_passwords,
    logout_ends_the_session_for_every_token_of_it,
    logout_accepts_an_expired_but_genuine_token,
    refresh_rotates_and_a_replay_revokes_the_whole_session,
    malformed_and_unknown_refresh_tokens_are_invalid_and_harmless,
    sixteen_threads_redeeming_one_refresh_token_yield_exactly_one_winner,
    idle_timeout_ends_unrefreshed_sessions_and_refresh_slides_it,
    absolute_lifetime_never_moves,
    sessions_are_listed_and_revoked,
    revocation_is_seen_at_once_by_another_engine_on_the_same_file,
    password_change_and_reset_end_every_session,
    deactivation_blocks_everything_until_activation,
    deleting_a_user_kills_their_tokens_and_frees_nothing_for_reuse,
    purge_removes_ended_sessions_only,
    the_cache_never_outlives_expiry,
    revoke_all_counts_only_sessions_that_were_live,
    validate_and_refresh_agree_on_every_session_outcome,
    a_refresh_token_alone_logs_out_and_pairs_say_their_session_and_refresh_expiry,
    public_values_serialize_without_secrets_and_kinds_have_stable_names,
);
