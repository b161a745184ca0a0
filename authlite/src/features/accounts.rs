//! Accounts: registration, lookup, passwords, activation and deletion.

use super::engine::{Engine, Record, Tx, require_user, user_not_found};
use super::lifecycle::{self, AccountEvent};
use super::{rbac, throttle};
use crate::crypto::password;
use crate::store::{Conn, NewUserRow, UserFilter, UserKey};
use crate::values::audit::AuditKind;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::names::{self, Lookup, Name};
use crate::values::user::{AccountKind, NewUser, User, UserQuery};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;
const MAX_SEARCH_BYTES: usize = 1024;
const MAX_ATTRIBUTE_KEY: usize = 64;
const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;
const MAX_ATTRIBUTES: u64 = 32;

/// Attribute keys: 1–64 of `a-z 0-9 _ . -`.
fn attribute_key(key: &str) -> Result<()> {
    let valid = (1..=MAX_ATTRIBUTE_KEY).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_input("attribute keys are 1 to 64 of a-z 0-9 _ . -"))
    }
}

pub(super) fn load(conn: &Conn<'_>, id: UserId) -> Result<User> {
    conn.user(UserKey::Id(id))?.ok_or_else(user_not_found)
}

/// The store's key for a parsed login name.
pub(super) fn user_key(lookup: &Lookup) -> UserKey<'_> {
    match lookup {
        Lookup::Username(key) => UserKey::Username(key),
        Lookup::Email(key) => UserKey::Email(key),
    }
}

/// Inserts an account inside `tx` and audits `event`: `Conflict` when the name (or one
/// that looks like it) or the email is taken.
pub(super) fn insert_account(
    tx: &Tx<'_, '_>,
    username: &Name,
    email: Option<&Name>,
    hash: &str,
    kind: AccountKind,
    event: AuditKind,
) -> Result<UserId> {
    let skeleton = names::skeleton(&username.display);
    if tx.username_taken(&username.key, &skeleton)? {
        return Err(Error::new(
            ErrorKind::Conflict,
            "username is already taken, or looks like one that is",
        ));
    }
    if let Some(email) = email
        && tx.email_taken(&email.key, None)?
    {
        return Err(Error::new(ErrorKind::Conflict, "email is already registered"));
    }
    let row = NewUserRow {
        username: &username.display,
        username_key: &username.key,
        username_skeleton: &skeleton,
        email: email.map(|e| (e.display.as_str(), e.key.as_str())),
        hash,
        kind,
    };
    let id = tx.insert_user(&row, tx.now())?;
    tx.audit(event, Record::user(id))?;
    Ok(id)
}

/// Accounts.
impl Engine {
    pub(crate) fn register(&self, new: NewUser) -> Result<User> {
        let normalized = match &new.password {
            Some(password) => Some(self.policy(&new.username, new.email.as_deref(), password)?),
            None => None,
        };
        self.create_user(
            &new.username,
            new.email.as_deref(),
            &new.roles,
            || match &normalized {
                Some(normalized) => password::hash(normalized, self.config.pbkdf2_iterations),
                None => Ok(password::NO_PASSWORD.to_owned()),
            },
            AccountKind::Person,
            AuditKind::UserRegistered,
        )
    }

    pub(crate) fn import_user(&self, username: &str, password_hash: &str) -> Result<User> {
        if !password::importable(password_hash) {
            return Err(Error::invalid_input("unsupported or malformed password hash"));
        }
        self.create_user(
            username,
            None,
            &[],
            || Ok(password_hash.to_owned()),
            AccountKind::Person,
            AuditKind::UserImported,
        )
    }

    fn create_user(
        &self,
        username: &str,
        email: Option<&str>,
        roles: &[String],
        hash: impl FnOnce() -> Result<String>,
        kind: AccountKind,
        event: AuditKind,
    ) -> Result<User> {
        let username = names::username(username)?;
        let email = email.map(names::email).transpose()?;
        let hash = hash()?;
        self.write(|tx| {
            let id = insert_account(tx, &username, email.as_ref(), &hash, kind, event)?;
            for role in roles {
                rbac::assign(tx, id, role)?;
            }
            load(tx, id)
        })
    }

    pub(crate) fn create_service_account(&self, name: &str) -> Result<User> {
        let no_password = || Ok(password::NO_PASSWORD.to_owned());
        self.create_user(
            name,
            None,
            &[],
            no_password,
            AccountKind::Service,
            AuditKind::ServiceAccountCreated,
        )
    }

    pub(crate) fn set_email(&self, id: UserId, email: Option<&str>) -> Result<()> {
        let email = email.map(names::email).transpose()?;
        self.write(|tx| {
            require_user(tx, id)?;
            if let Some(email) = &email
                && tx.email_taken(&email.key, Some(id))?
            {
                return Err(Error::new(ErrorKind::Conflict, "email is already registered"));
            }
            let pair = email.as_ref().map(|e| (e.display.as_str(), e.key.as_str()));
            tx.set_email(id, pair, tx.now())?;
            lifecycle::apply(tx, id, AccountEvent::EmailChanged)?;
            tx.audit(AuditKind::EmailChanged, Record::user(id))
        })
    }

    pub(crate) fn set_attribute(&self, id: UserId, key: &str, value: &str) -> Result<()> {
        attribute_key(key)?;
        if value.len() > MAX_ATTRIBUTE_VALUE_BYTES || value.contains('\0') {
            return Err(Error::invalid_input("attribute values are at most 1 KiB, without NUL"));
        }
        self.write(|tx| {
            let user = load(tx, id)?;
            if !user.attributes.contains_key(key) && tx.attribute_count(id)? >= MAX_ATTRIBUTES {
                return Err(Error::invalid_input("a user has at most 32 attributes"));
            }
            tx.set_attribute(id, key, value)?;
            tx.audit(AuditKind::AttributeSet, Record::user(id).detail(format!("key={key}")))
        })
    }

    pub(crate) fn remove_attribute(&self, id: UserId, key: &str) -> Result<()> {
        attribute_key(key)?;
        self.write(|tx| {
            require_user(tx, id)?;
            if tx.remove_attribute(id, key)? {
                tx.audit(
                    AuditKind::AttributeRemoved,
                    Record::user(id).detail(format!("key={key}")),
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn user(&self, id: UserId) -> Result<User> {
        self.store.read(|conn| load(conn, id))
    }

    pub(crate) fn find_user(&self, username_or_email: &str) -> Result<User> {
        let lookup = names::lookup(username_or_email)?;
        self.store.read(|conn| conn.user(user_key(&lookup))?.ok_or_else(user_not_found))
    }

    pub(crate) fn list_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        let pattern = match &query.search {
            Some(text) if text.len() > MAX_SEARCH_BYTES => {
                return Err(Error::invalid_input("search text is too long"));
            }
            Some(text) => Some(format!("%{}%", like_escape(&names::fold(text)))),
            None => None,
        };
        let filter = UserFilter {
            pattern: pattern.as_deref(),
            active: query.active,
            role: query.role.as_deref(),
            kind: query.kind,
            limit: query.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE),
            offset: i64::try_from(query.offset).unwrap_or(i64::MAX),
        };
        self.store.read(|conn| conn.list_users(&filter))
    }

    pub(crate) fn change_password(&self, id: UserId, old: &str, new: &str) -> Result<()> {
        let config = &self.config;
        let account = throttle::user_key(id);
        let now = self.now_ms();
        let (found, locked) = self.store.snapshot(|conn| {
            let found = conn.credentials(UserKey::Id(id))?.ok_or_else(user_not_found)?;
            Ok((found, throttle::locked_for(conn, &account, now)?))
        })?;
        if let Some(wait) = locked {
            return Err(Error::from_kind(ErrorKind::AccountLocked).with_retry_after(wait));
        }
        let iterations = config.pbkdf2_iterations;
        let matches = match password::normalize(old, password::MAX_VERIFY_CHARS) {
            // An account without a password has no old one to match.
            Some(normalized) if found.hash == password::NO_PASSWORD => {
                password::burn(&normalized, iterations);
                false
            }
            Some(normalized) => {
                password::verify(old, &normalized, &found.hash, iterations)?.matches
            }
            None => false,
        };
        if !matches {
            self.write(|tx| {
                let detail = "change_password: wrong old password";
                throttle::count_failure(tx, config, &account, None, Record::user(id), detail)
            })?;
            return Err(Error::from_kind(ErrorKind::InvalidCredentials));
        }
        let event = (AuditKind::PasswordChanged, AccountEvent::PasswordChanged);
        self.replace_password(id, new, Some(&found.hash), event)
    }

    pub(crate) fn set_password(&self, id: UserId, new: &str) -> Result<()> {
        self.replace_password(id, new, None, (AuditKind::PasswordSet, AccountEvent::PasswordSet))
    }

    fn replace_password(
        &self,
        id: UserId,
        new: &str,
        expected: Option<&str>,
        (audit, event): (AuditKind, AccountEvent<'_>),
    ) -> Result<()> {
        let hash = self.hash_new_password(&self.user(id)?, new)?;
        self.write(|tx| {
            let state = tx.account_state(id)?.ok_or_else(user_not_found)?;
            if expected.is_some_and(|old| old != state.hash) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "the password changed meanwhile; try again",
                ));
            }
            tx.set_password(id, &hash, tx.now())?;
            let ended = lifecycle::apply(tx, id, event)?;
            tx.audit(audit, Record::user(id).detail(format!("sessions ended={ended}")))
        })
    }

    pub(crate) fn unlock_user(&self, id: UserId) -> Result<()> {
        self.write(|tx| {
            require_user(tx, id)?;
            // An administrator's decision: both factors' lockouts end.
            tx.clear_throttle(&throttle::user_key(id))?;
            tx.clear_throttle(&throttle::second_factor_key(id))?;
            tx.audit(AuditKind::AccountUnlocked, Record::user(id))
        })
    }

    pub(crate) fn set_active(&self, id: UserId, active: bool) -> Result<()> {
        self.write(|tx| {
            let state = tx.account_state(id)?.ok_or_else(user_not_found)?;
            if state.active == active {
                return Ok(());
            }
            tx.set_active(id, active, tx.now())?;
            let event = if active {
                AuditKind::UserActivated
            } else {
                lifecycle::apply(tx, id, AccountEvent::Deactivated)?;
                AuditKind::UserDeactivated
            };
            tx.audit(event, Record::user(id))
        })
    }

    pub(crate) fn delete_user(&self, id: UserId) -> Result<()> {
        self.write(|tx| {
            if !tx.delete_user(id)? {
                return Err(user_not_found());
            }
            lifecycle::apply(tx, id, AccountEvent::Deleted)?;
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

impl Engine {
    /// The policy check and hash of a new password for `account` (PBKDF2: before any
    /// transaction). Service accounts have none.
    pub(super) fn hash_new_password(&self, account: &User, new: &str) -> Result<String> {
        if account.kind == AccountKind::Service {
            return Err(Error::invalid_input("service accounts have no password"));
        }
        let normalized = self.policy(&account.username, account.email.as_deref(), new)?;
        password::hash(&normalized, self.config.pbkdf2_iterations)
    }

    /// The password policy for a new password (NIST 800-63B: length, breached list, not the
    /// name or email); the NFKC form to hash.
    fn policy(
        &self,
        username: &str,
        email: Option<&str>,
        new: &str,
    ) -> Result<password::Normalized> {
        let config = &self.config;
        password::check_new(
            new,
            config.min_password_length,
            config.max_password_length,
            &[username, email.unwrap_or("")],
        )
    }
}
