//! Machine credentials (DESIGN §8): scoped capability tokens, service accounts, API keys
//! and service tokens.

use std::time::Duration;

use crate::common::*;
use authlite::{
    AccountKind, ApiKeySpec, AuditKind, AuditQuery, ClientInfo, ErrorKind, ServiceTokenCache,
    UserQuery,
};

const HOUR: Duration = Duration::from_secs(3600);

// --- scoped capability tokens -----------------------------------------------------------

fn a_scoped_token_grants_its_scope_and_subject_until_it_expires(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let qr = auth.issue_scoped("table", "42", 4 * HOUR).unwrap();
    assert!(qr.len() < 60, "fits a small QR code: {qr}");
    assert!(qr.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe");
    let grant = auth.verify_scoped(&qr, "table").unwrap();
    assert_eq!((grant.scope.as_str(), grant.subject.as_str()), ("table", "42"));
    assert_eq!(grant.expires_at.duration_since(grant.issued_at).unwrap(), 4 * HOUR);

    assert_eq!(err(auth.verify_scoped(&qr, "room")), ErrorKind::InvalidToken, "other scope");
    let mut tampered = qr.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(err(auth.verify_scoped(&tampered, "table")), ErrorKind::InvalidToken);
    for junk in ["", "x", "a.b", &"A".repeat(5000)] {
        assert_eq!(err(auth.verify_scoped(junk, "table")), ErrorKind::InvalidToken);
    }
    let other = Env::on(b).open();
    assert_eq!(err(other.verify_scoped(&qr, "table")), ErrorKind::InvalidToken, "other engine");

    env.clock.advance(4 * HOUR - Duration::from_millis(1));
    auth.verify_scoped(&qr, "table").unwrap();
    env.clock.advance(Duration::from_millis(1));
    assert_eq!(err(auth.verify_scoped(&qr, "table")), ErrorKind::ExpiredToken);
}

fn revoking_a_subject_kills_its_tokens_in_every_engine_on_the_next_verify(b: Backend) {
    let env = Env::on(b);
    let (staff, till) = (env.open(), env.open());
    let table42 = staff.issue_scoped("table", "42", HOUR).unwrap();
    let table7 = staff.issue_scoped("table", "7", HOUR).unwrap();
    for _ in 0..3 {
        till.verify_scoped(&table42, "table").unwrap(); // cached in the till's engine
    }
    staff.revoke_scoped("table", "42").unwrap();
    assert_eq!(err(till.verify_scoped(&table42, "table")), ErrorKind::RevokedToken);
    till.verify_scoped(&table7, "table").expect("another subject lives");
    env.clock.advance(Duration::from_millis(5));
    let reseated = staff.issue_scoped("table", "42", HOUR).unwrap();
    till.verify_scoped(&reseated, "table").expect("a code printed after the revocation works");
    assert_eq!(err(till.verify_scoped(&table42, "table")), ErrorKind::RevokedToken);
    assert_eq!(err(staff.issue_scoped("table", "", HOUR)), ErrorKind::InvalidInput);
    assert_eq!(err(staff.issue_scoped("no spaces", "1", HOUR)), ErrorKind::InvalidInput);
    assert_eq!(err(staff.issue_scoped("table", "1", Duration::ZERO)), ErrorKind::InvalidInput);
}

// --- service accounts and API keys --------------------------------------------------------

fn a_service_account_has_no_password_login_but_roles_as_usual(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let svc = auth.create_service_account("billing").unwrap();
    assert_eq!(svc.kind, AccountKind::Service);
    user(&auth, "alice");
    assert_eq!(auth.user(svc.id).unwrap().kind, AccountKind::Service);
    for guess in ["", "!", PASSWORD] {
        let result = auth.login("billing", guess, &ClientInfo::default());
        assert_eq!(err(result), ErrorKind::InvalidCredentials, "{guess:?}");
    }
    assert_eq!(err(auth.set_password(svc.id, "a service passphrase")), ErrorKind::InvalidInput);
    let services = UserQuery { kind: Some(AccountKind::Service), ..Default::default() };
    let listed: Vec<String> =
        auth.list_users(&services).unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(listed, ["billing"]);
    let people = UserQuery { kind: Some(AccountKind::Person), ..Default::default() };
    assert_eq!(auth.list_users(&people).unwrap().len(), 1);
    assert_eq!(err(auth.create_service_account("Billing")), ErrorKind::Conflict);
}

fn an_api_key_acts_for_its_account_within_its_scopes(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    auth.create_role("ops").unwrap();
    auth.grant("ops", "orders", "*").unwrap();
    let svc = auth.create_service_account("billing").unwrap();
    auth.assign_role(svc.id, "ops").unwrap();
    let spec = ApiKeySpec::new("billing-prod").scopes(["orders:read"]).expires_in(90 * 24 * HOUR);
    let key = auth.create_api_key(svc.id, spec).unwrap();
    assert!(key.secret.starts_with("alk_") && key.secret.starts_with(&key.info.prefix));
    assert!(!format!("{key:?}").contains(&key.secret), "Debug hides the secret");

    let who = auth.validate_api_key(&key.secret).unwrap();
    assert_eq!((who.user_id, who.kind), (svc.id, AccountKind::Service));
    assert_eq!((who.api_key_id, who.session_id), (Some(key.info.id), None));
    assert_eq!(who.scopes.as_deref(), Some(&["orders:read".to_owned()][..]));
    assert!(who.claims.is_none() && who.has_role("ops") && who.has_scope("orders:read"));
    auth.authorize(&who, "orders", "read").unwrap();
    assert_eq!(err(auth.authorize(&who, "orders", "refund")), ErrorKind::Forbidden, "narrowed");

    // A person's key (a personal access token), unscoped: the roles alone decide.
    let alice = user(&auth, "alice");
    let pat = auth.create_api_key(alice.id, ApiKeySpec::new("laptop")).unwrap();
    let who = auth.validate_api_key(&pat.secret).unwrap();
    assert_eq!((who.kind, who.scopes.clone()), (AccountKind::Person, None));
    assert_eq!(err(auth.authorize(&who, "orders", "read")), ErrorKind::Forbidden, "no role");

    let listed = auth.api_keys(svc.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, &listed[0].prefix), (key.info.id, &key.info.prefix));
    assert!(listed[0].last_used_at.is_some(), "the validation above was recorded");
    for bad in [
        ApiKeySpec::new(""),
        ApiKeySpec::new("x").scopes(["orders"]),
        ApiKeySpec::new("x").expires_in(Duration::ZERO),
    ] {
        assert_eq!(err(auth.create_api_key(svc.id, bad)), ErrorKind::InvalidInput);
    }
    assert_eq!(
        err(auth.create_api_key(authlite::UserId(999), ApiKeySpec::new("x"))),
        ErrorKind::NotFound
    );
}

#[test]
fn a_mistyped_key_is_refused_without_a_database_read() {
    let env = Env::new();
    let auth = env.open();
    let svc = auth.create_service_account("billing").unwrap();
    let key = auth.create_api_key(svc.id, ApiKeySpec::new("k")).unwrap().secret;
    let mut typo = key.clone();
    let i = typo.len() / 2;
    let c = if &typo[i..i + 1] == "A" { "B" } else { "A" };
    typo.replace_range(i..i + 1, c);
    // With the file gone every read fails with Storage; the typo still gets InvalidToken,
    // so it was refused before any read.
    std::fs::rename(&env.path, env.dir.path().join("moved.db")).unwrap();
    assert_eq!(err(auth.validate_api_key(&typo)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.validate_api_key("alk_nonsense")), ErrorKind::InvalidToken);
    assert_eq!(err(auth.validate_api_key(&key)), ErrorKind::Storage, "a real key needs the read");
}

fn revoked_expired_and_deactivated_keys_stop_in_every_engine(b: Backend) {
    let env = Env::on(b);
    let (admin, api) = (env.open(), env.open());
    let svc = admin.create_service_account("billing").unwrap();
    let revoked = admin.create_api_key(svc.id, ApiKeySpec::new("a")).unwrap();
    let expiring = admin.create_api_key(svc.id, ApiKeySpec::new("b").expires_in(HOUR)).unwrap();
    for key in [&revoked.secret, &expiring.secret] {
        api.validate_api_key(key).unwrap();
    }
    admin.revoke_api_key(revoked.info.id).unwrap();
    admin.revoke_api_key(revoked.info.id).unwrap(); // idempotent
    assert_eq!(err(api.validate_api_key(&revoked.secret)), ErrorKind::RevokedToken);
    env.clock.advance(HOUR);
    assert_eq!(err(api.validate_api_key(&expiring.secret)), ErrorKind::ExpiredToken);

    let fresh = admin.create_api_key(svc.id, ApiKeySpec::new("c")).unwrap();
    api.validate_api_key(&fresh.secret).unwrap();
    admin.deactivate_user(svc.id).unwrap();
    assert_eq!(err(api.validate_api_key(&fresh.secret)), ErrorKind::InactiveUser);
    admin.activate_user(svc.id).unwrap();
    api.validate_api_key(&fresh.secret).unwrap();
    admin.delete_user(svc.id).unwrap();
    assert_eq!(err(api.validate_api_key(&fresh.secret)), ErrorKind::InvalidToken, "gone");
    assert_eq!(err(admin.revoke_api_key(fresh.info.id)), ErrorKind::NotFound);
}

fn last_used_is_written_at_most_once_an_hour(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let svc = auth.create_service_account("billing").unwrap();
    let key = auth.create_api_key(svc.id, ApiKeySpec::new("k")).unwrap();
    assert_eq!(auth.api_keys(svc.id).unwrap()[0].last_used_at, None);
    auth.validate_api_key(&key.secret).unwrap();
    let first = auth.api_keys(svc.id).unwrap()[0].last_used_at.expect("recorded");
    let epoch_writes = || auth.status().unwrap().audit_rows;
    let before = epoch_writes();
    env.clock.advance(Duration::from_secs(59 * 60));
    for _ in 0..50 {
        auth.validate_api_key(&key.secret).unwrap();
    }
    assert_eq!(auth.api_keys(svc.id).unwrap()[0].last_used_at, Some(first), "no write");
    assert_eq!(epoch_writes(), before, "validation is not audited");
    env.clock.advance(Duration::from_secs(60));
    auth.validate_api_key(&key.secret).unwrap();
    assert!(auth.api_keys(svc.id).unwrap()[0].last_used_at > Some(first));
}

// --- service tokens -------------------------------------------------------------------------

fn a_service_token_validates_while_its_key_does(b: Backend) {
    let env = Env::on(b);
    let (caller, callee) = (env.open(), env.open());
    let svc = caller.create_service_account("billing").unwrap();
    let key = caller.create_api_key(svc.id, ApiKeySpec::new("k").scopes(["orders:read"])).unwrap();
    let st = caller.issue_service_token(&key.secret).unwrap();
    let now = authlite::Clock::now(&env.clock);
    let left = st.expires_at.duration_since(now).unwrap().as_secs();
    assert!((3599..=3600).contains(&left), "{left}");
    let who = callee.validate(&st.access_token).unwrap();
    assert_eq!(
        (who.kind, who.api_key_id, who.session_id),
        (AccountKind::Service, Some(key.info.id), None)
    );
    assert_eq!(who.scopes.as_deref(), Some(&["orders:read".to_owned()][..]));
    assert_eq!(who.claims.as_ref().unwrap().akid, Some(key.info.id));
    assert!(callee.validate_stateless(&st.access_token).is_ok());
    assert_eq!(
        err(caller.refresh(&st.access_token)),
        ErrorKind::InvalidToken,
        "not a refresh token"
    );

    caller.revoke_api_key(key.info.id).unwrap();
    assert_eq!(
        err(callee.validate(&st.access_token)),
        ErrorKind::RevokedToken,
        "dies with its key"
    );
    assert_eq!(err(caller.issue_service_token(&key.secret)), ErrorKind::RevokedToken);

    let key = caller.create_api_key(svc.id, ApiKeySpec::new("k2")).unwrap();
    let st = caller.issue_service_token(&key.secret).unwrap();
    callee.validate(&st.access_token).unwrap();
    caller.deactivate_user(svc.id).unwrap();
    assert_eq!(err(callee.validate(&st.access_token)), ErrorKind::InactiveUser);
    caller.activate_user(svc.id).unwrap();
    assert_eq!(err(callee.validate(&st.access_token)), ErrorKind::RevokedToken, "superseded");

    let st = caller.issue_service_token(&key.secret).unwrap();
    let old_kid = caller.signing_keys().unwrap()[0].kid.clone();
    caller.rotate_signing_key().unwrap();
    callee.validate(&st.access_token).unwrap();
    caller.retire_signing_key(&old_kid).unwrap();
    assert_eq!(err(callee.validate(&st.access_token)), ErrorKind::InvalidToken, "key retired");

    let st = caller.issue_service_token(&key.secret).unwrap();
    caller.logout(&st.access_token).unwrap();
    assert_eq!(
        err(callee.validate(&st.access_token)),
        ErrorKind::RevokedToken,
        "logout revokes it"
    );
    env.clock.advance(HOUR);
    let st = caller.issue_service_token(&key.secret).unwrap();
    env.clock.advance(HOUR);
    assert_eq!(err(callee.validate(&st.access_token)), ErrorKind::ExpiredToken);
}

fn a_service_token_never_outlives_its_key(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let svc = auth.create_service_account("billing").unwrap();
    let key = auth
        .create_api_key(svc.id, ApiKeySpec::new("k").expires_in(Duration::from_secs(600)))
        .unwrap();
    let st = auth.issue_service_token(&key.secret).unwrap();
    let left = st.expires_at.duration_since(authlite::Clock::now(&env.clock)).unwrap();
    assert!(left <= Duration::from_secs(600) && left > Duration::from_secs(599), "{left:?}");
}

fn the_token_cache_reuses_until_a_tenth_is_left_and_never_hands_out_an_expired_token(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let svc = auth.create_service_account("billing").unwrap();
    let key = auth.create_api_key(svc.id, ApiKeySpec::new("k")).unwrap();
    let cache = std::sync::Arc::new(ServiceTokenCache::new(auth.clone(), key.secret.clone()));
    let first = cache.get().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let cache = cache.clone();
            std::thread::spawn(move || cache.get().unwrap())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), first, "shared across threads");
    }
    env.clock.advance(Duration::from_secs(53 * 60)); // 7 minutes (> 6) left
    assert_eq!(cache.get().unwrap(), first);
    env.clock.advance(Duration::from_secs(60)); // 6 minutes: a tenth
    let second = cache.get().unwrap();
    assert_ne!(second, first);
    auth.validate(&second).unwrap();
    env.clock.advance(2 * HOUR);
    let third = cache.get().unwrap();
    auth.validate(&third).expect("never an expired token");
    auth.revoke_api_key(key.info.id).unwrap();
    env.clock.advance(HOUR);
    assert_eq!(err(cache.get()), ErrorKind::RevokedToken);
}

fn every_credential_operation_is_audited_and_no_secret_is_stored(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let svc = auth.create_service_account("billing").unwrap();
    let key = auth.create_api_key(svc.id, ApiKeySpec::new("k")).unwrap();
    let st = auth.issue_service_token(&key.secret).unwrap();
    let qr = auth.issue_scoped("table", "42", HOUR).unwrap();
    auth.revoke_scoped("table", "42").unwrap();
    auth.revoke_api_key(key.info.id).unwrap();
    let kinds: Vec<AuditKind> = auth
        .audit(&AuditQuery { limit: Some(100), ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for kind in [
        AuditKind::ServiceAccountCreated,
        AuditKind::ApiKeyCreated,
        AuditKind::ServiceTokenIssued,
        AuditKind::ScopedIssued,
        AuditKind::ScopedRevoked,
        AuditKind::ApiKeyRevoked,
    ] {
        assert!(kinds.contains(&kind), "{kind}");
    }
    drop(auth);
    let bytes = env.stored_bytes();
    let secret_part = key.secret.split('.').nth(1).unwrap();
    for secret in [secret_part, st.access_token.as_str(), qr.as_str()] {
        assert!(!contains(&bytes, secret.as_bytes()), "{secret}");
    }
}

backend_tests!(
    every_credential_operation_is_audited_and_no_secret_is_stored,
    a_scoped_token_grants_its_scope_and_subject_until_it_expires,
    revoking_a_subject_kills_its_tokens_in_every_engine_on_the_next_verify,
    a_service_account_has_no_password_login_but_roles_as_usual,
    an_api_key_acts_for_its_account_within_its_scopes,
    revoked_expired_and_deactivated_keys_stop_in_every_engine,
    last_used_is_written_at_most_once_an_hour,
    a_service_token_validates_while_its_key_does,
    a_service_token_never_outlives_its_key,
    the_token_cache_reuses_until_a_tenth_is_left_and_never_hands_out_an_expired_token,
);
