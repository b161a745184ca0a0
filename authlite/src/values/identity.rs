//! Sign-in with an identity provider as callers see it (DESIGN §13): a configured
//! [`IdentityProvider`], the [`OidcStart`] of a flow, and a linked [`Identity`].

use std::time::SystemTime;

use serde::Serialize;

use crate::values::ids::{IdentityId, UserId};

/// An OpenID Connect provider accounts can sign in with (`Config::identity_providers`).
/// Nothing is fetched when the engine opens: the provider's discovery document and keys
/// are read at its first use and cached.
///
/// ```
/// let google = authlite::IdentityProvider::new(
///     "google",
///     "https://accounts.google.com",
///     "1234.apps.googleusercontent.com",
///     "https://app.example.com/auth/google/callback",
/// );
/// let config = authlite::Config {
///     identity_providers: vec![google],
///     ..authlite::Config::in_memory()
/// };
/// # let _ = config;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    /// The name the app calls it by (`"google"`): 1 to 32 of `a-z 0-9 - _`. Sessions record
    /// it (`SignInMethod::Provider`), so keep it stable.
    pub name: String,
    /// The issuer URL, exactly as in its discovery document and ID tokens
    /// (`https://accounts.google.com`); `https` except on a loopback host.
    pub issuer: String,
    /// The client id the provider gave this app.
    pub client_id: String,
    /// The client secret, for a confidential client (sent with HTTP Basic); `None` for a
    /// public one (PKCE alone).
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back (as registered there).
    pub redirect_uri: String,
    /// Scopes to ask for besides `openid` (default `email`, `profile`).
    pub scopes: Vec<String>,
    /// Whether a first sign-in may link to the existing account whose *verified* email
    /// is the one the provider asserts as verified (default `true`). Off: a new identity
    /// never joins an existing account by itself.
    pub link_verified_email: bool,
}

impl IdentityProvider {
    /// A confidential-client-less provider (add `client_secret` as needed) with the
    /// default scopes and email linking on.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        IdentityProvider {
            name: name.into(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            scopes: vec!["email".into(), "profile".into()],
            link_verified_email: true,
        }
    }
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("link_verified_email", &self.link_verified_email)
            .finish()
    }
}

/// A started provider flow: send the browser to `authorize_url`, and keep
/// `browser_secret` in that browser (an `HttpOnly`, `Secure`, `SameSite=Lax` cookie): the
/// callback must present it with the `state` and `code` the provider returns, so a
/// callback forged into another browser fails. Single use, valid for 10 minutes, stored in
/// the database (another process or machine on it can finish the flow).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct OidcStart {
    /// The provider's authorization URL with this flow's `state`, `nonce` and PKCE
    /// challenge.
    pub authorize_url: String,
    /// The flow's `state` (also inside `authorize_url`).
    pub state: String,
    /// The secret binding the flow to the browser that started it.
    pub browser_secret: String,
}

impl std::fmt::Debug for OidcStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcStart")
            .field("authorize_url", &self.authorize_url)
            .field("state", &self.state)
            .field("browser_secret", &"<redacted>")
            .finish()
    }
}

/// An account's identity at a provider: (issuer, subject), linked to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Identity {
    /// The link's id (for `unlink_identity`).
    pub id: IdentityId,
    /// The account it signs in to.
    pub user_id: UserId,
    /// The provider's configured name when it was linked.
    pub provider: String,
    /// The issuer URL.
    pub issuer: String,
    /// The provider's stable id of the person (`sub`).
    pub subject: String,
    /// The email the provider last asserted, if any (verified or not).
    pub email: Option<String>,
    /// When it was linked.
    pub linked_at: SystemTime,
    /// The last sign-in with it.
    pub last_used_at: Option<SystemTime>,
}
