//! Credentials beyond sessions as callers see them: API keys ([`ApiKeySpec`],
//! [`NewApiKey`], [`ApiKeyInfo`]), service tokens ([`ServiceToken`]) and scoped capability
//! tokens ([`ScopedGrant`]).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::values::ids::{ApiKeyId, OrgId, UserId};

/// The fixed prefix of every API key (`alk_…`), so scanners can spot a leaked one.
pub(crate) const API_KEY_PREFIX: &str = "alk_";

/// What a bearer credential is, by its shape alone (nothing is verified): which of
/// [`Auth::validate_api_key`](crate::Auth::validate_api_key) and
/// [`Auth::validate`](crate::Auth::validate) to hand it to.
///
/// ```
/// use authlite::CredentialKind;
/// assert_eq!(CredentialKind::of("alk_abc.def.01234567"), CredentialKind::ApiKey);
/// assert_eq!(CredentialKind::of("eyJhbGciOi..."), CredentialKind::AccessToken);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An API key (`alk_…`). Validating one may write (its last use, at most hourly).
    ApiKey,
    /// A JWT: a session's access token or a service token. Validating one never writes.
    AccessToken,
}

impl CredentialKind {
    /// The kind of `credential`, from its prefix.
    pub fn of(credential: &str) -> CredentialKind {
        if credential.starts_with(API_KEY_PREFIX) {
            CredentialKind::ApiKey
        } else {
            CredentialKind::AccessToken
        }
    }
}

/// What [`Auth::create_api_key`](crate::Auth::create_api_key) makes:
/// `ApiKeySpec::new(name)` plus optional scopes and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySpec {
    pub(crate) name: String,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) expires_in: Option<Duration>,
    pub(crate) organization: Option<OrgId>,
}

impl ApiKeySpec {
    /// An unscoped key that never expires, called `name` (1–64 printable characters).
    pub fn new(name: impl Into<String>) -> Self {
        ApiKeySpec { name: name.into(), scopes: None, expires_in: None, organization: None }
    }

    /// Limits the key to these `"resource:action"` scopes (`*` for any resource or any
    /// action): it can then do only what both a scope and its account's roles allow.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The key stops working this long after it is created.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_in = Some(lifetime);
        self
    }

    /// The key belongs to organization `org`: its principal has `organization_id ==
    /// Some(org)` and the account's roles in `org`; it works only while the account is a
    /// member, and is deleted with the organization. The account must be a member when the
    /// key is created.
    pub fn organization(mut self, org: OrgId) -> Self {
        self.organization = Some(org);
        self
    }
}

/// An API key as stored: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ApiKeyInfo {
    /// The key's id.
    pub id: ApiKeyId,
    /// The account the key acts for.
    pub user_id: UserId,
    /// The name given at creation.
    pub name: String,
    /// The first characters of the key (`alk_` and the public selector), to recognise it in
    /// a list without revealing the secret.
    pub prefix: String,
    /// `Some`: the scopes the key is limited to.
    pub scopes: Option<Vec<String>>,
    /// When it was created.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
    /// When it stops working, if ever.
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub expires_at: Option<SystemTime>,
    /// When it was last used, to the hour (validation writes at most once an hour).
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub last_used_at: Option<SystemTime>,
    /// When it was revoked.
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub revoked_at: Option<SystemTime>,
    /// The organization the key belongs to, if any.
    pub organization_id: Option<OrgId>,
}

/// A new API key: its secret, shown this once, and what is stored. `Debug` hides the
/// secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct NewApiKey {
    /// The key to hand to the script or service: `alk_<selector>.<secret>.<checksum>`.
    pub secret: String,
    /// The stored description.
    pub info: ApiKeyInfo,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("secret", &"[redacted]")
            .field("info", &self.info)
            .finish()
    }
}

/// A short-lived access token minted from an API key by
/// [`Auth::issue_service_token`](crate::Auth::issue_service_token). `Debug` hides it.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServiceToken {
    /// The JWT, validated by [`Auth::validate`](crate::Auth::validate) like any access token.
    pub access_token: String,
    /// When it expires.
    pub expires_at: SystemTime,
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceToken")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a valid scoped capability token grants, from
/// [`Auth::verify_scoped`](crate::Auth::verify_scoped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ScopedGrant {
    /// The scope it was issued for (e.g. `"table"`).
    pub scope: String,
    /// The subject within the scope (e.g. `"42"`).
    pub subject: String,
    /// When it was issued.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub issued_at: SystemTime,
    /// When it expires.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub expires_at: SystemTime,
}
