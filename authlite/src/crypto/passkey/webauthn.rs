//! The WebAuthn library (webauthn-rs) behind the crate's own types: JSON strings in and out.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use webauthn_rs::fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator};
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use super::{Registered, Rejected, Started, Verified};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::passkey::RelyingParty;

/// The relying party's WebAuthn checks, built once when the engine opens.
pub(crate) struct Verifier {
    webauthn: Webauthn,
    /// Stable made-up credential ids for a name without passkeys, so a sign-in started for
    /// it looks like one for an account that has some.
    fake: WebauthnFakeCredentialGenerator<FakePasskeyDistribution>,
}

/// A browser's sign-in answer, parsed.
pub(crate) struct Assertion(PublicKeyCredential);

fn config_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Config, format!("relying_party: {what}: {e}"))
}

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Internal, format!("passkey {what}: {e}"))
}

fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| internal("encoding", e))
}

/// A failed check, sorted: a counter that did not grow is the one that hints at a clone.
fn rejected(e: WebauthnError) -> Rejected {
    match e {
        WebauthnError::CredentialPossibleCompromise => Rejected::Cloned,
        e => Rejected::Invalid(e.to_string()),
    }
}

/// Our stored half of a ceremony: unreadable means it was not written by this code.
fn stored<T: serde::de::DeserializeOwned>(json: &str) -> std::result::Result<T, Rejected> {
    serde_json::from_str(json)
        .map_err(|e| Rejected::Invalid(format!("unreadable stored state: {e}")))
}

impl Verifier {
    pub(crate) fn new(rp: &RelyingParty, fake_key: &[u8; 32]) -> Result<Verifier> {
        let origins = rp
            .origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| config_error(o, e)))
            .collect::<Result<Vec<Url>>>()?;
        let (first, rest) = origins.split_first().ok_or_else(|| config_error("origins", "none"))?;
        let mut builder = WebauthnBuilder::new(&rp.id, first)
            .map_err(|e| config_error("the RP id does not match the origins", e))?
            .rp_name(&rp.name)
            .allow_subdomains(false)
            .allow_any_port(false);
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder.build().map_err(|e| config_error("invalid", e))?;
        let fake = WebauthnFakeCredentialGenerator::new(fake_key)
            .map_err(|e| internal("fake credential ids", e))?;
        Ok(Verifier { webauthn, fake })
    }

    /// Starts registering a passkey for the account whose WebAuthn user id is `handle`
    /// (16 bytes), shown as `name`; `exclude` lists its passkeys, which the authenticator
    /// then refuses to register twice. Asks for a discoverable key where the authenticator
    /// can make one (so usernameless sign-in works) and for user verification.
    pub(crate) fn start_registration(
        &self,
        handle: &[u8],
        name: &str,
        exclude: &[&[u8]],
    ) -> Result<Started> {
        let user = Uuid::from_slice(handle).map_err(|e| internal("user handle", e))?;
        let exclude = exclude.iter().map(|id| CredentialID::from(id.to_vec())).collect();
        let (challenge, state) = self
            .webauthn
            .start_passkey_registration(user, name, name, Some(exclude))
            .map_err(|e| internal("registration", e))?;
        let mut options =
            serde_json::to_value(&challenge.public_key).map_err(|e| internal("encoding", e))?;
        if let Some(selection) = options.get_mut("authenticatorSelection") {
            selection["residentKey"] = json!("preferred");
        }
        Ok(Started { options: to_json(&options)?, state: to_json(&state)? })
    }

    pub(crate) fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> std::result::Result<Registered, Rejected> {
        let response: RegisterPublicKeyCredential = serde_json::from_str(response)
            .map_err(|e| Rejected::Invalid(format!("not a registration response: {e}")))?;
        let state: PasskeyRegistration = stored(state)?;
        let passkey =
            self.webauthn.finish_passkey_registration(&response, &state).map_err(rejected)?;
        let credential = to_json(&passkey).map_err(|e| Rejected::Invalid(e.to_string()))?;
        // The flags are not exposed; they are in the credential's own serialised form.
        let fields: Value = serde_json::from_str(&credential).unwrap_or_default();
        let flag = |name: &str| fields["cred"][name].as_bool().unwrap_or(false);
        Ok(Registered {
            credential_id: passkey.cred_id().to_vec(),
            backup_eligible: flag("backup_eligible"),
            backed_up: flag("backup_state"),
            credential,
        })
    }

    /// Starts a sign-in offering the credentials `allowed` (none: any discoverable passkey
    /// of the site), or, for `unknown` (a name without passkeys), made-up ones that are
    /// stable per name. User verification is required.
    pub(crate) fn start_login(&self, allowed: &[&[u8]], unknown: Option<&str>) -> Result<Started> {
        let (challenge, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| internal("sign-in", e))?;
        let ids: Vec<Vec<u8>> = match unknown {
            Some(name) => {
                let fake = self.fake.generate(name.as_bytes()).map_err(|e| internal("ids", e))?;
                fake.into_iter().map(|id| id.to_vec()).collect()
            }
            None => allowed.iter().map(|id| id.to_vec()).collect(),
        };
        let mut options =
            serde_json::to_value(&challenge.public_key).map_err(|e| internal("encoding", e))?;
        if !ids.is_empty() {
            let listed: Vec<Value> = ids
                .iter()
                .map(|id| json!({ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(id) }))
                .collect();
            options["allowCredentials"] = Value::Array(listed);
        }
        Ok(Started { options: to_json(&options)?, state: to_json(&state)? })
    }

    /// Verifies `assertion` against the ceremony `state` and the stored `credential`.
    pub(crate) fn finish_login(
        &self,
        state: &str,
        assertion: &Assertion,
        credential: &str,
    ) -> std::result::Result<Verified, Rejected> {
        let state: DiscoverableAuthentication = stored(state)?;
        let mut passkey: Passkey = stored(credential)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&assertion.0, state, &passkey)
            .map_err(rejected)?;
        passkey.update_credential(&result);
        Ok(Verified {
            credential: to_json(&passkey).map_err(|e| Rejected::Invalid(e.to_string()))?,
            backup_eligible: result.backup_eligible(),
            backed_up: result.backup_state(),
        })
    }
}

impl Assertion {
    /// Parses the browser's `PublicKeyCredential` JSON (WebAuthn Level 3 `toJSON()` form).
    pub(crate) fn parse(json: &str) -> std::result::Result<Assertion, Rejected> {
        serde_json::from_str(json)
            .map(Assertion)
            .map_err(|e| Rejected::Invalid(format!("not a sign-in response: {e}")))
    }

    pub(crate) fn credential_id(&self) -> &[u8] {
        self.0.get_credential_id()
    }

    /// The WebAuthn user id the authenticator returned (always, for a discoverable key).
    pub(crate) fn user_handle(&self) -> Option<&[u8]> {
        self.0.get_user_unique_id()
    }
}
