//! The `users` table.

use std::collections::BTreeMap;

use super::sql::{Row, Sql, args, attributes_json, dialects, malformed};

use super::{Conn, WriteTx};
use crate::values::clock::from_millis;
use crate::values::error::Result;
use crate::values::ids::UserId;
use crate::values::user::{AccountKind, User};

/// Builds the user `SELECT` with one shared column list.
macro_rules! select_user {
    ($d:ident, $tail:literal) => {
        concat!(
            "SELECT id, username, email, active, created_at, updated_at, last_login_at, kind, ",
            "email_verified_at, password_hash <> '!', ",
            attributes_json!($d, "users.id"),
            " FROM users ",
            $tail
        )
    };
}

const USER_BY_ID: Sql = dialects!(select_user, "WHERE id = ?1");
const USER_BY_USERNAME: Sql = dialects!(select_user, "WHERE username_key = ?1");
const USER_BY_EMAIL: Sql = dialects!(select_user, "WHERE email_key = ?1");
const USERNAME_TAKEN: &str =
    "SELECT 1 FROM users WHERE username_key = ?1 OR username_skeleton = ?2";
const EMAIL_TAKEN: &str = "SELECT 1 FROM users WHERE email_key = ?1 AND id IS DISTINCT FROM ?2";
const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = ?1";
const INSERT_USER: &str = "INSERT INTO users (username, username_key, username_skeleton, \
     email, email_key, password_hash, created_at, updated_at, kind) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING id";
const CREDENTIALS_BY_USERNAME: &str =
    "SELECT id, password_hash, kind FROM users WHERE username_key = ?1";
const CREDENTIALS_BY_EMAIL: &str = "SELECT id, password_hash, kind FROM users WHERE email_key = ?1";
const CREDENTIALS_BY_ID: &str = "SELECT id, password_hash, kind FROM users WHERE id = ?1";
const ACCOUNT_STATE: &str = "SELECT password_hash, active, token_version FROM users WHERE id = ?1";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = ?2, updated_at = ?3, \
     token_version = token_version + 1 WHERE id = ?1";
const UPGRADE_HASH: &str =
    "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2";
const SET_ACTIVE: &str = "UPDATE users SET active = ?2, updated_at = ?3, \
     token_version = token_version + 1 WHERE id = ?1";
const DELETE_USER: &str = "DELETE FROM users WHERE id = ?1";
const SET_EMAIL: &str = "UPDATE users SET email = ?2, email_key = ?3, updated_at = ?4, email_verified_at = NULL \
     WHERE id = ?1";
const SET_EMAIL_VERIFIED: &str = "UPDATE users SET email_verified_at = ?2 WHERE id = ?1";
const SET_ATTRIBUTE: &str = "INSERT INTO user_attributes (user_id, key, value) VALUES (?1, ?2, ?3) \
     ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value";
const REMOVE_ATTRIBUTE: &str = "DELETE FROM user_attributes WHERE user_id = ?1 AND key = ?2";
const COUNT_ATTRIBUTES: &str = "SELECT count(*) FROM user_attributes WHERE user_id = ?1";
const TOUCH_LOGIN: &str = "UPDATE users SET last_login_at = ?2 WHERE id = ?1";
/// (The casts tell PostgreSQL each optional filter's type; SQLite ignores them.)
const LIST_USERS: Sql = dialects!(
    select_user,
    "WHERE (CAST(?1 AS TEXT) IS NULL \
            OR username_key LIKE ?1 ESCAPE '\\' OR email_key LIKE ?1 ESCAPE '\\') \
     AND (CAST(?2 AS BIGINT) IS NULL OR active = ?2) \
     AND (CAST(?6 AS TEXT) IS NULL OR kind = ?6) \
     AND (CAST(?5 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM user_roles ur \
          JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = users.id AND r.name = ?5)) \
     ORDER BY id LIMIT ?3 OFFSET ?4"
);

/// A user's id and stored hash, as read for a password check.
pub(crate) struct Credentials {
    pub(crate) id: UserId,
    pub(crate) hash: String,
    pub(crate) kind: AccountKind,
}

/// Password hash, active flag and token version, read inside a write transaction.
pub(crate) struct AccountState {
    pub(crate) hash: String,
    pub(crate) active: bool,
    pub(crate) token_version: i64,
}

/// How a user is looked up: by id, or by a username or email key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UserKey<'k> {
    Id(UserId),
    Username(&'k str),
    Email(&'k str),
}

/// A new account's row.
pub(crate) struct NewUserRow<'a> {
    pub(crate) username: &'a str,
    pub(crate) username_key: &'a str,
    pub(crate) username_skeleton: &'a str,
    pub(crate) email: Option<(&'a str, &'a str)>,
    pub(crate) hash: &'a str,
    pub(crate) kind: AccountKind,
}

/// What `list_users` filters on; `pattern` is a `LIKE` pattern with `\` escapes.
pub(crate) struct UserFilter<'a> {
    pub(crate) pattern: Option<&'a str>,
    pub(crate) active: Option<bool>,
    pub(crate) role: Option<&'a str>,
    pub(crate) kind: Option<AccountKind>,
    pub(crate) limit: u32,
    pub(crate) offset: i64,
}

fn user_from_row(r: &Row<'_>) -> Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        active: r.get(3)?,
        created_at: from_millis(r.get(4)?),
        updated_at: from_millis(r.get(5)?),
        last_login_at: r.get::<Option<i64>>(6)?.map(from_millis),
        kind: kind_from(r, 7)?,
        email_verified_at: r.get::<Option<i64>>(8)?.map(from_millis),
        has_password: r.get(9)?,
        attributes: attributes_from(r, 10)?,
    })
}

/// Attributes come back as one JSON object ([`attributes_json`]), `NULL` or `{}` when
/// there are none.
pub(super) fn attributes_from(r: &Row<'_>, i: usize) -> Result<BTreeMap<String, String>> {
    Ok(r.json(i, "user attributes")?.unwrap_or_default())
}

/// The `kind` column as an [`AccountKind`].
pub(super) fn kind_from(r: &Row<'_>, i: usize) -> Result<AccountKind> {
    let name: String = r.get(i)?;
    AccountKind::from_name(&name).ok_or_else(|| malformed("account kind"))
}

impl Conn<'_> {
    pub(crate) fn user(&self, key: UserKey<'_>) -> Result<Option<User>> {
        match key {
            UserKey::Id(id) => self.row(USER_BY_ID, args![id], user_from_row),
            UserKey::Username(k) => self.row(USER_BY_USERNAME, args![k], user_from_row),
            UserKey::Email(k) => self.row(USER_BY_EMAIL, args![k], user_from_row),
        }
    }

    pub(crate) fn user_exists(&self, id: UserId) -> Result<bool> {
        self.exists(USER_EXISTS, args![id])
    }

    /// Whether a user has this username key, or a name that looks like it (`skeleton`).
    pub(crate) fn username_taken(&self, key: &str, skeleton: &str) -> Result<bool> {
        self.exists(USERNAME_TAKEN, args![key, skeleton])
    }

    /// Whether another account than `except` has this email key.
    pub(crate) fn email_taken(&self, key: &str, except: Option<UserId>) -> Result<bool> {
        self.exists(EMAIL_TAKEN, args![key, except])
    }

    pub(crate) fn credentials(&self, key: UserKey<'_>) -> Result<Option<Credentials>> {
        let map = |r: &Row<'_>| {
            Ok(Credentials { id: r.get(0)?, hash: r.get(1)?, kind: kind_from(r, 2)? })
        };
        match key {
            UserKey::Id(id) => self.row(CREDENTIALS_BY_ID, args![id], map),
            UserKey::Username(k) => self.row(CREDENTIALS_BY_USERNAME, args![k], map),
            UserKey::Email(k) => self.row(CREDENTIALS_BY_EMAIL, args![k], map),
        }
    }

    pub(crate) fn account_state(&self, id: UserId) -> Result<Option<AccountState>> {
        self.row(ACCOUNT_STATE, args![id], |r| {
            Ok(AccountState { hash: r.get(0)?, active: r.get(1)?, token_version: r.get(2)? })
        })
    }

    pub(crate) fn list_users(&self, f: &UserFilter<'_>) -> Result<Vec<User>> {
        self.rows(
            LIST_USERS,
            args![f.pattern, f.active, f.limit, f.offset, f.role, f.kind.map(AccountKind::as_str)],
            user_from_row,
        )
    }
}

impl WriteTx<'_> {
    pub(crate) fn insert_user(&self, row: &NewUserRow<'_>, now: i64) -> Result<UserId> {
        self.insert(
            INSERT_USER,
            args![
                row.username,
                row.username_key,
                row.username_skeleton,
                row.email.map(|e| e.0),
                row.email.map(|e| e.1),
                row.hash,
                now,
                row.kind.as_str()
            ],
        )
        .map(UserId)
    }

    /// `email`: `(display, key)`, or `None` to clear it.
    pub(crate) fn set_email(
        &self,
        id: UserId,
        email: Option<(&str, &str)>,
        now: i64,
    ) -> Result<()> {
        self.run(SET_EMAIL, args![id, email.map(|e| e.0), email.map(|e| e.1), now])?;
        Ok(())
    }

    /// Replaces the hash and bumps the token version (every access token dies).
    pub(crate) fn set_password(&self, id: UserId, hash: &str, now: i64) -> Result<()> {
        self.revoke(SET_PASSWORD, args![id, hash, now])?;
        Ok(())
    }

    /// Replaces the hash with a re-hash of the same password, unless it changed meanwhile.
    pub(crate) fn upgrade_hash(&self, id: UserId, old: &str, new: &str) -> Result<()> {
        self.run(UPGRADE_HASH, args![id, old, new])?;
        Ok(())
    }

    /// Sets the active flag and bumps the token version.
    pub(crate) fn set_active(&self, id: UserId, active: bool, now: i64) -> Result<()> {
        self.revoke(SET_ACTIVE, args![id, active, now])?;
        Ok(())
    }

    pub(crate) fn set_email_verified(&self, id: UserId, now: i64) -> Result<()> {
        self.run(SET_EMAIL_VERIFIED, args![id, now])?;
        Ok(())
    }

    /// How many attributes a user has.
    pub(crate) fn attribute_count(&self, id: UserId) -> Result<u64> {
        Ok(self.row(COUNT_ATTRIBUTES, args![id], |r| r.get::<i64>(0))?.unwrap_or(0).max(0) as u64)
    }

    pub(crate) fn set_attribute(&self, id: UserId, key: &str, value: &str) -> Result<()> {
        self.run(SET_ATTRIBUTE, args![id, key, value])?;
        Ok(())
    }

    /// `false` if there was no such attribute.
    pub(crate) fn remove_attribute(&self, id: UserId, key: &str) -> Result<bool> {
        Ok(self.run(REMOVE_ATTRIBUTE, args![id, key])? > 0)
    }

    pub(crate) fn touch_login(&self, id: UserId, now: i64) -> Result<()> {
        self.run_pipelined(TOUCH_LOGIN, args![id, now])
    }

    /// `false` if there was no such user.
    pub(crate) fn delete_user(&self, id: UserId) -> Result<bool> {
        Ok(self.revoke(DELETE_USER, args![id])? > 0)
    }
}
