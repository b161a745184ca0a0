//! Passkeys (DESIGN §12) against a real software authenticator: 1Password's `passkey`
//! crate makes the attestations and assertions a browser would, from the options the engine
//! hands out, so every WebAuthn check runs on real signatures.

use std::time::Duration;

use crate::authenticator::{Device, ORIGIN};
use crate::common::*;
use authlite::{
    AuditKind, AuditQuery, Auth, ClientInfo, Config, ErrorKind, NewUser, PasskeyCeremony,
    PasskeyId, PasskeyLogin, RelyingParty, SignInMethod, UserId,
};

pub fn rp_config(env: &Env) -> Config {
    let rp = RelyingParty::new("till.example.com", "Till", [ORIGIN]);
    Config { relying_party: Some(rp), ..env.config() }
}

fn open(env: &Env) -> Auth {
    Auth::open_with(rp_config(env)).expect("open")
}

fn client() -> ClientInfo {
    ClientInfo::default()
}

/// Registers a passkey for `user` on `device`.
fn enroll(auth: &Auth, device: &mut Device, user: UserId, name: &str) -> PasskeyId {
    let ceremony = auth.start_passkey_registration(user, name).unwrap();
    let answer = device.create(&ceremony.options);
    auth.finish_passkey_registration(&ceremony.id, &answer).expect("registration verifies").id
}

fn sign_in(
    auth: &Auth,
    device: &mut Device,
    how: PasskeyLogin<'_>,
) -> authlite::Result<authlite::Login> {
    let ceremony = auth.start_passkey_login(how)?;
    let answer = device.get(&ceremony.options);
    auth.finish_passkey_login(&ceremony.id, &answer, &client())
}

backend_tests!(
    a_passwordless_account_registers_and_signs_in_usernameless_and_by_name,
    a_ceremony_started_in_one_engine_finishes_in_another,
    revoking_a_passkey_ends_its_sessions_only_and_the_last_way_in_stays,
    a_ceremony_is_single_use_and_dies_after_five_minutes,
);

fn count(auth: &Auth, kind: AuditKind) -> usize {
    auth.audit(&AuditQuery::default()).unwrap().iter().filter(|e| e.kind == kind).count()
}

fn a_passwordless_account_registers_and_signs_in_usernameless_and_by_name(b: Backend) {
    let env = Env::on(b);
    let auth = open(&env);
    let kiosk = auth.register(NewUser::passwordless("kiosk")).unwrap();
    let mut phone = Device::new();
    let id = enroll(&auth, &mut phone, kiosk.id, "front till");

    let listed = auth.passkeys(kiosk.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id, listed[0].name.as_str(), listed[0].user_id),
        (id, "front till", kiosk.id)
    );
    assert_eq!(listed[0].last_used_at, None);

    let login = sign_in(&auth, &mut phone, PasskeyLogin::Discoverable).expect("usernameless");
    assert_eq!(login.user.id, kiosk.id);
    assert_eq!(login.session.method, SignInMethod::Passkey(id));
    assert_eq!(auth.validate(&login.access_token).unwrap().user_id, kiosk.id);
    assert!(auth.passkeys(kiosk.id).unwrap()[0].last_used_at.is_some());

    let login = sign_in(&auth, &mut phone, PasskeyLogin::Account("KIOSK")).expect("by name");
    assert_eq!(login.session.method, SignInMethod::Passkey(id));
    assert_eq!(count(&auth, AuditKind::PasskeyRegistered), 1);
    assert_eq!(count(&auth, AuditKind::LoginSucceeded), 2);
}

fn a_ceremony_is_single_use_and_dies_after_five_minutes(b: Backend) {
    let env = Env::on(b);
    let auth = open(&env);
    let alice = user(&auth, "alice");
    let mut phone = Device::new();
    enroll(&auth, &mut phone, alice.id, "phone");

    let ceremony = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    let answer = phone.get(&ceremony.options);
    auth.finish_passkey_login(&ceremony.id, &answer, &client()).unwrap();
    let failed_before = count(&auth, AuditKind::LoginFailed);
    let replay = auth.finish_passkey_login(&ceremony.id, &answer, &client());
    assert_eq!(err(replay), ErrorKind::InvalidToken, "replayed");
    // Counted (like a wrong password) and audited.
    assert_eq!(count(&auth, AuditKind::LoginFailed), failed_before + 1);
    assert_eq!(count(&auth, AuditKind::PasskeyFailed), 1);

    let ceremony = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    let answer = phone.get(&ceremony.options);
    env.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(
        err(auth.finish_passkey_login(&ceremony.id, &answer, &client())),
        ErrorKind::ExpiredToken
    );
    assert_eq!(
        err(auth.finish_passkey_login(&ceremony.id, &answer, &client())),
        ErrorKind::InvalidToken
    );

    // A registration ceremony cannot finish a sign-in, nor the other way round.
    let registration = auth.start_passkey_registration(alice.id, "laptop").unwrap();
    assert_eq!(
        err(auth.finish_passkey_login(&registration.id, &answer, &client())),
        ErrorKind::InvalidToken
    );
    let login = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    assert_eq!(err(auth.finish_passkey_registration(&login.id, "{}")), ErrorKind::InvalidToken);
    for junk in ["", "pkc_", "pkc_x_y", "mfa_abc", &"a".repeat(10_000)] {
        assert_eq!(
            err(auth.finish_passkey_login(junk, &answer, &client())),
            ErrorKind::InvalidToken
        );
    }
}

fn a_ceremony_started_in_one_engine_finishes_in_another(b: Backend) {
    let env = Env::on(b);
    let (a, b) = (open(&env), open(&env));
    let alice = user(&a, "alice");
    let mut phone = Device::new();
    let ceremony = a.start_passkey_registration(alice.id, "phone").unwrap();
    let answer = phone.create(&ceremony.options);
    let id = b.finish_passkey_registration(&ceremony.id, &answer).unwrap().id;
    let ceremony = b.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
    let answer = phone.get(&ceremony.options);
    assert_eq!(
        a.finish_passkey_login(&ceremony.id, &answer, &client()).unwrap().session.method,
        SignInMethod::Passkey(id)
    );
}

#[test]
fn wrong_origin_wrong_rp_and_no_user_verification_are_refused_counted_and_audited() {
    let env = Env::new();
    let auth = open(&env);
    let alice = user(&auth, "alice");
    let mut phone = Device::new();
    enroll(&auth, &mut phone, alice.id, "phone");

    // A page elsewhere: the client data names its origin. The signature covers the client
    // data, so rewriting it to ours would break the signature; either way it is refused.
    let ceremony = auth.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
    let mut answer: serde_json::Value =
        serde_json::from_str(&phone.get(&ceremony.options)).unwrap();
    // Rewrite the client data's origin as a page elsewhere would have it: the signature
    // covers the client data, so either the origin or the signature check fails.
    let client_data = answer["response"]["clientDataJSON"].as_str().unwrap().to_owned();
    let decoded = base64url(&client_data);
    let moved = String::from_utf8(decoded).unwrap().replace(ORIGIN, "https://evil.test");
    answer["response"]["clientDataJSON"] = encode(moved.as_bytes()).into();
    let e = auth.finish_passkey_login(&ceremony.id, &answer.to_string(), &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCredentials);

    // Another relying party's options (an RP id this engine is not) are refused by the
    // engine even when the authenticator signs them.
    let other_env = Env::new();
    let rp = RelyingParty::new("example.com", "Other", ["https://example.com"]);
    let other = Auth::open_with(Config { relying_party: Some(rp), ..other_env.config() }).unwrap();
    let bob = user(&other, "bob");
    let mut other_phone = Device::at("https://example.com", true);
    enroll(&other, &mut other_phone, bob.id, "phone");
    let theirs = other.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    let answer = other_phone.get(&theirs.options);
    let ours = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    assert_eq!(
        err(auth.finish_passkey_login(&ours.id, &answer, &client())),
        ErrorKind::InvalidCredentials
    );

    // No user verification: refused (a passkey alone must be two factors).
    let mut lax = Device::at(ORIGIN, false);
    *lax.keys() = phone.keys().clone();
    let ceremony = auth.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
    // A client that ignores the RP's requirement asks for no verification: the authenticator
    // signs, and its flags say the user was not verified.
    let mut options: serde_json::Value = serde_json::from_str(&ceremony.options).unwrap();
    assert_eq!(options["userVerification"], "required");
    options["userVerification"] = "discouraged".into();
    let answer = lax.get(&options.to_string());
    let e = auth.finish_passkey_login(&ceremony.id, &answer, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    let audit = auth.audit(&AuditQuery::default()).unwrap();
    let reasons: Vec<String> = audit
        .iter()
        .filter(|e| e.kind == AuditKind::PasskeyFailed)
        .map(|e| format!("{:?}", e.detail))
        .collect();
    assert!(reasons.iter().any(|r| r.contains("origin")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("verif")), "{reasons:?}");

    assert!(count(&auth, AuditKind::PasskeyFailed) >= 2);
    assert!(count(&auth, AuditKind::LoginFailed) >= 2, "counted like wrong passwords");
}

fn base64url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).unwrap()
}

fn encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn a_sign_counter_going_backwards_is_refused_and_audited_as_a_clone() {
    let env = Env::new();
    let auth = open(&env);
    let alice = user(&auth, "alice");
    let mut phone = Device::new();
    enroll(&auth, &mut phone, alice.id, "security key");
    // A hardware key counts its uses (this software one does not, unless told to).
    phone.keys().0[0].counter = Some(10);
    let mut clone = Device::new();
    *clone.keys() = phone.keys().clone();
    sign_in(&auth, &mut phone, PasskeyLogin::Account("alice")).unwrap();
    sign_in(&auth, &mut phone, PasskeyLogin::Account("alice")).unwrap();
    // The clone was copied before those two sign-ins: its counter is behind the stored one.
    let e = sign_in(&auth, &mut clone, PasskeyLogin::Account("alice")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    assert_eq!(count(&auth, AuditKind::PasskeyCloneSuspected), 1);
    // The original goes on working.
    sign_in(&auth, &mut phone, PasskeyLogin::Account("alice")).unwrap();
}

#[test]
fn another_accounts_passkey_or_ceremony_does_not_sign_in() {
    let env = Env::new();
    let auth = open(&env);
    let (alice, bob) = (user(&auth, "alice"), user(&auth, "bob"));
    let (mut alices, mut bobs) = (Device::new(), Device::new());
    enroll(&auth, &mut alices, alice.id, "phone");
    enroll(&auth, &mut bobs, bob.id, "phone");
    // Bob answers a ceremony started for alice: refused, counted against alice.
    let ceremony = auth.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
    let mut unlisted = ceremony.clone();
    let mut options: serde_json::Value = serde_json::from_str(&unlisted.options).unwrap();
    options["allowCredentials"] = serde_json::json!([]);
    unlisted.options = options.to_string();
    let answer = bobs.get(&unlisted.options);
    assert_eq!(
        err(auth.finish_passkey_login(&ceremony.id, &answer, &client())),
        ErrorKind::InvalidCredentials
    );
    // An unknown credential in a usernameless sign-in.
    let mut stranger = Device::new();
    let other_env = Env::new();
    let other = open(&other_env);
    let carol = user(&other, "carol");
    enroll(&other, &mut stranger, carol.id, "phone");
    let e = sign_in(&auth, &mut stranger, PasskeyLogin::Discoverable).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    // An unknown name gets a ceremony like a real one (made-up ids, stable per name).
    let unknown = auth.start_passkey_login(PasskeyLogin::Account("mallory")).unwrap();
    let again = auth.start_passkey_login(PasskeyLogin::Account("mallory")).unwrap();
    let ids = |c: &PasskeyCeremony| {
        let o: serde_json::Value = serde_json::from_str(&c.options).unwrap();
        o["allowCredentials"].clone()
    };
    // (The made-up list follows the distribution real accounts have, an empty one included.)
    assert_eq!(ids(&unknown), ids(&again));
    assert_ne!(
        ids(&unknown),
        ids(&auth.start_passkey_login(PasskeyLogin::Account("alice")).unwrap())
    );
}

#[test]
fn passkey_failures_count_toward_the_lockout_like_wrong_passwords() {
    let env = Env::new();
    let config = Config { lockout_threshold: 3, ..rp_config(&env) };
    let auth = Auth::open_with(config).unwrap();
    let alice = user(&auth, "alice");
    let mut phone = Device::new();
    enroll(&auth, &mut phone, alice.id, "phone");
    for _ in 0..3 {
        let ceremony = auth.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
        assert_eq!(
            err(auth.finish_passkey_login(&ceremony.id, "{}", &client())),
            ErrorKind::InvalidCredentials
        );
    }
    let locked = sign_in(&auth, &mut phone, PasskeyLogin::Account("alice")).unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::AccountLocked);
    assert_eq!(
        err(auth.login("alice", PASSWORD, &client())),
        ErrorKind::AccountLocked,
        "one lockout"
    );
    env.clock.advance(Duration::from_secs(3600));
    sign_in(&auth, &mut phone, PasskeyLogin::Account("alice")).expect("after the lockout");
}

#[test]
fn a_passkey_skips_the_second_factor_and_answers_it_after_a_password() {
    let env = Env::new();
    let auth = open(&env);
    let alice = user(&auth, "alice");
    let enrollment = auth.enroll_totp(alice.id).unwrap();
    let secret = totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = authlite::Clock::now(&env.clock).duration_since(std::time::UNIX_EPOCH).unwrap();
    auth.confirm_totp(alice.id, &totp.generate(now.as_secs()).to_string()).unwrap();
    let mut phone = Device::new();
    let id = enroll(&auth, &mut phone, alice.id, "phone");

    // Phishing-resistant on its own: no MfaRequired.
    let login = sign_in(&auth, &mut phone, PasskeyLogin::Discoverable).expect("no second factor");
    assert_eq!(login.session.method, SignInMethod::Passkey(id));

    // After a password: the passkey is offered and answers the challenge.
    let e = auth.login("alice", PASSWORD, &client()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired);
    assert!(e.mfa_factors().contains(&authlite::Factor::Passkey));
    let challenge = e.mfa_challenge().unwrap().to_owned();
    let login = sign_in(&auth, &mut phone, PasskeyLogin::SecondFactor(&challenge)).unwrap();
    assert_eq!(login.session.method, SignInMethod::Passkey(id));
    // The challenge is spent: a second answer is refused.
    let e = auth.start_passkey_login(PasskeyLogin::SecondFactor(&challenge)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidToken);

    // A wrong passkey answer counts on the second-factor counter, not the first.
    let e = auth.login("alice", PASSWORD, &client()).unwrap_err();
    let challenge = e.mfa_challenge().unwrap().to_owned();
    let ceremony = auth.start_passkey_login(PasskeyLogin::SecondFactor(&challenge)).unwrap();
    assert_eq!(
        err(auth.finish_passkey_login(&ceremony.id, "{}", &client())),
        ErrorKind::InvalidCredentials
    );
    assert_eq!(count(&auth, AuditKind::MfaFailed), 1);
    // A challenge voided by a password change cannot be answered with a passkey either.
    let ceremony = auth.start_passkey_login(PasskeyLogin::SecondFactor(&challenge)).unwrap();
    let answer = phone.get(&ceremony.options);
    auth.set_password(alice.id, "another long passphrase").unwrap();
    assert_eq!(
        err(auth.finish_passkey_login(&ceremony.id, &answer, &client())),
        ErrorKind::InvalidToken
    );
}

fn revoking_a_passkey_ends_its_sessions_only_and_the_last_way_in_stays(b: Backend) {
    let env = Env::on(b);
    let auth = open(&env);
    let alice = user(&auth, "alice");
    let mut phone = Device::new();
    let mut laptop = Device::new();
    let first = enroll(&auth, &mut phone, alice.id, "phone");
    let second = enroll(&auth, &mut laptop, alice.id, "laptop");
    auth.rename_passkey(second, "work laptop").unwrap();
    assert_eq!(auth.passkeys(alice.id).unwrap()[1].name, "work laptop");
    assert_eq!(err(auth.rename_passkey(second, "")), ErrorKind::InvalidInput);

    let by_phone = sign_in(&auth, &mut phone, PasskeyLogin::Discoverable).unwrap();
    let by_laptop = sign_in(&auth, &mut laptop, PasskeyLogin::Discoverable).unwrap();
    let by_password = login(&auth, "alice");
    let other = Auth::open_with(rp_config(&env)).unwrap(); // another engine sees it at once
    other.validate(&by_phone.access_token).unwrap();
    auth.revoke_passkey(first).unwrap();
    assert_eq!(err(other.validate(&by_phone.access_token)), ErrorKind::RevokedToken);
    other.validate(&by_laptop.access_token).unwrap();
    other.validate(&by_password.access_token).unwrap();
    assert_eq!(
        err(sign_in(&auth, &mut phone, PasskeyLogin::Discoverable)),
        ErrorKind::InvalidCredentials
    );
    assert_eq!(count(&auth, AuditKind::PasskeyRevoked), 1);
    assert_eq!(err(auth.revoke_passkey(first)), ErrorKind::NotFound);

    // A passwordless account keeps its last passkey.
    let kiosk = auth.register(NewUser::passwordless("kiosk")).unwrap();
    let mut till = Device::new();
    let only = enroll(&auth, &mut till, kiosk.id, "till");
    assert_eq!(err(auth.revoke_passkey(only)), ErrorKind::Conflict);
    let extra = enroll(&auth, &mut Device::new(), kiosk.id, "spare");
    auth.revoke_passkey(only).unwrap();
    assert_eq!(err(auth.revoke_passkey(extra)), ErrorKind::Conflict);
    assert_eq!(auth.passkeys(kiosk.id).unwrap().len(), 1);
}

#[test]
fn registering_checks_the_account_the_name_and_duplicates() {
    let env = Env::new();
    let auth = open(&env);
    let alice = user(&auth, "alice");
    assert_eq!(err(auth.start_passkey_registration(alice.id, "")), ErrorKind::InvalidInput);
    assert_eq!(err(auth.start_passkey_registration(UserId(999), "x")), ErrorKind::NotFound);
    let service = auth.create_service_account("ci").unwrap();
    assert_eq!(err(auth.start_passkey_registration(service.id, "x")), ErrorKind::InvalidInput);
    let mut phone = Device::new();
    enroll(&auth, &mut phone, alice.id, "phone");
    // The same key again: the options exclude it, and the engine refuses a duplicate too.
    let ceremony = auth.start_passkey_registration(alice.id, "again").unwrap();
    let options: serde_json::Value = serde_json::from_str(&ceremony.options).unwrap();
    assert_eq!(options["excludeCredentials"].as_array().unwrap().len(), 1);
    // Deactivated: no ceremony, and a started one cannot finish.
    let started = auth.start_passkey_registration(alice.id, "laptop").unwrap();
    let answer = Device::new().create(&started.options);
    auth.deactivate_user(alice.id).unwrap();
    assert_eq!(
        err(auth.finish_passkey_registration(&started.id, &answer)),
        ErrorKind::InactiveUser
    );
    assert_eq!(err(auth.start_passkey_registration(alice.id, "x")), ErrorKind::InactiveUser);
    assert_eq!(
        err(sign_in(&auth, &mut phone, PasskeyLogin::Discoverable)),
        ErrorKind::InactiveUser
    );
}

#[test]
fn without_a_relying_party_passkeys_are_off_with_a_clear_error() {
    let env = Env::new();
    let auth = env.open();
    let alice = user(&auth, "alice");
    let e = auth.start_passkey_registration(alice.id, "phone").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("relying_party"), "{e}");
    assert_eq!(err(auth.start_passkey_login(PasskeyLogin::Discoverable)), ErrorKind::Config);
    assert!(auth.passkeys(alice.id).unwrap().is_empty());
    for (id, origins) in [
        ("Example.com", vec!["https://example.com"]),
        ("example.com", vec![]),
        ("example.com", vec!["http://example.com"]),
        ("example.com", vec!["https://example.org"]),
        ("example.com", vec!["https://example.com/path"]),
        ("example.com", vec!["https://notexample.com"]),
    ] {
        let rp = RelyingParty::new(id, "Example", origins.clone());
        let config = Config { relying_party: Some(rp), ..env.config() };
        assert_eq!(err(config.validate()), ErrorKind::Config, "{id} {origins:?}");
    }
}
