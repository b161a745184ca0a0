//! Passkeys (DESIGN §12) against a real software authenticator: 1Password's `passkey`
//! crate makes the attestations and assertions a browser would, from the options the engine
//! hands out, so every WebAuthn check runs on real signatures.

use std::time::Duration;

use authlite::{
    AuditKind, AuditQuery, Auth, ClientInfo, Config, ErrorKind, NewUser, PasskeyCeremony,
    PasskeyId, PasskeyLogin, RelyingParty, SignInMethod, UserId,
};
use passkey::authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::rust_crypto::RustCryptoBackend;
use passkey::types::Passkey;
use passkey::types::ctap2::make_credential::{
    Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity,
};
use passkey::types::ctap2::{Aaguid, Ctap2Error, StatusCode};
use passkey::types::webauthn::{
    CredentialCreationOptions, CredentialRequestOptions, PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor, PublicKeyCredentialRequestOptions,
};
use url::Url;

use crate::common::*;

pub const ORIGIN: &str = "https://till.example.com";

/// The user at the authenticator: present, and verified (a PIN or a fingerprint) unless
/// told otherwise.
struct Person {
    verifies: bool,
}

#[async_trait::async_trait]
impl UserValidationMethod for Person {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck { presence, verification: verification && self.verifies })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(self.verifies)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

/// The keys an authenticator holds, all discoverable (the crate's own `MemoryStore` finds
/// only listed credentials, so usernameless sign-in needs this one).
#[derive(Clone, Default)]
pub struct Keys(Vec<Passkey>);

#[async_trait::async_trait]
impl CredentialStore for Keys {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let listed = |k: &Passkey| match ids {
            Some(ids) if !ids.is_empty() => ids.iter().any(|d| d.id == k.credential_id),
            _ => true,
        };
        let found: Vec<Passkey> =
            self.0.iter().filter(|k| k.rp_id == rp_id && listed(k)).cloned().collect();
        if found.is_empty() { Err(Ctap2Error::NoCredentials.into()) } else { Ok(found) }
    }

    async fn save_credential(
        &mut self,
        key: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), StatusCode> {
        self.0.push(key);
        Ok(())
    }

    async fn update_credential(&mut self, key: &Passkey) -> Result<(), StatusCode> {
        for held in &mut self.0 {
            if held.credential_id == key.credential_id {
                *held = key.clone();
            }
        }
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo { discoverability: DiscoverabilitySupport::ForcedDiscoverable }
    }
}

/// A phone with a passkey app, at `origin`.
pub struct Device {
    client: Client<Keys, Person, RustCryptoBackend, public_suffix::PublicSuffixList, ()>,
    origin: Url,
}

impl Device {
    pub fn new() -> Device {
        Device::at(ORIGIN, true)
    }

    fn at(origin: &str, verifies: bool) -> Device {
        let store = Keys::default();
        let authenticator =
            Authenticator::new(Aaguid::new_empty(), store, Person { verifies }, RustCryptoBackend);
        Device { client: Client::new(authenticator), origin: Url::parse(origin).unwrap() }
    }

    /// What `navigator.credentials.create({ publicKey })` answers, as JSON.
    pub fn create(&mut self, ceremony: &PasskeyCeremony) -> String {
        let public_key: PublicKeyCredentialCreationOptions =
            serde_json::from_str(&ceremony.options).expect("creation options parse");
        let request = CredentialCreationOptions { public_key };
        let created =
            pollster::block_on(self.client.register(&self.origin, request, DefaultClientData))
                .expect("the authenticator registers");
        serde_json::to_string(&created).unwrap()
    }

    /// What `navigator.credentials.get({ publicKey })` answers, as JSON.
    pub fn get(&mut self, ceremony: &PasskeyCeremony) -> String {
        let public_key: PublicKeyCredentialRequestOptions =
            serde_json::from_str(&ceremony.options).expect("request options parse");
        let request = CredentialRequestOptions { public_key };
        let got =
            pollster::block_on(self.client.authenticate(&self.origin, request, DefaultClientData))
                .expect("the authenticator signs");
        serde_json::to_string(&got).unwrap()
    }

    /// Every passkey the device holds, to tamper with (a clone, a rollback).
    fn keys(&mut self) -> &mut Keys {
        self.client.authenticator_mut().store_mut()
    }
}

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
    let answer = device.create(&ceremony);
    auth.finish_passkey_registration(&ceremony.id, &answer).expect("registration verifies").id
}

fn sign_in(
    auth: &Auth,
    device: &mut Device,
    how: PasskeyLogin<'_>,
) -> authlite::Result<authlite::Login> {
    let ceremony = auth.start_passkey_login(how)?;
    let answer = device.get(&ceremony);
    auth.finish_passkey_login(&ceremony.id, &answer, &client())
}

fn count(auth: &Auth, kind: AuditKind) -> usize {
    auth.audit(&AuditQuery::default()).unwrap().iter().filter(|e| e.kind == kind).count()
}

#[test]
fn a_passwordless_account_registers_and_signs_in_usernameless_and_by_name() {
    let env = Env::new();
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

#[test]
fn a_ceremony_is_single_use_and_dies_after_five_minutes() {
    let env = Env::new();
    let auth = open(&env);
    let alice = user(&auth, "alice");
    let mut phone = Device::new();
    enroll(&auth, &mut phone, alice.id, "phone");

    let ceremony = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    let answer = phone.get(&ceremony);
    auth.finish_passkey_login(&ceremony.id, &answer, &client()).unwrap();
    let replay = auth.finish_passkey_login(&ceremony.id, &answer, &client());
    assert_eq!(err(replay), ErrorKind::InvalidToken, "replayed");

    let ceremony = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    let answer = phone.get(&ceremony);
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

#[test]
fn a_ceremony_started_in_one_engine_finishes_in_another() {
    let env = Env::new();
    let (a, b) = (open(&env), open(&env));
    let alice = user(&a, "alice");
    let mut phone = Device::new();
    let ceremony = a.start_passkey_registration(alice.id, "phone").unwrap();
    let answer = phone.create(&ceremony);
    let id = b.finish_passkey_registration(&ceremony.id, &answer).unwrap().id;
    let ceremony = b.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
    let answer = phone.get(&ceremony);
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
    let mut answer: serde_json::Value = serde_json::from_str(&phone.get(&ceremony)).unwrap();
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
    let answer = other_phone.get(&theirs);
    let ours = auth.start_passkey_login(PasskeyLogin::Discoverable).unwrap();
    assert_eq!(
        err(auth.finish_passkey_login(&ours.id, &answer, &client())),
        ErrorKind::InvalidCredentials
    );

    // No user verification: refused (a passkey alone must be two factors).
    let mut lax = Device::at(ORIGIN, false);
    *lax.keys() = phone.keys().clone();
    let ceremony = auth.start_passkey_login(PasskeyLogin::Account("alice")).unwrap();
    let public_key: PublicKeyCredentialRequestOptions =
        serde_json::from_str(&ceremony.options).unwrap();
    let request = CredentialRequestOptions { public_key };
    let unverified =
        pollster::block_on(lax.client.authenticate(&lax.origin, request, DefaultClientData));
    if let Ok(answer) = unverified {
        let answer = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            err(auth.finish_passkey_login(&ceremony.id, &answer, &client())),
            ErrorKind::InvalidCredentials
        );
    }

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
