//! Signing keys as callers see them: [`SigningKeyInfo`] (never key material).

use std::time::SystemTime;

use serde::Serialize;

/// Public description of a signing key (no key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SigningKeyInfo {
    /// The key id, as in the `kid` header of tokens it signed.
    pub kid: String,
    /// `"HS256"` or `"EdDSA"`.
    pub alg: String,
    /// When the key was created.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
    /// Whether new tokens are signed with this key now.
    pub signing: bool,
    /// When it was retired; tokens it signed stop validating then.
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub retired_at: Option<SystemTime>,
}
