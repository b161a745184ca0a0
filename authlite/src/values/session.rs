//! Sessions and the token pairs that belong to them: [`Session`], [`ClientInfo`],
//! [`Login`], [`TokenPair`].

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use crate::values::ids::{SessionId, UserId};
use crate::values::signin::SignInMethod;
use crate::values::user::User;

const MAX_IP_CHARS: usize = 64;
const MAX_USER_AGENT_CHARS: usize = 512;

/// Where a login comes from; stored with the session. Both fields are optional and are
/// truncated (64 / 512 characters) with control characters replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClientInfo {
    /// The client's address, e.g. from the socket or a trusted proxy header.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The form that is stored and audited: truncated, control characters replaced.
    pub(crate) fn cleaned(&self) -> ClientInfo {
        ClientInfo {
            ip: clean(self.ip.as_deref(), MAX_IP_CHARS),
            user_agent: clean(self.user_agent.as_deref(), MAX_USER_AGENT_CHARS),
        }
    }
}

fn clean(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).map(|c| if c.is_control() { '?' } else { c }).collect())
}

/// A login session: what the refresh token and every access token of one login belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Session {
    /// The id, as in the `sid` claim.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the user logged in.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
    /// When the refresh token was last redeemed (or the login time).
    #[serde(serialize_with = "crate::values::time::ms")]
    pub last_refreshed_at: SystemTime,
    /// The session ends here unless refreshed before; refreshing moves it forward, never
    /// past `expires_at`.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub idle_expires_at: SystemTime,
    /// The absolute end of the session; never moves.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub expires_at: SystemTime,
    /// When it was revoked (logout, revocation, password change, reuse detection...).
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub revoked_at: Option<SystemTime>,
    /// The client address given at login.
    pub ip: Option<String>,
    /// The client user agent given at login.
    pub user_agent: Option<String>,
    /// How the session signed in (its first factor).
    pub method: SignInMethod,
}

/// The result of a successful [`Auth::login`](crate::Auth::login). `Debug` does not print
/// the tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// The JWT to present on every request (`Authorization: Bearer ...`).
    pub access_token: String,
    /// The opaque token to get a new pair from [`Auth::refresh`](crate::Auth::refresh);
    /// single use.
    pub refresh_token: String,
    /// When `access_token` expires.
    pub access_expires_at: SystemTime,
}

/// A new token pair from [`Auth::refresh`](crate::Auth::refresh). `Debug` does not print
/// the tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenPair {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token; the one redeemed is spent.
    pub refresh_token: String,
    /// When `access_token` expires.
    pub access_expires_at: SystemTime,
    /// The session both tokens belong to.
    pub session_id: SessionId,
    /// When `refresh_token` stops working unless redeemed before: the session's idle expiry
    /// (never past its absolute end). Use it as a refresh cookie's `Max-Age`.
    pub refresh_expires_at: SystemTime,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("session", &self.session)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .field("session_id", &self.session_id)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}
