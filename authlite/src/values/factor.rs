//! The second [`Factor`]s an `MfaRequired` answer offers (DESIGN §11). Depends on nothing,
//! so the error type can carry them.

use serde::Serialize;

/// A second factor an account can answer an `MfaRequired` challenge with
/// ([`Error::mfa_factors`](crate::Error::mfa_factors)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Factor {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// One of the account's unspent recovery codes.
    RecoveryCode,
    /// A passkey of the account.
    Passkey,
}

impl Factor {
    /// A stable snake_case name (`"totp"`, `"recovery_code"`, `"passkey"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
            Factor::Passkey => "passkey",
        }
    }
}
