//! The one sign-in pipeline and the one account-lifecycle rule (DESIGN §11): every way in
//! checks the same things, and every account event voids what the lifecycle table says.
//! Each defect of issue 17 has a test here that failed before the pipeline existed.

use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use authlite::{Auth, ClientInfo, Clock, Config, ErrorKind, Factor, NewUser, SignInMethod};

fn client() -> ClientInfo {
    ClientInfo::default()
}

fn from(ip: &str) -> ClientInfo {
    ClientInfo { ip: Some(ip.into()), user_agent: None }
}

/// The code an authenticator app shows for `secret` (base32) at the engine's time.
fn code(env: &Env, secret: &str, offset_steps: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = env.clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + 30 * offset_steps) as u64).to_string()
}

/// A code that is surely wrong now (one step of drift either way is accepted).
fn wrong_code(env: &Env, secret: &str) -> String {
    let near: Vec<String> = (-1..=1).map(|s| code(env, secret, s)).collect();
    (0..1_000_000).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).unwrap()
}

/// Alice (with an email) and TOTP on; returns her base32 secret.
fn alice_with_totp(env: &Env, auth: &Auth) -> String {
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let enrollment = auth.enroll_totp(alice.id).unwrap();
    auth.confirm_totp(alice.id, &code(env, &enrollment.secret, 0)).unwrap();
    env.clock.advance(Duration::from_secs(30)); // the confirming code is spent
    enrollment.secret
}

fn challenge(auth: &Auth) -> String {
    let e = auth.login("alice", PASSWORD, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired);
    e.mfa_challenge().unwrap().to_owned()
}

// --- pending challenges die with the account events that end sessions --------------------

/// A challenge obtained before `event` must not complete after it.
fn challenge_dies_with(b: Backend, event: impl FnOnce(&Auth, authlite::UserId)) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    let alice = auth.find_user("alice").unwrap().id;
    let pending = challenge(&auth);
    event(&auth, alice);
    let result = auth.complete_mfa(&pending, &code(&env, &secret, 0), &client());
    assert_eq!(err(result), ErrorKind::InvalidToken, "the challenge outlived the event");
}

fn a_pending_challenge_dies_with_a_password_reset(b: Backend) {
    challenge_dies_with(b, |auth, _| {
        let token = auth.request_password_reset("alice").unwrap().unwrap();
        auth.reset_password(&token, "a brand new passphrase").unwrap();
    });
}

fn a_pending_challenge_dies_with_a_password_change(b: Backend) {
    challenge_dies_with(b, |auth, id| {
        auth.change_password(id, PASSWORD, "a brand new passphrase").unwrap();
    });
}

fn a_pending_challenge_dies_with_a_password_set(b: Backend) {
    challenge_dies_with(b, |auth, id| auth.set_password(id, "a brand new passphrase").unwrap());
}

fn a_pending_challenge_dies_when_all_sessions_are_revoked(b: Backend) {
    challenge_dies_with(b, |auth, id| {
        auth.revoke_all_sessions(id).unwrap();
    });
}

fn a_pending_challenge_dies_with_deactivation(b: Backend) {
    challenge_dies_with(b, |auth, id| {
        auth.deactivate_user(id).unwrap();
        auth.activate_user(id).unwrap();
    });
}

fn a_pending_challenge_dies_when_totp_is_turned_off(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    let alice = auth.find_user("alice").unwrap().id;
    let pending = challenge(&auth);
    auth.disable_totp(alice).unwrap();
    let result = auth.complete_mfa(&pending, &code(&env, &secret, 0), &client());
    assert_eq!(err(result), ErrorKind::InvalidToken, "the challenge outlived the factor");
}

/// A magic link requested before `event` must not sign in after it.
fn magic_link_dies_with(b: Backend, event: impl FnOnce(&Auth, authlite::UserId)) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let link = auth.request_magic_link("alice").unwrap().unwrap();
    event(&auth, alice.id);
    assert_eq!(err(auth.login_with_magic_link(&link, &client())), ErrorKind::InvalidToken);
}

fn a_magic_link_dies_with_a_password_change(b: Backend) {
    magic_link_dies_with(b, |auth, id| {
        auth.change_password(id, PASSWORD, "a brand new passphrase").unwrap();
    });
}

fn a_magic_link_dies_with_a_password_set(b: Backend) {
    magic_link_dies_with(b, |auth, id| auth.set_password(id, "a brand new passphrase").unwrap());
}

fn a_magic_link_dies_when_all_sessions_are_revoked(b: Backend) {
    magic_link_dies_with(b, |auth, id| {
        auth.revoke_all_sessions(id).unwrap();
    });
}

fn a_reset_link_dies_with_a_password_change(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let reset = auth.request_password_reset("alice").unwrap().unwrap();
    auth.change_password(alice.id, PASSWORD, "a brand new passphrase").unwrap();
    assert_eq!(err(auth.reset_password(&reset, "yet another passphrase")), ErrorKind::InvalidToken);
}

fn deleting_a_user_clears_both_failure_counts(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    let alice = auth.find_user("alice").unwrap().id;
    let _ = auth.login("alice", "wrong guess", &client());
    let pending = challenge(&auth);
    let _ = auth.complete_mfa(&pending, &wrong_code(&env, &secret), &client());
    let rows = |env: &Env| {
        env.int(&format!(
            "SELECT count(*) FROM login_throttle WHERE key IN ('user:{alice}', 'mfa:{alice}')"
        ))
    };
    assert_eq!(rows(&env), 2);
    auth.delete_user(alice).unwrap();
    assert_eq!(rows(&env), 0);
}

fn an_administrator_unlock_ends_both_lockouts(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    for _ in 0..10 {
        let pending = challenge(&auth);
        let _ = auth.complete_mfa(&pending, &wrong_code(&env, &secret), &client());
    }
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::AccountLocked);
    auth.unlock_user(auth.find_user("alice").unwrap().id).unwrap();
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::MfaRequired);
}

// --- separate first- and second-factor counters --------------------------------------------

fn a_reset_does_not_release_the_second_factor_lockout(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    // Ten wrong codes lock the second factor.
    for _ in 0..10 {
        let pending = challenge(&auth);
        let result = auth.complete_mfa(&pending, &wrong_code(&env, &secret), &client());
        assert_eq!(err(result), ErrorKind::InvalidCredentials);
    }
    // Whoever holds the mailbox resets the password: the second-factor lockout stays.
    let token = auth.request_password_reset("alice").unwrap().unwrap();
    auth.reset_password(&token, "a brand new passphrase").unwrap();
    let locked = auth.login("alice", "a brand new passphrase", &client()).unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::AccountLocked, "{locked}");
    assert!(locked.retry_after().is_some());

    // It expires on its own; then a right code clears it.
    env.clock.advance(Duration::from_secs(61));
    let e = auth.login("alice", "a brand new passphrase", &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired);
    let login = auth.complete_mfa(e.mfa_challenge().unwrap(), &code(&env, &secret, 0), &client());
    assert!(login.is_ok(), "{:?}", login.err());
}

fn a_correct_password_does_not_reset_the_second_factor_count(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    for _ in 0..9 {
        let pending = challenge(&auth); // a correct password each time
        let _ = auth.complete_mfa(&pending, &wrong_code(&env, &secret), &client());
    }
    let pending = challenge(&auth);
    let _ = auth.complete_mfa(&pending, &wrong_code(&env, &secret), &client());
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::AccountLocked);
}

fn wrong_passwords_and_wrong_codes_count_apart(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    for _ in 0..9 {
        let _ = auth.login("alice", "wrong guess", &client());
    }
    // A right password with a pending second factor keeps the first-factor count...
    let pending = challenge(&auth);
    // ...and a right code then clears both.
    auth.complete_mfa(&pending, &code(&env, &secret, 0), &client()).unwrap();
    for _ in 0..9 {
        let _ = auth.login("alice", "wrong guess", &client());
    }
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::MfaRequired);
}

// --- one-time tokens die with the address they were sent to --------------------------------

fn changing_the_email_voids_reset_and_magic_links(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let reset = auth.request_password_reset("alice").unwrap().unwrap();
    let magic = auth.request_magic_link("alice").unwrap().unwrap();
    let verify = auth.email_verification_token(alice.id).unwrap();
    auth.set_email(alice.id, Some("alice@new.example")).unwrap();
    assert_eq!(err(auth.reset_password(&reset, "a brand new passphrase")), ErrorKind::InvalidToken);
    assert_eq!(err(auth.login_with_magic_link(&magic, &client())), ErrorKind::InvalidToken);
    assert_eq!(err(auth.verify_email(&verify)), ErrorKind::InvalidToken);
    // Links sent to the new address work.
    let magic = auth.request_magic_link("alice@new.example").unwrap().unwrap();
    auth.login_with_magic_link(&magic, &client()).unwrap();
}

// --- every way in checks lockout and throttle ----------------------------------------------

fn a_magic_link_respects_the_account_lockout(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let link = auth.request_magic_link("alice").unwrap().unwrap();
    for _ in 0..10 {
        let _ = auth.login("alice", "wrong guess", &client());
    }
    let e = auth.login_with_magic_link(&link, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccountLocked);
    assert!(e.retry_after().is_some());
    // The link was not spent by the refused attempt: it works once the lock has passed.
    env.clock.advance(Duration::from_secs(61));
    let login = auth.login_with_magic_link(&link, &client()).unwrap();
    assert_eq!(login.session.method, SignInMethod::MagicLink);
}

fn a_magic_link_respects_the_address_throttle(b: Backend) {
    let env = Env::on(b);
    let config = Config { address_max_failures: 3, ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    let link = auth.request_magic_link("alice").unwrap().unwrap();
    for name in ["x1", "x2", "x3"] {
        let _ = auth.login(name, "guess", &from("203.0.113.9"));
    }
    let e = auth.login_with_magic_link(&link, &from("203.0.113.9")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    auth.login_with_magic_link(&link, &from("198.51.100.1")).unwrap();
}

fn a_magic_link_sign_in_clears_the_password_failures(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    for _ in 0..9 {
        let _ = auth.login("alice", "wrong guess", &client());
    }
    let link = auth.request_magic_link("alice").unwrap().unwrap();
    auth.login_with_magic_link(&link, &client()).unwrap();
    let _ = auth.login("alice", "wrong guess", &client());
    login(&auth, "alice"); // not locked: the link's success started the count afresh
}

// --- a new factor ends the sessions that did not show it -----------------------------------

fn enabling_totp_ends_password_only_sessions(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let before = login(&auth, "alice");
    let enrollment = auth.enroll_totp(alice.id).unwrap();
    auth.confirm_totp(alice.id, &code(&env, &enrollment.secret, 0)).unwrap();
    assert_eq!(err(auth.validate(&before.access_token)), ErrorKind::RevokedToken);
    assert_eq!(err(auth.refresh(&before.refresh_token)), ErrorKind::RevokedToken);
}

// --- the pipeline's answers ----------------------------------------------------------------

fn mfa_required_names_the_factors_the_account_can_answer(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    alice_with_totp(&env, &auth);
    let e = auth.login("alice", PASSWORD, &client()).unwrap_err();
    assert_eq!(e.mfa_factors(), &[Factor::Totp, Factor::RecoveryCode]);
    assert!(auth.login("nobody", PASSWORD, &client()).unwrap_err().mfa_factors().is_empty());
}

fn sessions_record_how_they_signed_in(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    assert_eq!(login(&auth, "alice").session.method, SignInMethod::Password);
    let link = auth.request_magic_link("alice").unwrap().unwrap();
    auth.login_with_magic_link(&link, &client()).unwrap();
    let methods: Vec<SignInMethod> =
        auth.sessions(alice.id).unwrap().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, vec![SignInMethod::MagicLink, SignInMethod::Password]);
}

fn a_passwordless_account_signs_in_by_link_only(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let kiosk = auth.register(NewUser::passwordless("kiosk").email("kiosk@example.com")).unwrap();
    assert!(!kiosk.has_password);
    // No password matches, not even an empty one, and it costs what a wrong one costs.
    assert_eq!(err(auth.login("kiosk", "", &client())), ErrorKind::InvalidCredentials);
    assert_eq!(
        err(auth.login("kiosk", "anything at all", &client())),
        ErrorKind::InvalidCredentials
    );
    // Changing a password that does not exist is refused; setting one gives it one.
    assert_eq!(
        err(auth.change_password(kiosk.id, "", "a new passphrase")),
        ErrorKind::InvalidCredentials
    );
    let link = auth.request_magic_link("kiosk").unwrap().unwrap();
    let login = auth.login_with_magic_link(&link, &client()).unwrap();
    assert!(!login.user.has_password);
    auth.set_password(kiosk.id, "a brand new passphrase").unwrap();
    assert!(auth.user(kiosk.id).unwrap().has_password);
    auth.login("kiosk", "a brand new passphrase", &client()).unwrap();
}

fn a_passwordless_account_with_totp_still_answers_mfa_required(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let kiosk = auth.register(NewUser::passwordless("kiosk")).unwrap();
    let enrollment = auth.enroll_totp(kiosk.id).unwrap();
    auth.confirm_totp(kiosk.id, &code(&env, &enrollment.secret, 0)).unwrap();
    env.clock.advance(Duration::from_secs(30));
    let link = auth.request_magic_link("kiosk").unwrap().unwrap();
    let e = auth.login_with_magic_link(&link, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired);
    let login = auth.complete_mfa(
        e.mfa_challenge().unwrap(),
        &code(&env, &enrollment.secret, 0),
        &client(),
    );
    assert_eq!(login.unwrap().session.method, SignInMethod::MagicLink);
}

backend_tests!(
    a_pending_challenge_dies_with_a_password_reset,
    a_pending_challenge_dies_with_a_password_change,
    a_pending_challenge_dies_with_a_password_set,
    a_pending_challenge_dies_when_all_sessions_are_revoked,
    a_pending_challenge_dies_with_deactivation,
    a_pending_challenge_dies_when_totp_is_turned_off,
    a_magic_link_dies_with_a_password_change,
    a_magic_link_dies_with_a_password_set,
    a_magic_link_dies_when_all_sessions_are_revoked,
    a_reset_link_dies_with_a_password_change,
    deleting_a_user_clears_both_failure_counts,
    an_administrator_unlock_ends_both_lockouts,
    a_reset_does_not_release_the_second_factor_lockout,
    a_correct_password_does_not_reset_the_second_factor_count,
    wrong_passwords_and_wrong_codes_count_apart,
    changing_the_email_voids_reset_and_magic_links,
    a_magic_link_respects_the_account_lockout,
    a_magic_link_respects_the_address_throttle,
    a_magic_link_sign_in_clears_the_password_failures,
    enabling_totp_ends_password_only_sessions,
    mfa_required_names_the_factors_the_account_can_answer,
    sessions_record_how_they_signed_in,
    a_passwordless_account_signs_in_by_link_only,
    a_passwordless_account_with_totp_still_answers_mfa_required,
);

// --- caches keyed by credential kind; scoped revocation by generation ----------------------

/// An API key whose selector is `selector`, with a valid checksum (a forged one).
fn api_key_with_selector(selector: &str) -> String {
    let body = format!("alk_{selector}.{}", "A".repeat(43));
    format!("{body}.{:08x}", crc32fast::hash(body.as_bytes()))
}

#[test]
fn an_api_key_lookup_never_poisons_a_token_with_the_same_key() {
    let env = Env::new();
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let jti = auth.validate_stateless(&login.access_token).unwrap().jti;
    // Looking up a key whose selector equals the token's jti...
    let forged = api_key_with_selector(&jti);
    for _ in 0..2 {
        assert_eq!(err(auth.validate_api_key(&forged)), ErrorKind::InvalidToken);
    }
    // ...must not make the live token look revoked.
    auth.validate(&login.access_token).unwrap();
}

#[test]
fn a_scoped_token_issued_after_a_revocation_lives_even_within_the_same_millisecond() {
    let env = Env::new();
    let auth = env.open(); // the manual clock does not move: every call is in one millisecond
    let hour = Duration::from_secs(3600);
    for round in 0..20 {
        let old = auth.issue_scoped("table", "42", hour).unwrap();
        auth.revoke_scoped("table", "42").unwrap();
        assert_eq!(err(auth.verify_scoped(&old, "table")), ErrorKind::RevokedToken, "{round}");
        let reseated = auth.issue_scoped("table", "42", hour).unwrap();
        auth.verify_scoped(&reseated, "table").unwrap();
    }
}

// --- messages say what happened ------------------------------------------------------------

#[test]
fn messages_say_what_happened() {
    let env = Env::new();
    let auth = env.open();
    let secret = alice_with_totp(&env, &auth);
    let pending = challenge(&auth);
    let wrong = auth.complete_mfa(&pending, &wrong_code(&env, &secret), &client()).unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::InvalidCredentials);
    assert_eq!(wrong.to_string(), "wrong second-factor code");

    let svc = auth.create_service_account("billing").unwrap();
    let key = auth.create_api_key(svc.id, authlite::ApiKeySpec::new("k")).unwrap();
    auth.revoke_api_key(key.info.id).unwrap();
    assert_eq!(auth.validate_api_key(&key.secret).unwrap_err().to_string(), "API key revoked");

    // A file that is not a database: the message names the file and SQLite's reason.
    let junk = env.dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not an SQLite database, not at all, no").unwrap();
    let e = Auth::open(&junk).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    let message = e.to_string();
    assert!(message.contains("junk.db") && message.contains("not a database"), "{message}");
    assert!(std::error::Error::source(&e).is_some(), "the client's error stays the source");
}
