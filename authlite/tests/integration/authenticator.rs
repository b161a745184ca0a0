//! A software authenticator and WebAuthn client for tests: 1Password's `passkey` crate,
//! with a key store that answers usernameless requests. It makes the attestations and
//! assertions a browser would, from the options the engine hands out. Shared by the
//! integration tests and the passkey fuzz target (`fuzz/src/lib.rs` includes this file).

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

/// The origin the tests' pages run at.
pub const ORIGIN: &str = "https://till.example.com";

/// The user at the authenticator: present, and verified (a PIN or a fingerprint) unless
/// told otherwise.
pub struct Person {
    pub verifies: bool,
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
        Some(true)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

/// The keys an authenticator holds, all discoverable (the crate's own `MemoryStore` finds
/// only listed credentials, so usernameless sign-in needs this one).
#[derive(Clone, Default)]
pub struct Keys(pub Vec<Passkey>);

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
    pub client: Client<Keys, Person, RustCryptoBackend, public_suffix::PublicSuffixList, ()>,
    pub origin: Url,
}

impl Device {
    pub fn new() -> Device {
        Device::at(ORIGIN, true)
    }

    pub fn at(origin: &str, verifies: bool) -> Device {
        let store = Keys::default();
        let authenticator =
            Authenticator::new(Aaguid::new_empty(), store, Person { verifies }, RustCryptoBackend);
        Device { client: Client::new(authenticator), origin: Url::parse(origin).unwrap() }
    }

    /// What `navigator.credentials.create({ publicKey })` answers, as JSON.
    pub fn create(&mut self, options: &str) -> String {
        let public_key: PublicKeyCredentialCreationOptions =
            serde_json::from_str(options).expect("creation options parse");
        let request = CredentialCreationOptions { public_key };
        let created =
            pollster::block_on(self.client.register(&self.origin, request, DefaultClientData))
                .expect("the authenticator registers");
        serde_json::to_string(&created).unwrap()
    }

    /// What `navigator.credentials.get({ publicKey })` answers, as JSON.
    pub fn get(&mut self, options: &str) -> String {
        let public_key: PublicKeyCredentialRequestOptions =
            serde_json::from_str(options).expect("request options parse");
        let request = CredentialRequestOptions { public_key };
        let got =
            pollster::block_on(self.client.authenticate(&self.origin, request, DefaultClientData))
                .expect("the authenticator signs");
        serde_json::to_string(&got).unwrap()
    }

    /// Every passkey the device holds, to tamper with (a clone, a rollback).
    pub fn keys(&mut self) -> &mut Keys {
        self.client.authenticator_mut().store_mut()
    }
}
