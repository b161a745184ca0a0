//! Signing keys as callers see them: [`SigningKeyInfo`] (never key material).

use std::time::SystemTime;

/// Public description of a signing key (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigningKeyInfo {
    /// The key id, as in the `kid` header of tokens it signed.
    pub kid: String,
    /// `"HS256"` or `"EdDSA"`.
    pub alg: String,
    /// When the key was created.
    pub created_at: SystemTime,
    /// When it was retired; tokens it signed stop validating then.
    pub retired_at: Option<SystemTime>,
}
