//! People credentials (DESIGN §8): one-time tokens, the TOTP second factor with recovery
//! codes, and user attributes.

use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use authlite::{Auth, ClientInfo, Clock, Config, ErrorKind, NewUser, SecretBytes};

const MINUTE: Duration = Duration::from_secs(60);

fn client() -> ClientInfo {
    ClientInfo::default()
}

/// The code an authenticator app shows for `secret` (base32) at the engine's time.
fn code(env: &Env, secret: &str, offset_steps: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = env.clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + 30 * offset_steps) as u64).to_string()
}

/// Alice with TOTP on: her base32 secret and recovery codes.
fn with_totp(env: &Env, auth: &Auth) -> (String, Vec<String>) {
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let enrollment = auth.enroll_totp(alice.id).unwrap();
    assert!(enrollment.otpauth_uri.starts_with("otpauth://totp/authlite:alice?"));
    assert!(!format!("{enrollment:?}").contains(&enrollment.secret));
    let codes = auth.confirm_totp(alice.id, &code(env, &enrollment.secret, 0)).unwrap();
    env.clock.advance(Duration::from_secs(30)); // the confirming code is spent
    (enrollment.secret, codes)
}

fn challenge(auth: &Auth, password: &str) -> String {
    let e = auth.login("alice", password, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired);
    assert!(!format!("{e:?}").contains(e.mfa_challenge().unwrap()), "Debug hides it");
    e.mfa_challenge().unwrap().to_owned()
}

// --- one-time tokens ----------------------------------------------------------------------

fn a_password_reset_ends_every_session_and_clears_the_lockout(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let session = login(&auth, "alice");
    for _ in 0..10 {
        let _ = auth.login("alice", "wrong guess", &client());
    }
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::AccountLocked);

    assert_eq!(auth.request_password_reset("nobody").unwrap(), None);
    assert_eq!(auth.request_password_reset("no one@x").unwrap(), None);
    let token = auth.request_password_reset("ALICE@example.com").unwrap().expect("known");
    assert!(token.starts_with("rst_"));
    auth.reset_password(&token, "a brand new passphrase").unwrap();
    assert_eq!(err(auth.validate(&session.access_token)), ErrorKind::RevokedToken);
    assert_eq!(err(auth.refresh(&session.refresh_token)), ErrorKind::RevokedToken);
    auth.login("alice", "a brand new passphrase", &client()).expect("unlocked, new password");
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::InvalidCredentials);
    assert_eq!(err(auth.reset_password(&token, "yet another passphrase")), ErrorKind::InvalidToken);
    assert_eq!(
        err(auth.reset_password("rst_garbage", "yet another passphrase")),
        ErrorKind::InvalidToken
    );
    let weak = auth.request_password_reset("alice").unwrap().unwrap();
    assert_eq!(err(auth.reset_password(&weak, "password")), ErrorKind::WeakPassword);
    auth.reset_password(&weak, "still usable after a weak try").unwrap();
    let _ = alice;
}

fn one_time_tokens_expire_are_voided_by_newer_ones_and_keep_to_their_purpose(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let first = auth.request_password_reset("alice").unwrap().unwrap();
    let second = auth.request_password_reset("alice").unwrap().unwrap();
    assert_eq!(err(auth.reset_password(&first, "a brand new passphrase")), ErrorKind::InvalidToken);
    env.clock.advance(30 * MINUTE);
    assert_eq!(
        err(auth.reset_password(&second, "a brand new passphrase")),
        ErrorKind::ExpiredToken
    );

    let magic = auth.request_magic_link("alice").unwrap().unwrap();
    let verify = auth.email_verification_token(alice.id).unwrap();
    let reset = auth.request_password_reset("alice").unwrap().unwrap();
    assert_eq!(err(auth.reset_password(&magic, "a brand new passphrase")), ErrorKind::InvalidToken);
    assert_eq!(err(auth.verify_email(&reset)), ErrorKind::InvalidToken);
    assert_eq!(err(auth.login_with_magic_link(&verify, &client())), ErrorKind::InvalidToken);
    // Swapping the prefix does not change the purpose either.
    let relabelled = format!("mgl_{}", &reset[4..]);
    assert_eq!(err(auth.login_with_magic_link(&relabelled, &client())), ErrorKind::InvalidToken);
    env.clock.advance(15 * MINUTE);
    assert_eq!(err(auth.login_with_magic_link(&magic, &client())), ErrorKind::ExpiredToken);
    auth.verify_email(&verify).expect("3 days");
}

fn of_eight_threads_redeeming_one_token_exactly_one_wins(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    for purpose in ["reset", "magic"] {
        let token = match purpose {
            "reset" => auth.request_password_reset("alice").unwrap().unwrap(),
            _ => auth.request_magic_link("alice").unwrap().unwrap(),
        };
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (auth, token, barrier) = (env.open(), token.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    match purpose {
                        "reset" => {
                            auth.reset_password(&token, &format!("new passphrase {i}")).map(drop)
                        }
                        _ => auth.login_with_magic_link(&token, &ClientInfo::default()).map(drop),
                    }
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{purpose}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.kind(), ErrorKind::InvalidToken, "{purpose}");
        }
    }
}

fn email_verification_is_voided_by_an_address_change(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    assert_eq!(alice.email_verified_at, None);
    let token = auth.email_verification_token(alice.id).unwrap();
    auth.set_email(alice.id, Some("alice@example.org")).unwrap();
    assert_eq!(err(auth.verify_email(&token)), ErrorKind::InvalidToken);
    let token = auth.email_verification_token(alice.id).unwrap();
    let verified = auth.verify_email(&token).unwrap();
    let at = verified.email_verified_at.expect("verified");
    assert!(env.clock.now().duration_since(at).unwrap() < Duration::from_millis(1));
    auth.set_email(alice.id, Some("alice@example.net")).unwrap();
    assert_eq!(auth.user(alice.id).unwrap().email_verified_at, None, "a new address is unproven");
    let bob = user(&auth, "bob");
    assert_eq!(err(auth.email_verification_token(bob.id)), ErrorKind::InvalidInput);
}

fn a_magic_link_signs_in_and_unknown_names_get_nothing(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let svc = auth.create_service_account("robot").unwrap();
    assert_eq!(auth.request_magic_link("robot").unwrap(), None, "no link for a service");
    assert_eq!(auth.request_magic_link("mallory").unwrap(), None);
    let token = auth.request_magic_link("alice").unwrap().unwrap();
    let login = auth.login_with_magic_link(&token, &client()).unwrap();
    assert_eq!(login.user.id, alice.id);
    auth.validate(&login.access_token).unwrap();
    let token = auth.request_magic_link("alice").unwrap().unwrap();
    auth.deactivate_user(alice.id).unwrap();
    assert_eq!(err(auth.login_with_magic_link(&token, &client())), ErrorKind::InactiveUser);
    let _ = svc;
}

// --- TOTP -------------------------------------------------------------------------------------

fn totp_is_required_after_the_password_and_a_code_works_once(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let (secret, _) = with_totp(&env, &auth);
    let c = challenge(&auth, PASSWORD);
    assert_eq!(
        err(auth.login("alice", "wrong password", &client())),
        ErrorKind::InvalidCredentials
    );
    let login = auth.complete_mfa(&c, &code(&env, &secret, 0), &client()).unwrap();
    auth.validate(&login.access_token).unwrap();
    assert_eq!(
        err(auth.complete_mfa(&c, &code(&env, &secret, 0), &client())),
        ErrorKind::InvalidToken,
        "single use"
    );

    let c = challenge(&auth, PASSWORD);
    assert_eq!(
        err(auth.complete_mfa(&c, &code(&env, &secret, 0), &client())),
        ErrorKind::InvalidCredentials,
        "the same code is not accepted twice"
    );
    env.clock.advance(Duration::from_secs(30));
    assert_eq!(
        err(auth.complete_mfa(&c, &code(&env, &secret, -2), &client())),
        ErrorKind::InvalidCredentials,
        "two steps old"
    );
    assert_eq!(
        err(auth.complete_mfa(&c, &code(&env, &secret, 2), &client())),
        ErrorKind::InvalidCredentials,
        "two steps ahead"
    );
    auth.complete_mfa(&c, &code(&env, &secret, 1), &client()).expect("one step of drift");

    let c = challenge(&auth, PASSWORD);
    env.clock.advance(5 * MINUTE);
    assert_eq!(
        err(auth.complete_mfa(&c, &code(&env, &secret, 0), &client())),
        ErrorKind::ExpiredToken
    );

    let magic = auth.request_magic_link("alice").unwrap().unwrap();
    let e = auth.login_with_magic_link(&magic, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired, "a magic link is one factor too");
    auth.complete_mfa(e.mfa_challenge().unwrap(), &code(&env, &secret, 0), &client()).unwrap();
}

fn wrong_codes_count_toward_the_lockout_and_a_password_alone_does_not_reset_it(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let (secret, _) = with_totp(&env, &auth);
    for _ in 0..5 {
        let c = challenge(&auth, PASSWORD);
        assert_eq!(err(auth.complete_mfa(&c, "000000", &client())), ErrorKind::InvalidCredentials);
    }
    let c = challenge(&auth, PASSWORD); // the right password: the count stays
    for _ in 0..4 {
        assert_eq!(err(auth.complete_mfa(&c, "000000", &client())), ErrorKind::InvalidCredentials);
    }
    assert_eq!(err(auth.complete_mfa(&c, "000000", &client())), ErrorKind::InvalidCredentials);
    let locked = auth.complete_mfa(&c, &code(&env, &secret, 0), &client()).unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::AccountLocked, "ten wrong codes lock the account");
    assert!(locked.retry_after().is_some());
    assert_eq!(err(auth.login("alice", PASSWORD, &client())), ErrorKind::AccountLocked);
}

fn recovery_codes_work_once_and_regeneration_replaces_them(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let (_, codes) = with_totp(&env, &auth);
    let alice = auth.find_user("alice").unwrap();
    assert_eq!(codes.len(), 10);
    let c = challenge(&auth, PASSWORD);
    auth.complete_mfa(&c, &codes[0].to_uppercase(), &client()).expect("a recovery code");
    let c = challenge(&auth, PASSWORD);
    assert_eq!(err(auth.complete_mfa(&c, &codes[0], &client())), ErrorKind::InvalidCredentials);
    let fresh = auth.regenerate_recovery_codes(alice.id).unwrap();
    assert_eq!(err(auth.complete_mfa(&c, &codes[1], &client())), ErrorKind::InvalidCredentials);
    auth.complete_mfa(&c, &fresh[3], &client()).unwrap();

    auth.disable_totp(alice.id).unwrap();
    auth.login("alice", PASSWORD, &client()).expect("one factor again");
    assert_eq!(err(auth.regenerate_recovery_codes(alice.id)), ErrorKind::InvalidInput);
}

fn no_one_time_token_totp_secret_or_recovery_code_is_in_the_file(b: Backend) {
    let env = Env::on(b);
    let master = SecretBytes::new(b"an application master secret of 32+ bytes".to_vec());
    let auth = Auth::open_with(Config { master_secret: Some(master), ..env.config() }).unwrap();
    let (secret, codes) = with_totp(&env, &auth);
    let reset = auth.request_password_reset("alice").unwrap().unwrap();
    let magic = auth.request_magic_link("alice").unwrap().unwrap();
    let c = challenge(&auth, PASSWORD);
    drop(auth);
    let bytes = env.stored_bytes();
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let mut needles: Vec<Vec<u8>> = vec![secret.into_bytes(), raw.as_ref().to_vec()];
    for token in [reset, magic, c] {
        needles.push(token.split('.').nth(1).unwrap().as_bytes().to_vec());
    }
    needles.extend(codes.into_iter().map(String::into_bytes));
    for needle in needles {
        assert!(!contains(&bytes, &needle), "{}", String::from_utf8_lossy(&needle));
    }
}

// --- attributes -----------------------------------------------------------------------------

fn attributes_are_loaded_with_the_user_and_seen_by_every_engine_next_validate(b: Backend) {
    let env = Env::on(b);
    let (admin, api) = (env.open(), env.open());
    let alice = user(&admin, "alice");
    let token = login(&admin, "alice").access_token;
    assert!(api.validate(&token).unwrap().attributes.is_empty());
    admin.set_attribute(alice.id, "tier", "graduate").unwrap();
    admin.set_attribute(alice.id, "first_name", "Alice \"Ally\" O'Neil, ü").unwrap();
    let who = api.validate(&token).unwrap();
    assert_eq!(who.attributes.get("tier").map(String::as_str), Some("graduate"));
    assert_eq!(
        who.attributes.get("first_name").map(String::as_str),
        Some("Alice \"Ally\" O'Neil, ü")
    );
    assert_eq!(admin.user(alice.id).unwrap().attributes, who.attributes);
    admin.set_attribute(alice.id, "tier", "alumni").unwrap();
    assert_eq!(api.validate(&token).unwrap().attributes["tier"], "alumni");
    admin.remove_attribute(alice.id, "tier").unwrap();
    admin.remove_attribute(alice.id, "tier").unwrap();
    assert!(!api.validate(&token).unwrap().attributes.contains_key("tier"));

    for bad in ["", "Tier", "with space", &"k".repeat(65)] {
        assert_eq!(
            err(admin.set_attribute(alice.id, bad, "x")),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert_eq!(
        err(admin.set_attribute(alice.id, "big", &"x".repeat(1025))),
        ErrorKind::InvalidInput
    );
    for i in 0..31 {
        admin.set_attribute(alice.id, &format!("k{i}"), "v").unwrap();
    }
    assert_eq!(err(admin.set_attribute(alice.id, "one_too_many", "v")), ErrorKind::InvalidInput);
    admin.set_attribute(alice.id, "k0", "replacing is fine").unwrap();
    assert_eq!(err(admin.set_attribute(authlite::UserId(99), "tier", "x")), ErrorKind::NotFound);
}

/// A request naming nobody does a known name's writes on a table linked to nobody, which
/// never grows (timing: `cargo bench --bench engine -- password_reset_request`).
fn requests_for_unknown_names_write_alike_and_leave_nothing_behind(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    for _ in 0..20 {
        assert_eq!(auth.request_password_reset("nobody").unwrap(), None);
        assert_eq!(auth.request_magic_link("nobody").unwrap(), None);
    }
    auth.request_password_reset("alice").unwrap().unwrap();
    let count = |table: &str| -> i64 { env.int(&format!("SELECT count(*) FROM {table}")) };
    assert_eq!(count("one_time_pad"), 2, "one row per purpose, replaced each time");
    assert_eq!(count("one_time_tokens"), 1, "only the known name's token");
}

backend_tests!(
    no_one_time_token_totp_secret_or_recovery_code_is_in_the_file,
    requests_for_unknown_names_write_alike_and_leave_nothing_behind,
    a_password_reset_ends_every_session_and_clears_the_lockout,
    one_time_tokens_expire_are_voided_by_newer_ones_and_keep_to_their_purpose,
    of_eight_threads_redeeming_one_token_exactly_one_wins,
    email_verification_is_voided_by_an_address_change,
    a_magic_link_signs_in_and_unknown_names_get_nothing,
    totp_is_required_after_the_password_and_a_code_works_once,
    wrong_codes_count_toward_the_lockout_and_a_password_alone_does_not_reset_it,
    recovery_codes_work_once_and_regeneration_replaces_them,
    attributes_are_loaded_with_the_user_and_seen_by_every_engine_next_validate,
);
