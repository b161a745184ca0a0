//! The one error type of the crate.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::values::factor::Factor;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares [`ErrorKind`] from one table: each kind with its documentation, its stable
/// name, its HTTP status and its default message. Every list of kinds derives from it.
macro_rules! error_kinds {
    ($($(#[doc = $doc:literal])* $kind:ident => $name:literal, $status:literal, $message:literal;)*) => {
        /// What went wrong, in a form a program can branch on.
        ///
        /// Match on this rather than on messages; messages are for people and may change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl ErrorKind {
            /// Every kind, for documentation and exhaustive tests.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind,)*];

            /// The HTTP status a web service should answer with for this kind.
            ///
            /// 401 for credential and token problems, 403 for inactive users and denials,
            /// 404, 409, 422 for rejected input, 429 for lockout and throttling, 500 for the
            /// rest.
            ///
            /// ```
            /// assert_eq!(authlite::ErrorKind::AccountLocked.http_status(), 429);
            /// ```
            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorKind::$kind => $status,)*
                }
            }

            /// A stable snake_case name for the kind (`"invalid_token"`, `"account_locked"`,
            /// ...), for JSON bodies, logs and scripts. Never changes for an existing kind.
            ///
            /// ```
            /// assert_eq!(authlite::ErrorKind::MfaRequired.as_str(), "mfa_required");
            /// ```
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $name,)*
                }
            }

            /// The kind with this [`ErrorKind::as_str`] name.
            pub fn from_name(name: &str) -> Option<ErrorKind> {
                match name {
                    $($name => Some(ErrorKind::$kind),)*
                    _ => None,
                }
            }

            fn default_message(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $message,)*
                }
            }
        }
    };
}

error_kinds! {
    /// Unknown user or wrong password. Deliberately does not say which.
    InvalidCredentials => "invalid_credentials", 401, "invalid username or password";
    /// The account is locked after too many failures; see [`Error::retry_after`].
    AccountLocked => "account_locked", 429, "account temporarily locked";
    /// Too many attempts from one client address; see [`Error::retry_after`].
    RateLimited => "rate_limited", 429, "too many attempts, try again later";
    /// The user exists but is deactivated.
    InactiveUser => "inactive_user", 403, "user is deactivated";
    /// Malformed, forged, tampered, oversized or otherwise unacceptable token.
    InvalidToken => "invalid_token", 401, "invalid token";
    /// The token, or the session behind it, has expired.
    ExpiredToken => "expired_token", 401, "token expired";
    /// The token was good, but its session, user or the token itself has been revoked.
    RevokedToken => "revoked_token", 401, "token revoked";
    /// A refresh token was presented a second time; its whole session has been revoked.
    TokenReused => "token_reused", 401, "refresh token reused; session revoked";
    /// Authenticated, but not allowed to do this.
    Forbidden => "forbidden", 403, "forbidden";
    /// No such user, session, role or other object.
    NotFound => "not_found", 404, "not found";
    /// Already exists (username, email, role), a one-time setup was already done, or the
    /// change would remove an account's last way to sign in.
    Conflict => "conflict", 409, "already exists";
    /// Input rejected by validation (bad username, email, name, length, characters).
    InvalidInput => "invalid_input", 422, "invalid input";
    /// Password rejected by the password policy (too short, too long, too common).
    WeakPassword => "weak_password", 422, "password does not meet the policy";
    /// The database failed or is not what it should be. Always fails closed.
    Storage => "storage", 500, "storage error";
    /// The configuration is invalid.
    Config => "config", 500, "invalid configuration";
    /// An internal failure that is not the caller's fault (e.g. the OS random source).
    Internal => "internal", 500, "internal error";
    /// The first factor was right, and the account has a second one: finish with
    /// [`Auth::complete_mfa`](crate::Auth::complete_mfa) and the challenge in
    /// [`Error::mfa_challenge`]; [`Error::mfa_factors`] says what the account can answer.
    MfaRequired => "mfa_required", 401, "a second factor is required";
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.default_message())
    }
}

/// The error of every fallible authlite call.
///
/// Messages never contain a password, token, key or hash.
#[derive(thiserror::Error)]
#[non_exhaustive]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
    /// The single-use challenge of an `MfaRequired` error (a bearer secret: never printed).
    challenge: Option<String>,
    /// What the account can answer the challenge with.
    factors: Vec<Factor>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            retry_after: None,
            challenge: None,
            factors: Vec::new(),
            source: None,
        }
    }

    /// The kind of error, to branch on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// For [`ErrorKind::AccountLocked`] and [`ErrorKind::RateLimited`]: how long until another
    /// attempt can succeed. `None` for every other kind.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// For [`ErrorKind::MfaRequired`]: the challenge to pass to
    /// [`Auth::complete_mfa`](crate::Auth::complete_mfa) with the user's code (single use,
    /// five minutes). `None` for every other kind.
    pub fn mfa_challenge(&self) -> Option<&str> {
        self.challenge.as_deref()
    }

    /// For [`ErrorKind::MfaRequired`]: the second factors the account can answer the
    /// challenge with, so a client can offer the right prompts. Empty for every other kind.
    ///
    /// ```
    /// # let auth = authlite::Auth::open_in_memory()?;
    /// let e = auth.login("nobody", "a password", &authlite::ClientInfo::default()).unwrap_err();
    /// assert!(e.mfa_factors().is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn mfa_factors(&self) -> &[Factor] {
        &self.factors
    }

    /// [`Error::retry_after`] in whole seconds, rounded up (an HTTP `Retry-After` value).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }

    pub(crate) fn mfa_required(challenge: String, factors: Vec<Factor>) -> Self {
        let mut e = Error::from_kind(ErrorKind::MfaRequired);
        e.challenge = Some(challenge);
        e.factors = factors;
        e
    }

    pub(crate) fn from_kind(kind: ErrorKind) -> Self {
        Error::new(kind, kind.default_message())
    }

    pub(crate) fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// A `Storage` error whose message says what failed and why (the database client's
    /// own words, which never hold a secret: every value is a bound parameter), with the
    /// client's error kept as the `source()`.
    pub(crate) fn storage(
        message: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let message = format!("{}: {source}", message.into());
        Error { source: Some(Box::new(source)), ..Error::new(ErrorKind::Storage, message) }
    }

    /// [`Error::storage`] with a message that already says why.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn storage_said(
        message: String,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error { source: Some(Box::new(source)), ..Error::new(ErrorKind::Storage, message) }
    }

    pub(crate) fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .field("challenge", &self.challenge.as_ref().map(|_| "[redacted]"))
            .field("factors", &self.factors)
            .field("source", &self.source)
            .finish()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::from_kind(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_cover_the_web_mapping() {
        assert_eq!(ErrorKind::InvalidCredentials.http_status(), 401);
        assert_eq!(ErrorKind::Forbidden.http_status(), 403);
        assert_eq!(ErrorKind::NotFound.http_status(), 404);
        assert_eq!(ErrorKind::Conflict.http_status(), 409);
        assert_eq!(ErrorKind::WeakPassword.http_status(), 422);
        assert_eq!(ErrorKind::RateLimited.http_status(), 429);
        assert_eq!(ErrorKind::Storage.http_status(), 500);
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for &kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn retry_after_seconds_round_up() {
        let e = Error::from_kind(ErrorKind::RateLimited);
        assert_eq!(e.retry_after_secs(), None);
        assert_eq!(e.with_retry_after(Duration::from_millis(1001)).retry_after_secs(), Some(2));
    }

    #[test]
    fn retry_after_only_when_set() {
        let e = Error::from_kind(ErrorKind::AccountLocked);
        assert_eq!(e.retry_after(), None);
        let e = e.with_retry_after(Duration::from_secs(3));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.kind(), ErrorKind::AccountLocked);
    }
}
