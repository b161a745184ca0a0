//! How an account signed in: the [`SignInMethod`] a session records (DESIGN §11).

use std::fmt;

use serde::Serialize;

use crate::values::ids::PasskeyId;

/// How a session signed in: its first factor. Recorded with the session
/// ([`Session::method`](crate::Session::method)) so that removing a way in can end exactly
/// the sessions it started.
///
/// ```
/// # use authlite::{Auth, ClientInfo, Config, NewUser, SignInMethod};
/// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
/// auth.register(NewUser::new("alice", "correct horse battery staple"))?;
/// let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
/// assert_eq!(login.session.method, SignInMethod::Password);
/// # Ok::<(), authlite::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignInMethod {
    /// A password (`Auth::login`).
    Password,
    /// A magic sign-in link (`Auth::login_with_magic_link`).
    MagicLink,
    /// A passkey.
    Passkey(PasskeyId),
    /// An external identity provider, by its configured name.
    Provider(String),
}

impl SignInMethod {
    /// The stored form: `password`, `magic_link`, `passkey:<id>`, `provider:<name>`.
    pub(crate) fn to_stored(&self) -> String {
        match self {
            SignInMethod::Password => "password".to_owned(),
            SignInMethod::MagicLink => "magic_link".to_owned(),
            SignInMethod::Passkey(id) => format!("passkey:{id}"),
            SignInMethod::Provider(name) => format!("provider:{name}"),
        }
    }

    /// The method of a stored form; `None` for anything [`SignInMethod::to_stored`] does
    /// not make.
    pub(crate) fn from_stored(stored: &str) -> Option<SignInMethod> {
        match stored {
            "password" => Some(SignInMethod::Password),
            "magic_link" => Some(SignInMethod::MagicLink),
            _ => match stored.split_once(':')? {
                ("passkey", id) => id.parse().ok().map(SignInMethod::Passkey),
                ("provider", name) if !name.is_empty() => {
                    Some(SignInMethod::Provider(name.to_owned()))
                }
                _ => None,
            },
        }
    }
}

impl fmt::Display for SignInMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_round_trip_and_refuse_anything_else() {
        for method in [
            SignInMethod::Password,
            SignInMethod::MagicLink,
            SignInMethod::Passkey(PasskeyId(7)),
            SignInMethod::Provider("google".into()),
        ] {
            assert_eq!(SignInMethod::from_stored(&method.to_stored()), Some(method));
        }
        for bad in ["", "Password", "passkey:", "passkey:0", "passkey:x", "provider:", "x:y"] {
            assert_eq!(SignInMethod::from_stored(bad), None, "{bad}");
        }
    }
}
