//! Passkeys as callers see them (DESIGN §12): the [`RelyingParty`] configuration, a
//! [`PasskeyCeremony`] to hand to the browser, a registered passkey's [`PasskeyInfo`], and
//! how a sign-in ceremony names its account ([`PasskeyLogin`]).

use std::time::SystemTime;

use serde::Serialize;

use crate::values::ids::{PasskeyId, UserId};

/// The site passkeys are bound to (`Config::relying_party`). A passkey registered for one
/// RP id never signs in to another, and a browser only answers a page whose origin is listed
/// here, exactly (scheme, host and port).
///
/// ```
/// let rp = authlite::RelyingParty::new("example.com", "Example", ["https://example.com"]);
/// let config = authlite::Config { relying_party: Some(rp), ..authlite::Config::in_memory() };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP id: a registrable domain (`example.com`; `localhost` for development) that
    /// is, or is a parent of, every origin's host.
    pub id: String,
    /// The name an authenticator may show ("Example").
    pub name: String,
    /// The origins pages run at (`https://example.com`, `https://app.example.com:8443`);
    /// plain `http` only for `localhost`.
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// A relying party with RP id `id`, display `name` and the pages' `origins`.
    pub fn new<O: Into<String>>(
        id: impl Into<String>,
        name: impl Into<String>,
        origins: impl IntoIterator<Item = O>,
    ) -> Self {
        RelyingParty {
            id: id.into(),
            name: name.into(),
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }
}

/// A started WebAuthn ceremony: hand `options` to the browser, send back what it answers
/// with `id`. Single use, valid for 5 minutes, stored in the database (so another process
/// or machine on the same database can finish it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeyCeremony {
    /// Names the ceremony when finishing it.
    pub id: String,
    /// The JSON for the browser: the `publicKey` member of
    /// `navigator.credentials.create({ publicKey })` (registration) or
    /// `navigator.credentials.get({ publicKey })` (sign-in), in the WebAuthn Level 3 JSON
    /// form (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`
    /// accept it as is).
    pub options: String,
}

/// How [`Auth::start_passkey_login`](crate::Auth::start_passkey_login) finds the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyLogin<'a> {
    /// No name: the authenticator offers the passkeys it holds for the site (usernameless
    /// sign-in, conditional UI / autofill). Needs a discoverable passkey.
    Discoverable,
    /// The account with this username or email; its passkeys are offered. An unknown name
    /// gets a ceremony that looks the same and fails at the end like a wrong passkey.
    Account(&'a str),
    /// The challenge of an `MfaRequired` answer
    /// ([`Error::mfa_challenge`](crate::Error::mfa_challenge)): the passkey is the second
    /// factor.
    SecondFactor(&'a str),
}

/// A registered passkey, without its key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PasskeyInfo {
    /// The passkey's id (sessions it started record it: `SignInMethod::Passkey(id)`).
    pub id: PasskeyId,
    /// Its account.
    pub user_id: UserId,
    /// The name it was given ("Alice's phone").
    pub name: String,
    /// When it was registered.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
    /// When it last signed in.
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub last_used_at: Option<SystemTime>,
    /// The authenticator may sync it to other devices (a "multi-device" passkey).
    pub backup_eligible: bool,
    /// It is backed up (synced) as of its last use.
    pub backed_up: bool,
}
