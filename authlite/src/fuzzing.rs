//! Entry points into private parsers for the cargo-fuzz targets in `fuzz/`. Compiled only
//! with `--cfg fuzzing` (cargo fuzz sets it); not part of the API.

use crate::crypto::password::{self, Normalized};
use crate::values::error::Result;

/// Username validation: `(display, key)` or `None` if refused.
pub fn username(input: &str) -> Option<(String, String)> {
    crate::values::names::username(input).ok().map(|n| (n.display, n.key))
}

/// Email validation: `(display, key)` or `None` if refused.
pub fn email(input: &str) -> Option<(String, String)> {
    crate::values::names::email(input).ok().map(|n| (n.display, n.key))
}

/// The uniqueness key function.
pub fn fold(input: &str) -> String {
    crate::values::names::fold(input)
}

/// Whether a refresh token is well-formed.
pub fn refresh_token(input: &str) -> bool {
    crate::crypto::secret::parse(input, crate::features::REFRESH_PREFIX, "malformed").is_ok()
}

/// Whether an access token passes the structural and header checks.
pub fn access_token_header(input: &str) -> bool {
    crate::crypto::jwt::parse(input).is_ok()
}

/// Whether a stored hash is in a supported format (what `import_user` accepts).
pub fn importable(stored: &str) -> bool {
    password::importable(stored)
}

/// Checks `raw` against `stored` as login does (any supported format).
pub fn verify_password(raw: &str, stored: &str) -> Result<bool> {
    let normalized: Normalized = password::normalize(raw, 1024).unwrap_or_default();
    password::verify(raw, &normalized, stored, 1_000).map(|v| v.matches)
}

/// Cuts every PBKDF2 derivation of this process to a thousandth of its rounds (at least
/// one), for targets that exercise the engine around passwords rather than the KDF.
pub fn cheap_password_hashing() {
    password::fuzz::cheapen();
}

/// Whether a provider callback's `state` and browser secret have the issued shape.
pub fn oidc_flow(state: &str, browser_secret: &str) -> bool {
    crate::crypto::secret::parse_parts(state, browser_secret, "malformed").is_ok()
}

/// Whether `id_token` verifies for `provider` as described by the discovery document
/// `metadata` and key set `jwks` (all as a provider would send them), at `now`.
#[cfg(feature = "oidc")]
pub fn oidc_id_token(
    provider: &crate::values::identity::IdentityProvider,
    metadata: &[u8],
    jwks: &[u8],
    id_token: &str,
    nonce: &str,
    now: std::time::SystemTime,
) -> bool {
    crate::crypto::oidc::fuzz_verify(provider, metadata, jwks, id_token, nonce, now)
}
