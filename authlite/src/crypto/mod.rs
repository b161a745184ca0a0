//! Pure primitives over the values layer, with no storage: randomness, the opaque-secret
//! format, HMAC and key derivation, JWTs, password hashing and policy.

pub(crate) mod jwt;
pub(crate) mod mac;
pub(crate) mod oidc;
pub(crate) mod passkey;
pub(crate) mod password;
pub(crate) mod random;
pub(crate) mod scoped;
pub(crate) mod seal;
pub(crate) mod secret;
pub(crate) mod totp;
