//! The in-process validation cache must stay exact: whatever anyone commits — this engine,
//! another engine, a raw connection, through WAL checkpoints and restarts — the very next
//! `validate` answers what the database says.

use crate::common::*;
use authlite::{Auth, Config, ErrorKind};

/// What `validate` must say for a session whose `revoked_at` is `revoked`.
fn expect(auth: &Auth, token: &str, revoked: bool, step: usize) {
    let result = auth.validate(token);
    if revoked {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::RevokedToken, "step {step}");
    } else {
        assert!(result.is_ok(), "step {step}: {result:?}");
    }
}

#[test]
fn raw_commits_between_validations_are_always_seen_across_checkpoints() {
    let env = Env::new();
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let conn = raw(&env.path);
    let mut revoked = false;
    for step in 0..300 {
        // Several hits in a row, then one change by someone else.
        for _ in 0..3 {
            expect(&auth, &login.access_token, revoked, step);
        }
        revoked = !revoked;
        let value = if revoked { Some(1_i64) } else { None };
        conn.execute(
            "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2",
            (value, login.session.id.0),
        )
        .unwrap();
        match step % 7 {
            // WAL checkpoints and restarts rewrite the WAL-index header in other ways.
            0 => conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap(),
            3 => conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)").unwrap(),
            5 => conn.execute_batch("PRAGMA wal_checkpoint(RESTART)").unwrap(),
            _ => {}
        }
    }
}

#[test]
fn a_second_engine_sees_every_change_of_the_first_at_once() {
    let env = Env::new();
    let writer = env.open();
    let reader = env.open();
    let alice = user(&writer, "alice");
    for round in 0..50 {
        let login = login(&writer, "alice");
        for _ in 0..3 {
            reader.validate(&login.access_token).unwrap();
        }
        match round % 3 {
            0 => writer.revoke_session(login.session.id).unwrap(),
            1 => writer.logout(&login.access_token).unwrap(),
            _ => {
                writer.revoke_all_sessions(alice.id).unwrap();
            }
        }
        assert_eq!(
            reader.validate(&login.access_token).unwrap_err().kind(),
            ErrorKind::RevokedToken,
            "round {round}"
        );
    }
}

#[test]
fn cached_and_uncached_engines_always_agree() {
    let env = Env::new();
    let cached = env.open();
    let uncached = Auth::open_with(Config { validate_cache_capacity: 0, ..env.config() }).unwrap();
    let alice = user(&cached, "alice");
    let logins: Vec<_> = (0..4).map(|_| login(&cached, "alice")).collect();
    let check = |step: &str| {
        for l in &logins {
            let a = cached.validate(&l.access_token).map(|p| p.session_id).map_err(|e| e.kind());
            let b = uncached.validate(&l.access_token).map(|p| p.session_id).map_err(|e| e.kind());
            assert_eq!(a, b, "{step}");
        }
    };
    check("start");
    cached.revoke_session(logins[0].session.id).unwrap();
    check("one revoked");
    cached.create_role("clerk").unwrap();
    cached.assign_role(alice.id, "clerk").unwrap();
    check("role assigned");
    assert_eq!(cached.validate(&logins[1].access_token).unwrap().roles, ["clerk"]);
    cached.revoke_token(&logins[2].access_token).unwrap();
    check("one token revoked");
    uncached.deactivate_user(alice.id).unwrap();
    check("deactivated by the other engine");
    uncached.activate_user(alice.id).unwrap();
    check("activated again");
    env.clock.advance(cached.config().access_token_ttl);
    check("expired");
}

/// A hit answers for the whole credential string without verifying it again, but every
/// time-based check is still made on every call, and a retired key, a clock going back or
/// a string of another kind never get an answer from the cache.
#[test]
fn a_cached_string_is_still_checked_for_time_keys_and_kind() {
    use authlite::ApiKeySpec;
    use std::time::Duration;
    let env = Env::new();
    let auth = env.open();
    let other = env.open();
    let alice = user(&auth, "alice");
    let old = login(&auth, "alice");
    let ttl = auth.config().access_token_ttl;
    let key = auth
        .create_api_key(alice.id, ApiKeySpec::new("k").expires_in(ttl + Duration::from_secs(600)))
        .unwrap()
        .secret;
    let qr = auth.issue_scoped("table", "42", ttl + Duration::from_secs(900)).unwrap();
    let warm = |step: &str| {
        auth.validate(&old.access_token).unwrap_or_else(|e| panic!("{step}: {e}"));
        auth.validate_api_key(&key).unwrap_or_else(|e| panic!("{step}: {e}"));
        auth.verify_scoped(&qr, "table").unwrap_or_else(|e| panic!("{step}: {e}"));
    };
    warm("cached");

    // Kinds never answer for each other, cached or not; nor a scope for another scope.
    assert_eq!(err(auth.validate_api_key(&old.access_token)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.verify_scoped(&old.access_token, "table")), ErrorKind::InvalidToken);
    assert_eq!(err(auth.validate(&key)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.verify_scoped(&key, "table")), ErrorKind::InvalidToken);
    assert_eq!(err(auth.validate(&qr)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.validate_api_key(&qr)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.verify_scoped(&qr, "tables")), ErrorKind::InvalidToken);
    // A near-miss of a cached string is a different string: verified, and refused.
    let mut tampered = old.access_token.clone();
    tampered.push('A');
    assert_eq!(err(auth.validate(&tampered)), ErrorKind::InvalidToken);
    warm("after the wrong kinds");

    // The clock going back past `iat` (no leeway): issued in the future, cached or not.
    env.clock.set(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    assert_eq!(err(auth.validate(&old.access_token)), ErrorKind::InvalidToken);
    env.clock.set(old.session.created_at);
    warm("clock forward again");

    // Expiry crossed on a hit: the access token's `exp` (the key and QR code still live).
    env.clock.set(old.access_expires_at);
    assert_eq!(err(auth.validate(&old.access_token)), ErrorKind::ExpiredToken);
    auth.validate_api_key(&key).unwrap();
    auth.verify_scoped(&qr, "table").unwrap();
    // The API key's expiry (10 min later), then the QR code's (15 min).
    env.clock.set(old.session.created_at + ttl + Duration::from_secs(600));
    assert_eq!(err(auth.validate_api_key(&key)), ErrorKind::ExpiredToken);
    auth.verify_scoped(&qr, "table").unwrap();
    env.clock.set(old.session.created_at + ttl + Duration::from_secs(900));
    assert_eq!(err(auth.verify_scoped(&qr, "table")), ErrorKind::ExpiredToken);

    // A cached token whose signing key another engine retires: refused by the next call.
    env.clock.set(old.session.created_at);
    warm("before the rotation");
    let keys = auth.signing_keys().unwrap();
    let kid = keys.iter().find(|k| k.signing).unwrap().kid.clone();
    other.rotate_signing_key().unwrap();
    auth.validate(&old.access_token).unwrap();
    other.retire_signing_key(&kid).unwrap();
    assert_eq!(err(auth.validate(&old.access_token)), ErrorKind::InvalidToken);
}
