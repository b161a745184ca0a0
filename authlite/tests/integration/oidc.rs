//! Sign-in with an identity provider (DESIGN §13) against a real, certified OpenID
//! provider: panva's `oidc-provider`, run by node on 127.0.0.1 from
//! `tests/oidc-provider/provider.mjs` (its own client, accounts and RSA key), not a mock.
//! The test plays the browser: it follows the provider's redirects (its login page signs in
//! the account named by `login_hint`) until the provider sends it to the `redirect_uri`
//! with `state` and `code`, which the engine redeems at the provider's token endpoint.
//! Ignored, with the reason, unless build.rs found node and `npm ci` had been run in
//! `tests/oidc-provider`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use authlite::{
    AuditKind, AuditQuery, Auth, ClientInfo, Clock, Config, ErrorKind, IdentityProvider,
    ManualClock, NewUser, OidcStart, SignInMethod,
};

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const PROVIDER: &str = "test";

#[path = "../oidc-provider/harness.rs"]
mod harness;
use harness::{OpenIdProvider, browse};

/// The browser's side of a flow: from `authorize_url`, signed in at the provider as
/// `login`, to the redirect back. Returns (state, code).
fn authorize(start: &OidcStart, login: &str) -> (String, String) {
    let back = browse(&start.authorize_url, login, REDIRECT_URI);
    let query: BTreeMap<_, _> = back.query_pairs().into_owned().collect();
    assert!(!query.contains_key("error"), "the provider refused: {query:?}");
    (query["state"].clone(), query["code"].clone())
}

fn provider_config(op: &OpenIdProvider) -> IdentityProvider {
    IdentityProvider {
        client_secret: Some(harness::CLIENT_SECRET.into()),
        ..IdentityProvider::new(PROVIDER, op.issuer(), harness::CLIENT_ID, REDIRECT_URI)
    }
}

/// An engine on `b` with the provider configured and a clock at the real time (the
/// provider signs ID tokens with its own clock).
fn engine(env: &Env, provider: &OpenIdProvider, tweak: impl FnOnce(&mut Config)) -> Auth {
    env.clock.set(SystemTime::now());
    let mut config = Config {
        identity_providers: vec![provider_config(provider)],
        ..config_for(&env.path, &env.clock)
    };
    tweak(&mut config);
    Auth::open_with(config).expect("open")
}

/// A whole sign-in as `login`.
fn sign_in(auth: &Auth, login: &str) -> authlite::Result<authlite::Login> {
    let start = auth.start_oidc_login(PROVIDER)?;
    let (state, code) = authorize(&start, login);
    assert_eq!(state, start.state);
    auth.finish_oidc_login(&start.browser_secret, &state, &code, &ClientInfo::default())
}

/// An account with a password and a verified email.
fn verified(auth: &Auth, name: &str, email: &str) -> authlite::User {
    let user = auth.register(NewUser::new(name, PASSWORD).email(email)).unwrap();
    let token = auth.email_verification_token(user.id).unwrap();
    auth.verify_email(&token).unwrap()
}

fn audited(auth: &Auth, kind: AuditKind) -> Vec<authlite::AuditEvent> {
    auth.audit(&AuditQuery { kind: Some(kind), ..AuditQuery::default() }).unwrap()
}

macro_rules! oidc_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                #[cfg_attr(
                    not(authlite_oidc_tests),
                    ignore = "needs node on PATH and `npm ci` in authlite/tests/oidc-provider"
                )]
                fn $name() {
                    super::$name($crate::common::Backend::Sqlite)
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(
                    not(all(authlite_oidc_tests, authlite_pg_tests)),
                    ignore = "needs node, `npm ci` in authlite/tests/oidc-provider and AUTHLITE_TEST_POSTGRES_URL"
                )]
                fn $name() {
                    super::$name($crate::common::Backend::Postgres)
                }
            )*
        }
    };
}

oidc_tests!(
    a_first_sign_in_creates_a_passwordless_account_and_the_next_signs_in_to_it,
    a_provider_verified_email_links_only_to_an_account_whose_email_is_verified,
    linking_by_email_can_be_turned_off,
    without_auto_registration_a_new_identity_is_not_found,
    a_callback_in_another_browser_is_refused_and_spends_the_flow,
    a_replayed_code_is_refused,
    an_expired_flow_is_refused,
    a_key_rotation_at_the_provider_is_followed_and_a_foreign_signature_refused,
    an_account_with_totp_still_answers_mfa_required,
    a_signed_in_user_links_and_unlinks_identities,
    a_throttled_address_is_refused_before_the_provider_is_asked,
    a_locked_account_gains_no_link_by_email,
);

fn a_locked_account_gains_no_link_by_email(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |c| c.lockout_threshold = 2);
    let bob = verified(&auth, "bob", "bob@example.com");
    for _ in 0..2 {
        let e = auth.login("bob", "wrong password!", &ClientInfo::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    }
    let e = sign_in(&auth, "bob").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AccountLocked, "{e}");
    assert!(auth.identities(bob.id).unwrap().is_empty(), "no link while locked");
    // Once the lockout has passed, the same sign-in links and signs in.
    env.clock.advance(Duration::from_secs(61));
    assert_eq!(sign_in(&auth, "bob").unwrap().user.id, bob.id);
}

fn a_throttled_address_is_refused_before_the_provider_is_asked(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |c| c.address_max_failures = 2);
    let from = ClientInfo { ip: Some("203.0.113.9".into()), user_agent: None };
    // Two callbacks with another browser's secret from the address.
    for _ in 0..2 {
        let (forged, other) =
            (auth.start_oidc_login(PROVIDER).unwrap(), auth.start_oidc_login(PROVIDER).unwrap());
        let e = auth.finish_oidc_login(&other.browser_secret, &forged.state, "code", &from);
        assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidToken);
    }
    let start = auth.start_oidc_login(PROVIDER).unwrap();
    let (state, code) = authorize(&start, "alice");
    let e = auth.finish_oidc_login(&start.browser_secret, &state, &code, &from).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(auth.find_user("alice").is_err(), "the code was never redeemed");
    // Another address is not held back.
    let other = ClientInfo { ip: Some("198.51.100.4".into()), user_agent: None };
    let start = auth.start_oidc_login(PROVIDER).unwrap();
    let (state, code) = authorize(&start, "alice");
    auth.finish_oidc_login(&start.browser_secret, &state, &code, &other).unwrap();
}

fn a_first_sign_in_creates_a_passwordless_account_and_the_next_signs_in_to_it(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let login = sign_in(&auth, "alice").unwrap();
    assert_eq!(login.session.method, SignInMethod::Provider(PROVIDER.into()));
    assert_eq!(login.user.username, "alice");
    assert!(!login.user.has_password, "a passwordless account");
    assert_eq!(login.user.email.as_deref(), Some("alice@example.com"));
    assert!(login.user.email_verified_at.is_some(), "the provider verified it");
    auth.validate(&login.access_token).unwrap();
    let identities = auth.identities(login.user.id).unwrap();
    assert_eq!(identities.len(), 1);
    assert_eq!(
        (identities[0].issuer.as_str(), identities[0].subject.as_str()),
        (op.issuer().as_str(), "alice")
    );
    assert_eq!(identities[0].provider, PROVIDER);

    let again = sign_in(&auth, "alice").unwrap();
    assert_eq!(again.user.id, login.user.id, "the linked identity signs in its account");
    assert_eq!(auth.identities(login.user.id).unwrap().len(), 1);
    assert_eq!(audited(&auth, AuditKind::IdentityLinked).len(), 1);
    let succeeded = audited(&auth, AuditKind::LoginSucceeded);
    assert!(
        succeeded.iter().all(|e| e.detail.as_deref() == Some("provider:test")),
        "{succeeded:?}"
    );
    // The last way in cannot be removed.
    let e = auth.unlink_identity(identities[0].id).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}

fn a_provider_verified_email_links_only_to_an_account_whose_email_is_verified(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    // bob@example.com verified here, and by the provider: linked.
    let bob = verified(&auth, "bob", "bob@example.com");
    let login = sign_in(&auth, "bob").unwrap();
    assert_eq!(login.user.id, bob.id, "linked by a verified email on both sides");
    let linked = audited(&auth, AuditKind::IdentityLinked);
    assert!(linked[0].detail.as_deref().unwrap().contains("by verified email"), "{linked:?}");

    // alice@example.com registered here but never verified: the provider's verified
    // claim must not hand the account over (account takeover): a new account, no email.
    let alice = auth.register(NewUser::new("alice", PASSWORD).email("alice@example.com")).unwrap();
    let login = sign_in(&auth, "alice").unwrap();
    assert_ne!(login.user.id, alice.id, "never linked to an unverified email");
    assert_eq!(login.user.email, None, "the address stays the other account's");
    assert!(auth.identities(alice.id).unwrap().is_empty());

    // carol@example.com verified here, but the provider says unverified: not linked.
    let carol = verified(&auth, "carol", "carol@example.com");
    let login = sign_in(&auth, "carol").unwrap();
    assert_ne!(login.user.id, carol.id, "an unverified claim never links");
    assert!(auth.identities(carol.id).unwrap().is_empty());

    // dave@example.com: nobody here has it; the new account gets it, verified.
    let login = sign_in(&auth, "dave").unwrap();
    assert_eq!(login.user.email.as_deref(), Some("dave@example.com"));
    assert!(login.user.email_verified_at.is_some());
}

fn linking_by_email_can_be_turned_off(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |c| c.identity_providers[0].link_verified_email = false);
    let bob = verified(&auth, "bob", "bob@example.com");
    let login = sign_in(&auth, "bob").unwrap();
    assert_ne!(login.user.id, bob.id);
    assert_ne!(login.user.username, "bob", "the name is taken: another is made up");
    assert!(login.user.username.starts_with("test-"), "{}", login.user.username);
}

fn without_auto_registration_a_new_identity_is_not_found(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |c| c.oidc_auto_register = false);
    let e = sign_in(&auth, "alice").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(auth.find_user("alice").is_err(), "no account was created");
    // Verified email linking still works.
    let bob = verified(&auth, "bob", "bob@example.com");
    assert_eq!(sign_in(&auth, "bob").unwrap().user.id, bob.id);
}

fn a_callback_in_another_browser_is_refused_and_spends_the_flow(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let victim = auth.start_oidc_login(PROVIDER).unwrap();
    let attacker = auth.start_oidc_login(PROVIDER).unwrap();
    let (state, code) = authorize(&victim, "alice");
    // The callback arrives in a browser holding another flow's secret (login CSRF).
    let e = auth.finish_oidc_login(&attacker.browser_secret, &state, &code, &ClientInfo::default());
    assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidToken);
    // The flow is spent: not even its own browser can finish it now.
    let e = auth.finish_oidc_login(&victim.browser_secret, &state, &code, &ClientInfo::default());
    assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidToken);
    // Garbage never panics and names nothing.
    for (secret, state) in [("", ""), ("x", "y.z"), (&*"a".repeat(10_000), "ü")] {
        let e = auth.finish_oidc_login(secret, state, "code", &ClientInfo::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidToken);
    }
    assert!(!audited(&auth, AuditKind::ProviderFailed).is_empty());
    assert!(auth.find_user("alice").is_err());
}

fn a_replayed_code_is_refused(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let first = auth.start_oidc_login(PROVIDER).unwrap();
    let (state, code) = authorize(&first, "alice");
    let client = ClientInfo::default();
    auth.finish_oidc_login(&first.browser_secret, &state, &code, &client).unwrap();
    // The same callback again: the flow is gone.
    let e = auth.finish_oidc_login(&first.browser_secret, &state, &code, &client).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidToken);
    // The code in a fresh flow: the provider refuses it (spent, and bound to the first
    // flow's PKCE verifier).
    let second = auth.start_oidc_login(PROVIDER).unwrap();
    let e =
        auth.finish_oidc_login(&second.browser_secret, &second.state, &code, &client).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCredentials, "{e}");
    let failed = audited(&auth, AuditKind::ProviderFailed);
    assert!(
        failed.iter().any(|e| e.detail.as_deref().unwrap_or("").contains("refused the code")),
        "{failed:?}"
    );
}

fn an_expired_flow_is_refused(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let start = auth.start_oidc_login(PROVIDER).unwrap();
    let (state, code) = authorize(&start, "alice");
    env.clock.advance(Duration::from_secs(10 * 60 + 1));
    let e = auth.finish_oidc_login(&start.browser_secret, &state, &code, &ClientInfo::default());
    assert_eq!(e.unwrap_err().kind(), ErrorKind::ExpiredToken);
    assert!(auth.find_user("alice").is_err());
}

fn a_key_rotation_at_the_provider_is_followed_and_a_foreign_signature_refused(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let first = sign_in(&auth, "alice").unwrap();
    // The provider restarts signing with a new key: the cached JWKS lacks its kid, so the
    // engine fetches the keys again, once.
    let port = op.stop();
    let op = OpenIdProvider::on(port, "key-2", REDIRECT_URI);
    assert_eq!(sign_in(&auth, "alice").unwrap().user.id, first.user.id);
    // A key the JWKS does not hold, under a kid it does (as a forged or tampered ID
    // token would be): the signature check refuses it.
    let port = op.stop();
    let _op = OpenIdProvider::on(port, "key-2", REDIRECT_URI);
    let e = sign_in(&auth, "alice").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCredentials, "{e}");
    let failed = audited(&auth, AuditKind::ProviderFailed);
    assert!(
        failed.iter().any(|e| e.detail.as_deref().unwrap_or("").contains("ID token")),
        "{failed:?}"
    );
}

fn an_account_with_totp_still_answers_mfa_required(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let alice = sign_in(&auth, "alice").unwrap().user;
    let enrollment = auth.enroll_totp(alice.id).unwrap();
    let code = |clock: &ManualClock| {
        let secret = totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap();
        let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
        totp.generate(clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs()).to_string()
    };
    auth.confirm_totp(alice.id, &code(&env.clock)).unwrap();
    let e = sign_in(&auth, "alice").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MfaRequired, "{e}");
    env.clock.advance(Duration::from_secs(30)); // the confirming code is spent
    let challenge = e.mfa_challenge().unwrap();
    let login = auth.complete_mfa(challenge, &code(&env.clock), &ClientInfo::default()).unwrap();
    assert_eq!(login.user.id, alice.id);
    assert_eq!(login.session.method, SignInMethod::Provider(PROVIDER.into()));
}

fn a_signed_in_user_links_and_unlinks_identities(b: Backend) {
    let env = Env::on(b);
    let op = OpenIdProvider::start(REDIRECT_URI);
    let auth = engine(&env, &op, |_| {});
    let ada = user(&auth, "ada");
    let start = auth.start_oidc_link(ada.id, PROVIDER).unwrap();
    let (state, code) = authorize(&start, "alice");
    let identity = auth.finish_oidc_link(&start.browser_secret, &state, &code).unwrap();
    assert_eq!((identity.user_id, identity.subject.as_str()), (ada.id, "alice"));
    assert_eq!(auth.identities(ada.id).unwrap(), vec![identity.clone()]);
    // The identity now signs in to ada.
    let session = sign_in(&auth, "alice").unwrap();
    assert_eq!(session.user.id, ada.id);
    // Another account cannot take it.
    let grace = user(&auth, "grace");
    let start = auth.start_oidc_link(grace.id, PROVIDER).unwrap();
    let (state, code) = authorize(&start, "alice");
    let e = auth.finish_oidc_link(&start.browser_secret, &state, &code).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    // A login flow's callback does not finish a link, nor the other way round.
    let start = auth.start_oidc_login(PROVIDER).unwrap();
    let (state, code) = authorize(&start, "bob");
    let e = auth.finish_oidc_link(&start.browser_secret, &state, &code).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidToken);
    // Unlinking (ada keeps her password) ends the sessions the provider started.
    let by_password = login(&auth, "ada");
    auth.unlink_identity(identity.id).unwrap();
    assert_eq!(auth.validate(&session.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    auth.validate(&by_password.access_token).expect("the password session lives");
    assert!(auth.identities(ada.id).unwrap().is_empty());
    assert_eq!(audited(&auth, AuditKind::IdentityUnlinked).len(), 1);
    assert_eq!(auth.unlink_identity(identity.id).unwrap_err().kind(), ErrorKind::NotFound);
    // Signing in with it again is a new account now.
    assert_ne!(sign_in(&auth, "alice").unwrap().user.id, ada.id);
}

#[test]
fn nothing_is_fetched_at_open_and_an_unreachable_provider_fails_clearly() {
    let env = Env::new();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let provider =
        IdentityProvider::new(PROVIDER, format!("http://127.0.0.1:{port}"), "client", REDIRECT_URI);
    let config = Config {
        identity_providers: vec![provider],
        clock: Arc::new(env.clock.clone()),
        ..config_for(&env.path, &env.clock)
    };
    let auth = Auth::open_with(config).expect("open asks nothing of the provider");
    let e = auth.start_oidc_login(PROVIDER).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("discovery"), "{e}");
    assert_eq!(auth.start_oidc_login("other").unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn provider_settings_are_checked_at_open() {
    let env = Env::new();
    let bad = |p: IdentityProvider| {
        let config = Config { identity_providers: vec![p], ..config_for(&env.path, &env.clock) };
        Auth::open_with(config).map(drop).unwrap_err()
    };
    let ok = IdentityProvider::new(
        "google",
        "https://accounts.google.com",
        "id",
        "https://app.example.com/cb",
    );
    for broken in [
        IdentityProvider { name: "Google!".into(), ..ok.clone() },
        IdentityProvider { issuer: "http://accounts.google.com".into(), ..ok.clone() },
        IdentityProvider { redirect_uri: "ftp://x".into(), ..ok.clone() },
        IdentityProvider { client_id: String::new(), ..ok.clone() },
        IdentityProvider { scopes: vec!["two words".into()], ..ok.clone() },
    ] {
        let e = bad(broken);
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    }
    let config = Config {
        identity_providers: vec![ok.clone(), ok.clone()],
        ..config_for(&env.path, &env.clock)
    };
    assert_eq!(Auth::open_with(config).map(drop).unwrap_err().kind(), ErrorKind::Config);
    let config = Config { identity_providers: vec![ok], ..config_for(&env.path, &env.clock) };
    Auth::open_with(config).expect("a well-formed provider opens");
}
