//! OpenID Connect (DESIGN §13): the one module that names the OpenID Connect library
//! (`client.rs`, feature `oidc`) and makes HTTP requests (`http.rs`). Without the feature
//! `off.rs` stands in: configuring a provider is a `Config` error at `open`.
//!
//! What is checked here on every code redeemed: the token endpoint is the discovered one
//! and answers the code with this flow's PKCE verifier (S256); the ID token's signature
//! by a key of the provider's JWKS (fetched again once when the token names an unknown
//! `kid`), with an asymmetric algorithm only (never `none` or HMAC); `iss` is the
//! configured issuer; `aud` contains the client id and nothing untrusted; `azp`, when
//! present, is the client id (and present when there are several audiences); `exp` not
//! passed and `iat` not in the future nor older than a flow, both on `Config::clock`; the
//! `nonce` is this flow's. The features layer checks what needs the database: the flow's
//! `state`, the browser secret, single use, expiry.

#[cfg(feature = "oidc")]
mod client;
#[cfg(feature = "oidc")]
mod http;
#[cfg(all(feature = "oidc", fuzzing))]
pub(crate) use client::fuzz_verify;
#[cfg(feature = "oidc")]
pub(crate) use client::{Provider, Providers};

#[cfg(not(feature = "oidc"))]
mod off;
#[cfg(not(feature = "oidc"))]
pub(crate) use off::{Provider, Providers};

use std::time::Duration;

/// The deadline of each request to a provider.
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a started flow can be finished, and so how old an ID token may be.
pub(crate) const FLOW_TTL: Duration = Duration::from_secs(10 * 60);

/// What a verified ID token says about the person.
#[derive(Debug, Clone)]
pub(crate) struct Asserted {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) email: Option<String>,
    /// The provider asserts `email_verified: true` (absent counts as not verified).
    pub(crate) email_verified: bool,
    pub(crate) preferred_username: Option<String>,
}

/// Why redeeming a code failed.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
pub(crate) enum Rejected {
    /// The provider refused the code, or the ID token failed a check: the sign-in is
    /// refused and counted. The reason is for the audit trail.
    Invalid(String),
    /// The provider could not be asked (unreachable, or it answered nonsense).
    Unavailable(String),
}
