//! Who is calling: [`Principal`], one type for every credential, and the [`Claims`] of an
//! access token.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::values::ids::{ApiKeyId, OrgId, SessionId, UserId, parse_positive};
use crate::values::names::WILDCARD;
use crate::values::user::AccountKind;

/// Who is calling, established by [`Auth::validate`](crate::Auth::validate) (and by every
/// other credential check): one type, so an application checks access one way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Principal {
    /// The account.
    pub user_id: UserId,
    /// The account's current username.
    pub username: String,
    /// Whether the account is a person's or a service's.
    pub kind: AccountKind,
    /// The session, for a session's access token.
    pub session_id: Option<SessionId>,
    /// The API key, for an API key or a service token minted from one.
    pub api_key_id: Option<ApiKeyId>,
    /// The active organization: the session's (set by
    /// [`Auth::switch_organization`](crate::Auth::switch_organization), and only while the
    /// account is a member of it) or the API key's. `None`: no organization.
    pub organization_id: Option<OrgId>,
    /// The account's roles, read from the database (not from the token), sorted: its global
    /// roles and its roles in the active organization.
    pub roles: Vec<String>,
    /// `Some`: the credential is limited to these `"resource:action"` scopes (`*` matches
    /// any resource or action), and [`Auth::authorize`](crate::Auth::authorize) requires one
    /// of them as well as a role grant. `None`: the account's grants alone decide.
    pub scopes: Option<Vec<String>>,
    /// The account's attributes, read with the rest.
    pub attributes: BTreeMap<String, String>,
    /// The verified claims, when the credential is a JWT.
    pub claims: Option<Claims>,
}

impl Principal {
    /// Whether the account has `role` (as of the call that produced this principal).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the credential carries exactly the scope `scope` (e.g. `"orders:read"`).
    /// Always `false` for an unscoped credential: use [`Principal::allows_scope`] to ask
    /// whether a (resource, action) is within the credential's limits.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.as_ref().is_some_and(|s| s.iter().any(|x| x == scope))
    }

    /// Whether the credential's scopes admit `action` on `resource`: always for an unscoped
    /// credential; otherwise one scope must match, with `*` matching any resource or action
    /// (`"orders:*"`, `"*:read"`, `"*"`).
    pub fn allows_scope(&self, resource: &str, action: &str) -> bool {
        match &self.scopes {
            None => true,
            Some(scopes) => scopes.iter().any(|s| scope_matches(s, resource, action)),
        }
    }
}

fn scope_matches(scope: &str, resource: &str, action: &str) -> bool {
    let (r, a) = scope.split_once(':').unwrap_or((scope, WILDCARD));
    (r == WILDCARD || r == resource) && (a == WILDCARD || a == action)
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer: [`Config::issuer`](crate::Config::issuer).
    pub iss: String,
    /// Audience: [`Config::audience`](crate::Config::audience).
    pub aud: String,
    /// Subject: the user id (a decimal string on the wire).
    #[serde(with = "decimal")]
    pub sub: UserId,
    /// The session id (a decimal string on the wire), for a session's access token.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_decimal")]
    pub sid: Option<SessionId>,
    /// The API key id (a decimal string on the wire), for a service token. Every access
    /// token has exactly one of `sid` and `akid`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_decimal")]
    pub akid: Option<ApiKeyId>,
    /// Unique token id: 128 random bits, base64url.
    pub jti: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// The user's token version when issued; bumping it kills every older token.
    pub ver: i64,
    /// Not before, seconds since the Unix epoch. authlite does not set it, but honours it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The issuing database's random instance id: another database never accepts the
    /// token, even one configured with the same signing secret.
    pub iid: String,
}

impl Claims {
    /// `exp` as a time.
    pub fn expires_at(&self) -> SystemTime {
        secs_to_time(self.exp)
    }

    /// `iat` as a time.
    pub fn issued_at(&self) -> SystemTime {
        secs_to_time(self.iat)
    }
}

fn secs_to_time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Ids travel as decimal strings (`sub` is a StringOrURI in RFC 7519); numbers are refused.
mod decimal {
    use super::*;

    pub(super) fn serialize<T, S>(id: &T, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<i64>,
        S: Serializer,
    {
        s.collect_str(&(*id).into())
    }

    pub(super) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: From<i64>,
        D: Deserializer<'de>,
    {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_positive(&text)
            .map(T::from)
            .ok_or_else(|| serde::de::Error::custom("not a positive decimal id"))
    }
}

/// [`decimal`] for optional ids.
mod opt_decimal {
    use super::*;

    pub(super) fn serialize<T, S>(id: &Option<T>, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<i64>,
        S: Serializer,
    {
        match id {
            Some(id) => decimal::serialize(id, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: From<i64>,
        D: Deserializer<'de>,
    {
        decimal::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_with_wildcards() {
        for (scope, yes, no) in [
            ("orders:read", ("orders", "read"), ("orders", "write")),
            ("orders:*", ("orders", "refund"), ("users", "read")),
            ("*:read", ("users", "read"), ("users", "write")),
            ("*", ("any", "thing"), ("", "")),
        ] {
            assert!(scope_matches(scope, yes.0, yes.1), "{scope}");
            if scope != "*" {
                assert!(!scope_matches(scope, no.0, no.1), "{scope}");
            }
        }
    }
}
