//! Typed ids: copyable newtypes over the database's integer keys, so a session id cannot be
//! passed where a user id is expected. Text form (`Display`/`FromStr`) is the decimal
//! number; serde uses the number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::error::Error;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The underlying integer, as stored in the database.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// A positive decimal number without sign or leading zeros.
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                parse_positive(s).map($name).ok_or_else(|| {
                    Error::invalid_input(concat!($what, " must be a positive decimal number"))
                })
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> $name {
                $name(id)
            }
        }
    };
}

id_type!(
    /// A user's id: a positive integer, never reused after deletion.
    UserId,
    "a user id"
);
id_type!(
    /// A session's id: a positive integer, never reused.
    SessionId,
    "a session id"
);
id_type!(
    /// An API key's id: a positive integer, never reused.
    ApiKeyId,
    "an API key id"
);
id_type!(
    /// A passkey's id: a positive integer, never reused.
    PasskeyId,
    "a passkey id"
);
id_type!(
    /// A linked identity's id (an account's identity at a provider): a positive integer,
    /// never reused.
    IdentityId,
    "an identity id"
);

id_type!(
    /// An organization's id: a positive integer, never reused.
    OrgId,
    "an organization id"
);

/// The canonical decimal form of a positive `i64`: no sign, no leading zero.
pub(crate) fn parse_positive(s: &str) -> Option<i64> {
    match s.parse::<i64>() {
        Ok(n) if n > 0 && !s.starts_with(['+', '0']) => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_strictness() {
        let id: UserId = "42".parse().unwrap();
        assert_eq!(id, UserId(42));
        assert_eq!(id.to_string(), "42");
        for bad in ["", "0", "-1", "+1", "01", "1.0", "x", "99999999999999999999"] {
            assert!(bad.parse::<SessionId>().is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&ApiKeyId(7)).unwrap(), "7");
    }
}
