//! The one error type of the crate.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in a form a program can branch on.
///
/// Match on this rather than on messages; messages are for people and may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Unknown user or wrong password. Deliberately does not say which.
    InvalidCredentials,
    /// The account is locked after too many failures; see [`Error::retry_after`].
    AccountLocked,
    /// Too many attempts from one client address; see [`Error::retry_after`].
    RateLimited,
    /// The user exists but is deactivated.
    InactiveUser,
    /// Malformed, forged, tampered, oversized or otherwise unacceptable token.
    InvalidToken,
    /// The token, or the session behind it, has expired.
    ExpiredToken,
    /// The token was good, but its session, user or the token itself has been revoked.
    RevokedToken,
    /// A refresh token was presented a second time; its whole session has been revoked.
    TokenReused,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// No such user, session, role or other object.
    NotFound,
    /// Already exists (username, email, role), or a one-time setup was already done.
    Conflict,
    /// Input rejected by validation (bad username, email, name, length, characters).
    InvalidInput,
    /// Password rejected by the password policy (too short, too long, too common).
    WeakPassword,
    /// The database failed or is not what it should be. Always fails closed.
    Storage,
    /// The configuration is invalid.
    Config,
    /// An internal failure that is not the caller's fault (e.g. the OS random source).
    Internal,
    /// The password (or magic link) was right, and the account has a second factor:
    /// finish with [`Auth::complete_mfa`](crate::Auth::complete_mfa) and the challenge in
    /// [`Error::mfa_challenge`].
    MfaRequired,
}

impl ErrorKind {
    /// The HTTP status a web service should answer with for this kind.
    ///
    /// 401 for credential and token problems, 403 for inactive users and denials, 404, 409,
    /// 422 for rejected input, 429 for lockout and throttling, 500 for the rest.
    pub fn http_status(self) -> u16 {
        use ErrorKind::*;
        match self {
            InvalidCredentials | InvalidToken | ExpiredToken | RevokedToken | TokenReused
            | MfaRequired => 401,
            InactiveUser | Forbidden => 403,
            NotFound => 404,
            Conflict => 409,
            InvalidInput | WeakPassword => 422,
            AccountLocked | RateLimited => 429,
            Storage | Config | Internal => 500,
        }
    }

    /// A stable snake_case name for the kind (`"invalid_token"`, `"account_locked"`, ...),
    /// for JSON bodies, logs and scripts. Never changes for an existing kind.
    pub fn as_str(self) -> &'static str {
        use ErrorKind::*;
        match self {
            InvalidCredentials => "invalid_credentials",
            AccountLocked => "account_locked",
            RateLimited => "rate_limited",
            InactiveUser => "inactive_user",
            InvalidToken => "invalid_token",
            ExpiredToken => "expired_token",
            RevokedToken => "revoked_token",
            TokenReused => "token_reused",
            Forbidden => "forbidden",
            NotFound => "not_found",
            Conflict => "conflict",
            InvalidInput => "invalid_input",
            WeakPassword => "weak_password",
            Storage => "storage",
            Config => "config",
            Internal => "internal",
            MfaRequired => "mfa_required",
        }
    }

    /// Every kind, for documentation and exhaustive tests.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidCredentials,
        ErrorKind::AccountLocked,
        ErrorKind::RateLimited,
        ErrorKind::InactiveUser,
        ErrorKind::InvalidToken,
        ErrorKind::ExpiredToken,
        ErrorKind::RevokedToken,
        ErrorKind::TokenReused,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::InvalidInput,
        ErrorKind::WeakPassword,
        ErrorKind::Storage,
        ErrorKind::Config,
        ErrorKind::Internal,
        ErrorKind::MfaRequired,
    ];

    fn default_message(self) -> &'static str {
        use ErrorKind::*;
        match self {
            InvalidCredentials => "invalid username or password",
            AccountLocked => "account temporarily locked",
            RateLimited => "too many attempts, try again later",
            InactiveUser => "user is deactivated",
            InvalidToken => "invalid token",
            ExpiredToken => "token expired",
            RevokedToken => "token revoked",
            TokenReused => "refresh token reused; session revoked",
            Forbidden => "forbidden",
            NotFound => "not found",
            Conflict => "already exists",
            InvalidInput => "invalid input",
            WeakPassword => "password does not meet the policy",
            Storage => "storage error",
            Config => "invalid configuration",
            Internal => "internal error",
            MfaRequired => "a second factor is required",
        }
    }
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
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error { kind, message: message.into(), retry_after: None, challenge: None, source: None }
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

    pub(crate) fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub(crate) fn from_kind(kind: ErrorKind) -> Self {
        Error::new(kind, kind.default_message())
    }

    pub(crate) fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub(crate) fn storage(
        message: impl Into<Cow<'static, str>>,
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
    fn retry_after_only_when_set() {
        let e = Error::from_kind(ErrorKind::AccountLocked);
        assert_eq!(e.retry_after(), None);
        let e = e.with_retry_after(Duration::from_secs(3));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.kind(), ErrorKind::AccountLocked);
    }
}
