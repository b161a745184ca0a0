//! Accounts: registration, lookup, passwords, activation and deletion.

use std::fmt;
use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::Auth;
use crate::audit::{AuditKind, Record};
use crate::clock::from_millis;
use crate::error::{Error, ErrorKind, Result};
use crate::limiter;
use crate::names::{self, Lookup};
use crate::password;
use crate::rbac;
use crate::sessions::revoke_user_sessions;
use crate::store::exists;

/// A user's id: a positive integer, never reused after deletion.
pub type UserId = i64;

/// Builds the user `SELECT` with one shared column list.
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, email, active, created_at, updated_at, last_login_at ",
            "FROM users ",
            $tail
        )
    };
}

const USER_BY_ID: &str = select_user!("WHERE id = ?1");
const USER_BY_USERNAME: &str = select_user!("WHERE username_key = ?1");
const USER_BY_EMAIL: &str = select_user!("WHERE email_key = ?1");
const USERNAME_TAKEN: &str = "SELECT 1 FROM users WHERE username_key = ?1";
const EMAIL_TAKEN: &str = "SELECT 1 FROM users WHERE email_key = ?1";
const EMAIL_TAKEN_BY_OTHER: &str = "SELECT 1 FROM users WHERE email_key = ?1 AND id <> ?2";
const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = ?1";
const INSERT_USER: &str = "INSERT INTO users \
     (username, username_key, email, email_key, password_hash, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
const CREDENTIALS_BY_USERNAME: &str = "SELECT id, password_hash FROM users WHERE username_key = ?1";
const CREDENTIALS_BY_EMAIL: &str = "SELECT id, password_hash FROM users WHERE email_key = ?1";
const CREDENTIALS_BY_ID: &str = "SELECT id, password_hash FROM users WHERE id = ?1";
const ACCOUNT_STATE: &str = "SELECT password_hash, active, token_version FROM users WHERE id = ?1";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = ?2, updated_at = ?3, \
     token_version = token_version + 1 WHERE id = ?1";
const UPGRADE_HASH: &str =
    "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2";
const SET_ACTIVE: &str = "UPDATE users SET active = ?2, updated_at = ?3, \
     token_version = token_version + 1 WHERE id = ?1";
const DELETE_USER: &str = "DELETE FROM users WHERE id = ?1";
const SET_EMAIL: &str =
    "UPDATE users SET email = ?2, email_key = ?3, updated_at = ?4 WHERE id = ?1";
const LIST_USERS: &str = select_user!(
    "WHERE (?1 IS NULL OR username_key LIKE ?1 ESCAPE '\\' OR email_key LIKE ?1 ESCAPE '\\') \
     AND (?2 IS NULL OR active = ?2) \
     AND (?5 IS NULL OR EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
          WHERE ur.user_id = users.id AND r.name = ?5)) \
     ORDER BY id LIMIT ?3 OFFSET ?4"
);
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    /// The id, stable for the life of the account.
    pub id: UserId,
    /// The username as registered (NFKC); unique ignoring case and width.
    pub username: String,
    /// The email as registered (NFKC), if any; unique ignoring case.
    pub email: Option<String>,
    /// `false` after [`Auth::deactivate_user`]: cannot log in or use tokens.
    pub active: bool,
    /// When the account was registered.
    pub created_at: SystemTime,
    /// When the account last changed (password, activation).
    pub updated_at: SystemTime,
    /// When the user last logged in successfully.
    pub last_login_at: Option<SystemTime>,
}

impl User {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
        Ok(User {
            id: r.get(0)?,
            username: r.get(1)?,
            email: r.get(2)?,
            active: r.get(3)?,
            created_at: from_millis(r.get(4)?),
            updated_at: from_millis(r.get(5)?),
            last_login_at: r.get::<_, Option<i64>>(6)?.map(from_millis),
        })
    }
}

/// Filters and paging for [`Auth::list_users`]. `Default` lists the first 100 users.
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
    /// Page size; default 100, at most 1000.
    pub limit: Option<u32>,
    /// Users to skip (ordering is by id, so pages are stable).
    pub offset: u64,
}

/// What [`Auth::register`] needs: `NewUser::new(username, password)` plus optional setters.
#[derive(Clone)]
pub struct NewUser {
    pub(crate) username: String,
    pub(crate) password: zeroize::Zeroizing<String>,
    pub(crate) email: Option<String>,
    pub(crate) roles: Vec<String>,
}

impl NewUser {
    /// A user with `username` and `password`; both are checked by `register`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        NewUser {
            username: username.into(),
            password: zeroize::Zeroizing::new(password.into()),
            email: None,
            roles: Vec::new(),
        }
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
            .field("password", &"[redacted]")
            .field("email", &self.email)
            .field("roles", &self.roles)
            .finish()
    }
}

/// A user's id and stored hash, as read for a password check.
pub(crate) struct Credentials {
    pub(crate) id: UserId,
    pub(crate) hash: String,
}

/// Password hash, active flag and token version, read inside a write transaction.
pub(crate) struct AccountState {
    pub(crate) hash: String,
    pub(crate) active: bool,
    pub(crate) token_version: i64,
}

pub(crate) fn credentials(conn: &Connection, who: &Lookup) -> Result<Option<Credentials>> {
    let (sql, key) = match who {
        Lookup::Username(key) => (CREDENTIALS_BY_USERNAME, key),
        Lookup::Email(key) => (CREDENTIALS_BY_EMAIL, key),
    };
    query_credentials(conn, sql, key)
}

fn query_credentials(
    conn: &Connection,
    sql: &str,
    key: impl rusqlite::ToSql,
) -> Result<Option<Credentials>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row([key], |r| Ok(Credentials { id: r.get(0)?, hash: r.get(1)? }))
        .optional()?)
}

pub(crate) fn account_state(conn: &Connection, id: UserId) -> Result<Option<AccountState>> {
    Ok(conn
        .prepare_cached(ACCOUNT_STATE)?
        .query_row([id], |r| {
            Ok(AccountState { hash: r.get(0)?, active: r.get(1)?, token_version: r.get(2)? })
        })
        .optional()?)
}

pub(crate) fn load(conn: &Connection, id: UserId) -> Result<User> {
    conn.prepare_cached(USER_BY_ID)?
        .query_row([id], User::from_row)
        .optional()?
        .ok_or_else(not_found)
}

/// Replaces the hash with a re-hash of the same password, unless it changed meanwhile.
pub(crate) fn upgrade_hash(conn: &Connection, id: UserId, old: &str, new: &str) -> Result<()> {
    conn.prepare_cached(UPGRADE_HASH)?.execute(params![id, old, new])?;
    Ok(())
}

/// `NotFound` unless a user with this id exists.
pub(crate) fn require(conn: &Connection, id: UserId) -> Result<()> {
    if exists(conn, USER_EXISTS, [id])? { Ok(()) } else { Err(not_found()) }
}

fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such user")
}

/// Accounts.
impl Auth {
    /// Creates an account. The username (and email, if given) must be valid and unique
    /// ignoring case and width (`Conflict` otherwise); the password must meet the policy
    /// (`WeakPassword`). The password is hashed with PBKDF2 before the transaction.
    pub fn register(&self, new: NewUser) -> Result<User> {
        let config = self.config();
        let context = [new.username.as_str(), new.email.as_deref().unwrap_or("")];
        let normalized = password::check_new(
            &new.password,
            config.min_password_length,
            config.max_password_length,
            &context,
        )?;
        self.create_user(
            &new.username,
            new.email.as_deref(),
            &new.roles,
            || password::hash(&normalized, config.pbkdf2_iterations),
            AuditKind::UserRegistered,
        )
    }

    /// Creates an account with a password hash from another system, so users move over
    /// without resetting passwords: Django `pbkdf2_sha256$…`, Werkzeug `pbkdf2:sha256:…`,
    /// passlib and PHC `$pbkdf2-sha256$…` (also SHA-512 variants). The first successful
    /// login re-hashes the password with the current parameters. `InvalidInput` for any
    /// other format or iterations outside 1,000..=10,000,000.
    pub fn import_user(
        &self,
        username: impl AsRef<str>,
        password_hash: impl AsRef<str>,
    ) -> Result<User> {
        let (username, password_hash) = (username.as_ref(), password_hash.as_ref());
        if !password::importable(password_hash) {
            return Err(Error::invalid_input("unsupported or malformed password hash"));
        }
        self.create_user(
            username,
            None,
            &[],
            || Ok(password_hash.to_owned()),
            AuditKind::UserImported,
        )
    }

    fn create_user(
        &self,
        username: &str,
        email: Option<&str>,
        roles: &[String],
        hash: impl FnOnce() -> Result<String>,
        event: AuditKind,
    ) -> Result<User> {
        let username = names::username(username)?;
        let email = email.map(names::email).transpose()?;
        let hash = hash()?;
        self.write(|tx| {
            if exists(tx, USERNAME_TAKEN, [&username.key])? {
                return Err(Error::new(ErrorKind::Conflict, "username is already taken"));
            }
            if let Some(email) = &email {
                if exists(tx, EMAIL_TAKEN, [&email.key])? {
                    return Err(Error::new(ErrorKind::Conflict, "email is already registered"));
                }
            }
            tx.prepare_cached(INSERT_USER)?.execute(params![
                username.display,
                username.key,
                email.as_ref().map(|e| &e.display),
                email.as_ref().map(|e| &e.key),
                hash,
                tx.now()
            ])?;
            let id = tx.last_insert_rowid();
            tx.audit(event, Record::user(id))?;
            for role in roles {
                rbac::assign(tx, id, role)?;
            }
            load(tx, id)
        })
    }

    /// Sets or clears a user's email (unique ignoring case: `Conflict`).
    pub fn set_email(&self, id: UserId, email: Option<&str>) -> Result<()> {
        let email = email.map(names::email).transpose()?;
        self.write(|tx| {
            require(tx, id)?;
            if let Some(email) = &email {
                if exists(tx, EMAIL_TAKEN_BY_OTHER, params![email.key, id])? {
                    return Err(Error::new(ErrorKind::Conflict, "email is already registered"));
                }
            }
            tx.prepare_cached(SET_EMAIL)?.execute(params![
                id,
                email.as_ref().map(|e| &e.display),
                email.as_ref().map(|e| &e.key),
                tx.now()
            ])?;
            tx.audit(AuditKind::EmailChanged, Record::user(id))
        })
    }

    /// The user with this id, or `NotFound`.
    pub fn user(&self, id: UserId) -> Result<User> {
        self.inner.store.read(|conn| load(conn, id))
    }

    /// The user with this username or email (ignoring case and width), or `NotFound`.
    /// A string with `@` is looked up as an email, anything else as a username.
    pub fn find_user(&self, username_or_email: &str) -> Result<User> {
        let (sql, key) = match names::lookup(username_or_email)? {
            Lookup::Username(key) => (USER_BY_USERNAME, key),
            Lookup::Email(key) => (USER_BY_EMAIL, key),
        };
        self.inner.store.read(|conn| {
            conn.prepare_cached(sql)?
                .query_row([key], User::from_row)
                .optional()?
                .ok_or_else(not_found)
        })
    }

    /// Users matching `query`, ordered by id.
    pub fn list_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        let pattern = match &query.search {
            Some(text) if text.len() > 1024 => {
                return Err(Error::invalid_input("search text is too long"));
            }
            Some(text) => Some(format!("%{}%", like_escape(&names::fold(text)))),
            None => None,
        };
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        self.inner.store.read(|conn| {
            let mut stmt = conn.prepare_cached(LIST_USERS)?;
            let rows = stmt.query_map(
                params![pattern, query.active, limit, offset, query.role],
                User::from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Changes a password after checking the old one (`InvalidCredentials` if wrong; wrong
    /// guesses count toward the account's lockout, and a locked account gets
    /// `AccountLocked`). The new one must meet the policy. Ends all of the user's sessions
    /// and invalidates every access token issued to them.
    pub fn change_password(
        &self,
        id: UserId,
        old: impl AsRef<str>,
        new: impl AsRef<str>,
    ) -> Result<()> {
        let (old, new) = (old.as_ref(), new.as_ref());
        let config = self.config();
        let account = limiter::user_key(id);
        let now = self.now_ms();
        let (found, locked) = self.inner.store.read(|conn| {
            let found = query_credentials(conn, CREDENTIALS_BY_ID, id)?.ok_or_else(not_found)?;
            Ok((found, limiter::locked_for(conn, &account, now)?))
        })?;
        if let Some(wait) = locked {
            return Err(Error::from_kind(ErrorKind::AccountLocked).with_retry_after(wait));
        }
        let matches = match password::normalize(old, config.max_password_length) {
            Some(normalized) => {
                password::verify(old, &normalized, &found.hash, config.pbkdf2_iterations)?.matches
            }
            None => false,
        };
        if !matches {
            self.write(|tx| {
                let detail = "change_password: wrong old password";
                limiter::count_failure(tx, config, &account, None, Record::user(id), detail)
            })?;
            return Err(Error::from_kind(ErrorKind::InvalidCredentials));
        }
        self.replace_password(id, new, Some(&found.hash), AuditKind::PasswordChanged)
    }

    /// Sets a password without the old one (administrators, password reset). The new one
    /// must meet the policy. Ends all of the user's sessions.
    pub fn set_password(&self, id: UserId, new: impl AsRef<str>) -> Result<()> {
        self.replace_password(id, new.as_ref(), None, AuditKind::PasswordSet)
    }

    fn replace_password(
        &self,
        id: UserId,
        new: &str,
        expected: Option<&str>,
        event: AuditKind,
    ) -> Result<()> {
        let user = self.user(id)?;
        let config = self.config();
        let context = [user.username.as_str(), user.email.as_deref().unwrap_or("")];
        let normalized = password::check_new(
            new,
            config.min_password_length,
            config.max_password_length,
            &context,
        )?;
        let hash = password::hash(&normalized, config.pbkdf2_iterations)?;
        self.write(|tx| {
            let state = account_state(tx, id)?.ok_or_else(not_found)?;
            if expected.is_some_and(|old| old != state.hash) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "the password changed meanwhile; try again",
                ));
            }
            tx.prepare_cached(SET_PASSWORD)?.execute(params![id, hash, tx.now()])?;
            limiter::clear(tx, &limiter::user_key(id))?;
            let ended = revoke_user_sessions(tx, id, tx.now(), "password changed")?;
            tx.audit(event, Record::user(id).detail(format!("sessions ended={ended}")))
        })
    }

    /// Clears a lockout and the failure counter of an account. `NotFound` for an unknown user.
    pub fn unlock_user(&self, id: UserId) -> Result<()> {
        self.write(|tx| {
            require(tx, id)?;
            limiter::clear(tx, &limiter::user_key(id))?;
            tx.audit(AuditKind::AccountUnlocked, Record::user(id))
        })
    }

    /// Deactivates a user: they cannot log in, refresh or validate, and every session ends.
    /// Idempotent.
    pub fn deactivate_user(&self, id: UserId) -> Result<()> {
        self.set_active(id, false)
    }

    /// Re-activates a deactivated user. Their old sessions stay ended. Idempotent.
    pub fn activate_user(&self, id: UserId) -> Result<()> {
        self.set_active(id, true)
    }

    fn set_active(&self, id: UserId, active: bool) -> Result<()> {
        self.write(|tx| {
            let state = account_state(tx, id)?.ok_or_else(not_found)?;
            if state.active == active {
                return Ok(());
            }
            tx.prepare_cached(SET_ACTIVE)?.execute(params![id, active, tx.now()])?;
            let event = if active {
                AuditKind::UserActivated
            } else {
                revoke_user_sessions(tx, id, tx.now(), "user deactivated")?;
                AuditKind::UserDeactivated
            };
            tx.audit(event, Record::user(id))
        })
    }

    /// Deletes a user and, with them, every session, refresh token and role assignment.
    /// Their id is never reused, so tokens issued to them can never match another account.
    /// The audit trail keeps their history.
    pub fn delete_user(&self, id: UserId) -> Result<()> {
        self.write(|tx| {
            if tx.prepare_cached(DELETE_USER)?.execute([id])? == 0 {
                return Err(not_found());
            }
            limiter::clear(tx, &limiter::user_key(id))?;
            tx.audit(AuditKind::UserDeleted, Record::user(id))
        })
    }
}

/// Escapes `LIKE` wildcards so they match literally (with `ESCAPE '\'`).
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
