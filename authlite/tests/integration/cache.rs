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
