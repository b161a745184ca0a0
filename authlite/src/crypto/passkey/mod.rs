//! WebAuthn ceremonies (DESIGN §12): the one module that names the WebAuthn library
//! (`webauthn.rs`, feature `passkeys`). Without the feature `off.rs` stands in: a
//! [`Verifier`] cannot be made, so every ceremony answers `Config`.
//!
//! What is checked here, by webauthn-rs, on every finish: the challenge is the ceremony's;
//! the client data's type and origin (exactly one of the configured origins: scheme, host
//! and port); the RP id hash in the authenticator data; user presence and **user
//! verification** (required for registration and every sign-in); the signature over the
//! authenticator and client data with the stored public key; the sign counter, which must
//! grow when either side is non-zero ([`Rejected::Cloned`] otherwise). The features layer
//! checks what needs the database: whose passkey it is, single use, expiry.

#[cfg(feature = "passkeys")]
mod webauthn;
#[cfg(feature = "passkeys")]
pub(crate) use webauthn::{Assertion, Verifier};

#[cfg(not(feature = "passkeys"))]
mod off;
#[cfg(not(feature = "passkeys"))]
pub(crate) use off::{Assertion, Verifier};

/// A started ceremony: the options for the browser and our half of it, both JSON.
pub(crate) struct Started {
    pub(crate) options: String,
    pub(crate) state: String,
}

/// A passkey the browser registered, verified.
pub(crate) struct Registered {
    pub(crate) credential_id: Vec<u8>,
    /// The credential to store (public key, counter, flags), JSON.
    pub(crate) credential: String,
    pub(crate) backup_eligible: bool,
    pub(crate) backed_up: bool,
}

/// A verified assertion: the credential to store back (its counter moved on) and its flags.
pub(crate) struct Verified {
    pub(crate) credential: String,
    pub(crate) backup_eligible: bool,
    pub(crate) backed_up: bool,
}

/// Why a browser's answer was refused.
#[derive(Debug, Clone)]
pub(crate) enum Rejected {
    /// Malformed, or a check failed; the reason is for the audit trail.
    Invalid(String),
    /// The sign counter did not grow: the key may have been cloned.
    #[cfg_attr(not(feature = "passkeys"), allow(dead_code))]
    Cloned,
}

/// The label the key of the made-up credential ids is derived with.
pub(crate) const FAKE_IDS_LABEL: &str = "authlite passkey fake credential ids v1";
