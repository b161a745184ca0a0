//! Accounts as callers see them: [`User`], [`NewUser`], [`UserQuery`], [`AccountKind`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::values::ids::UserId;

impl AccountKind {
    /// The stored name: `"person"` or `"service"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Person => "person",
            AccountKind::Service => "service",
        }
    }

    /// The kind with this stored name.
    pub fn from_name(name: &str) -> Option<AccountKind> {
        match name {
            "person" => Some(AccountKind::Person),
            "service" => Some(AccountKind::Service),
            _ => None,
        }
    }
}

/// What kind of account a principal acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AccountKind {
    /// A person, who logs in with a password.
    Person,
    /// A service account: no password, no interactive login.
    Service,
}

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct User {
    /// The id, stable for the life of the account.
    pub id: UserId,
    /// The username as registered (NFKC); unique ignoring case and width.
    pub username: String,
    /// The email as registered (NFKC), if any; unique ignoring case.
    pub email: Option<String>,
    /// A person (password login) or a service account (API keys only).
    pub kind: AccountKind,
    /// `false` after [`Auth::deactivate_user`](crate::Auth::deactivate_user): cannot log in
    /// or use tokens.
    pub active: bool,
    /// Whether the account has a password; `false` for a
    /// [`NewUser::passwordless`] account (until one is set) and for service accounts.
    pub has_password: bool,
    /// When the account was registered.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
    /// When the account last changed (password, activation).
    #[serde(serialize_with = "crate::values::time::ms")]
    pub updated_at: SystemTime,
    /// When the user last logged in successfully.
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub last_login_at: Option<SystemTime>,
    /// When the current email address was proven with a verification token.
    #[serde(serialize_with = "crate::values::time::opt_ms")]
    pub email_verified_at: Option<SystemTime>,
    /// Application data kept with the account (see
    /// [`Auth::set_attribute`](crate::Auth::set_attribute)).
    pub attributes: BTreeMap<String, String>,
}

/// Filters and paging for [`Auth::list_users`](crate::Auth::list_users). `Default` lists the
/// first 100 users.
///
/// ```
/// # let auth = authlite::Auth::open_in_memory()?;
/// let page = auth.list_users(&authlite::UserQuery {
///     search: Some("ali".into()),
///     ..Default::default()
/// })?;
/// # assert!(page.is_empty());
/// # Ok::<(), authlite::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Substring of the username or email, ignoring case and width. `%`, `_` and `\` match
    /// themselves (they are not wildcards).
    pub search: Option<String>,
    /// Only active (`Some(true)`) or only deactivated (`Some(false)`) users.
    pub active: Option<bool>,
    /// Only users holding this role.
    pub role: Option<String>,
    /// Only people (`Some(AccountKind::Person)`) or only service accounts.
    pub kind: Option<AccountKind>,
    /// Page size; default 100, at most 1000.
    pub limit: Option<u32>,
    /// Users to skip (ordering is by id, so pages are stable).
    pub offset: u64,
}

/// What [`Auth::register`](crate::Auth::register) needs: `NewUser::new(username, password)`
/// plus optional setters.
#[derive(Clone)]
pub struct NewUser {
    pub(crate) username: String,
    /// `None`: a passwordless account.
    pub(crate) password: Option<Zeroizing<String>>,
    pub(crate) email: Option<String>,
    pub(crate) roles: Vec<String>,
}

impl NewUser {
    /// A user with `username` and `password`; both are checked by `register`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        NewUser {
            username: username.into(),
            password: Some(Zeroizing::new(password.into())),
            email: None,
            roles: Vec::new(),
        }
    }

    /// A person without a password: they sign in with a magic link (or, later, a passkey
    /// or a linked identity) until [`Auth::set_password`](crate::Auth::set_password) gives
    /// them one. `login` with any password answers `InvalidCredentials`, in the time a
    /// wrong password takes.
    ///
    /// ```
    /// # use authlite::{Auth, ClientInfo, NewUser};
    /// # let auth = Auth::open_in_memory()?;
    /// let kiosk = auth.register(NewUser::passwordless("kiosk").email("kiosk@example.com"))?;
    /// assert!(!kiosk.has_password);
    /// let link = auth.request_magic_link("kiosk")?.expect("a known account");
    /// let login = auth.login_with_magic_link(&link, &ClientInfo::default())?;
    /// assert_eq!(login.user.id, kiosk.id);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn passwordless(username: impl Into<String>) -> Self {
        NewUser { username: username.into(), password: None, email: None, roles: Vec::new() }
    }

    /// Sets the email address (unique, case-insensitive; usable to log in).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Roles to give the user, in the same transaction (each must exist: `NotFound`).
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("email", &self.email)
            .field("roles", &self.roles)
            .finish()
    }
}

/// A new second factor from [`Auth::enroll_totp`](crate::Auth::enroll_totp), inactive until
/// [`Auth::confirm_totp`](crate::Auth::confirm_totp) sees a code from it. `Debug` hides the
/// secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct TotpEnrollment {
    /// The shared secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/<issuer>:<username>?secret=...`, for a QR code.
    pub otpauth_uri: String,
}

impl fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrollment([redacted])")
    }
}
