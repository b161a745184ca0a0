//! The facade: [`Auth`], the one type users call. Every method documents its contract
//! here and delegates to the features layer ([`Engine`]).
//!
//! Every method is synchronous and may block: on SQLite (a few microseconds to
//! milliseconds; up to `Config::busy_timeout` when another process holds the write lock)
//! and, for `register`, `login`, `change_password`, `set_password`, on PBKDF2 (about 60 ms
//! at the default cost). From async code run them on a blocking pool
//! (`tokio::task::spawn_blocking`); `validate` on a cache hit is a few microseconds and is
//! fine to call inline.

mod organizations;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::features::Engine;
use crate::values::audit::{AuditEvent, AuditQuery, SubscriptionId};
use crate::values::config::Config;
use crate::values::credential::{ApiKeyInfo, ApiKeySpec, NewApiKey, ScopedGrant, ServiceToken};
use crate::values::error::Result;
use crate::values::identity::{Identity, OidcStart};
use crate::values::ids::{ApiKeyId, IdentityId, PasskeyId, SessionId, UserId};
use crate::values::key::SigningKeyInfo;
use crate::values::passkey::{PasskeyCeremony, PasskeyInfo, PasskeyLogin};
use crate::values::principal::{Claims, Principal};
use crate::values::session::{ClientInfo, Login, Session, TokenPair};
use crate::values::status::Status;
use crate::values::user::{NewUser, TotpEnrollment, User, UserQuery};

/// The authentication engine. Cheap to clone (an `Arc` inside); `Send + Sync`; every
/// method takes `&self` and is synchronous.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Engine>,
}

/// Opening.
impl Auth {
    /// Opens the database at `path` with every default, creating it (schema, signing key)
    /// if it does not exist. Same as `Auth::open_with(Config::new(path))`.
    ///
    /// # Errors
    ///
    /// `Config` when the file records settings that conflict with the defaults (another
    /// signing algorithm, issuer, audience); `Storage` when it cannot be opened or is not an
    /// authlite database (refused without a byte changed).
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let auth = Auth::open(dir.path().join("app.db"))?;
    /// assert_eq!(auth.status()?.users, 0);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Auth> {
        Auth::open_with(Config::new(path.as_ref()))
    }

    /// A private in-memory database, for demos and tests. Gone when the last clone drops.
    ///
    /// # Errors
    ///
    /// `Storage` or `Internal` when SQLite or the OS random source fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let auth = authlite::Auth::open_in_memory()?;
    /// assert!(auth.roles()?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn open_in_memory() -> Result<Auth> {
        Auth::open_with(Config::in_memory())
    }

    /// Validates `config`, then opens (or creates) and migrates its database, loads or
    /// creates the signing key, and checks once that signing and verifying work.
    ///
    /// # Errors
    ///
    /// `Config` for an invalid field (named in the message) or one that conflicts with what
    /// the database records; `Storage` as for [`Auth::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let config = Config { access_token_ttl: std::time::Duration::from_secs(300), ..Config::in_memory() };
    /// let auth = Auth::open_with(config)?;
    /// assert_eq!(auth.config().access_token_ttl.as_secs(), 300);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn open_with(config: Config) -> Result<Auth> {
        config.validate()?;
        Ok(Auth { inner: Arc::new(Engine::open(config)?) })
    }

    /// The configuration an existing database records — path, signing algorithm, issuer and
    /// audience, every other field at its default — read without writing a byte. A tool
    /// that must open any application's database (a CLI, a migration script) starts from it,
    /// sets the master secret if the application uses one, and opens with
    /// [`Auth::open_with`]: a `Config` that conflicts with the file is refused.
    /// `NotFound` for a missing file, `Storage` for one authlite did not make. `path` may be
    /// a PostgreSQL URL (feature `postgres`): `NotFound` when that database has no authlite
    /// tables.
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing file (or PostgreSQL database without authlite tables),
    /// `Storage` for a file authlite did not make.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("app.db");
    /// Auth::open_with(Config { issuer: "till".into(), ..Config::new(&path) })?;
    /// let recorded = Auth::recorded_config(&path)?;
    /// assert_eq!(recorded.issuer, "till");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn recorded_config(path: impl AsRef<Path>) -> Result<Config> {
        crate::features::recorded_config(path.as_ref())
    }

    /// The configuration this engine was opened with.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// assert_eq!(auth.config().pbkdf2_iterations, 1_000);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Accounts.
impl Auth {
    /// Creates an account. The username (and email, if given) must be valid and unique
    /// ignoring case and width (`Conflict` otherwise); the password must meet the policy
    /// (`WeakPassword`). The password is hashed with PBKDF2 before the transaction.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad username or email, `Conflict` when either is taken (or the
    /// username looks like a taken one), `WeakPassword`, `NotFound` for an unknown role.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let alice = auth.register(NewUser::new("alice", "correct horse battery staple").email("a@x.io"))?;
    /// assert_eq!(alice.email.as_deref(), Some("a@x.io"));
    /// let taken = auth.register(NewUser::new("ALICE", "another long passphrase")).unwrap_err();
    /// assert_eq!(taken.kind(), ErrorKind::Conflict);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn register(&self, new: NewUser) -> Result<User> {
        self.inner.register(new)
    }

    /// Creates an account with a password hash from another system, so users move over
    /// without resetting passwords: Django `pbkdf2_sha256$…`, Werkzeug `pbkdf2:sha256:…`,
    /// passlib and PHC `$pbkdf2-sha256$…` (also SHA-512 variants). The first successful
    /// login re-hashes the password with the current parameters. `InvalidInput` for any
    /// other format or iterations outside 1,000..=10,000,000.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unsupported or malformed hash; the errors of [`Auth::register`]
    /// for the username.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// // Django's pbkdf2_sha256 of "correct horse battery staple" (1,000 rounds, salt "salt").
    /// let hash = "pbkdf2_sha256$1000$salt$nNr3AKmYFOXvzxzP+2VlPwJFPcGKllppLaQIvsodtc4=";
    /// auth.import_user("bob", hash)?;
    /// auth.login("bob", "correct horse battery staple", &ClientInfo::default())?; // re-hashed now
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn import_user(
        &self,
        username: impl AsRef<str>,
        password_hash: impl AsRef<str>,
    ) -> Result<User> {
        self.inner.import_user(username.as_ref(), password_hash.as_ref())
    }

    /// Sets or clears a user's email (unique ignoring case). Reset links, magic links and
    /// verification tokens sent to the old address stop working.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user, `InvalidInput` for a bad address, `Conflict` when
    /// another account has it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.set_email(alice.id, Some("alice@example.com"))?;
    /// assert_eq!(auth.find_user("ALICE@example.com")?.id, alice.id);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn set_email(&self, id: UserId, email: Option<&str>) -> Result<()> {
        self.inner.set_email(id, email)
    }

    /// The user with this id, or `NotFound`.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// assert_eq!(auth.user(alice.id)?.username, "alice");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn user(&self, id: UserId) -> Result<User> {
        self.inner.user(id)
    }

    /// The user with this username or email (ignoring case and width), or `NotFound`.
    /// A string with `@` is looked up as an email, anything else as a username.
    ///
    /// # Errors
    ///
    /// `NotFound` (also for input that cannot be a name).
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// assert_eq!(auth.find_user("Alice")?.id, alice.id);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn find_user(&self, username_or_email: &str) -> Result<User> {
        self.inner.find_user(username_or_email)
    }

    /// Users matching `query`, ordered by id.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a search text over 1 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let found = auth.list_users(&UserQuery { search: Some("ali".into()), ..Default::default() })?;
    /// assert_eq!(found.len(), 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn list_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        self.inner.list_users(query)
    }

    /// Changes a password after checking the old one (`InvalidCredentials` if wrong; wrong
    /// guesses count toward the account's lockout, and a locked account gets
    /// `AccountLocked`). The new one must meet the policy. Ends all of the user's sessions,
    /// voids their pending challenges and links, and invalidates every access token issued
    /// to them.
    ///
    /// # Errors
    ///
    /// `InvalidCredentials` for a wrong old password (or an account without one),
    /// `AccountLocked`, `WeakPassword`, `NotFound`, `Conflict` if the password changed
    /// meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.change_password(alice.id, "correct horse battery staple", "a brand new passphrase")?;
    /// assert_eq!(auth.validate(&login.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn change_password(
        &self,
        id: UserId,
        old: impl AsRef<str>,
        new: impl AsRef<str>,
    ) -> Result<()> {
        self.inner.change_password(id, old.as_ref(), new.as_ref())
    }

    /// Sets a password without the old one (administrators), also giving a passwordless
    /// account one. The new one must meet the policy. Ends all of the user's sessions and
    /// voids their pending challenges and links.
    ///
    /// # Errors
    ///
    /// `WeakPassword`, `NotFound`, `InvalidInput` for a service account.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.set_password(alice.id, "a brand new passphrase")?;
    /// auth.login("alice", "a brand new passphrase", &ClientInfo::default())?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn set_password(&self, id: UserId, new: impl AsRef<str>) -> Result<()> {
        self.inner.set_password(id, new.as_ref())
    }

    /// Clears an account's lockouts and failure counters, of both factors (an
    /// administrator's decision).
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// for _ in 0..10 {
    ///     let _ = auth.login("alice", "wrong guess", &ClientInfo::default());
    /// }
    /// auth.unlock_user(alice.id)?;
    /// auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn unlock_user(&self, id: UserId) -> Result<()> {
        self.inner.unlock_user(id)
    }

    /// Deactivates a user: they cannot log in, refresh or validate, and every session ends.
    /// Idempotent.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.deactivate_user(alice.id)?;
    /// assert_eq!(auth.validate(&login.access_token).unwrap_err().kind(), ErrorKind::InactiveUser);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn deactivate_user(&self, id: UserId) -> Result<()> {
        self.inner.set_active(id, false)
    }

    /// Re-activates a deactivated user. Their old sessions stay ended. Idempotent.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.deactivate_user(alice.id)?;
    /// auth.activate_user(alice.id)?;
    /// assert!(auth.user(alice.id)?.active);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn activate_user(&self, id: UserId) -> Result<()> {
        self.inner.set_active(id, true)
    }

    /// Deletes a user and, with them, every session, refresh token and role assignment.
    /// Their id is never reused, so tokens issued to them can never match another account.
    /// The audit trail keeps their history.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.delete_user(alice.id)?;
    /// assert_eq!(auth.user(alice.id).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn delete_user(&self, id: UserId) -> Result<()> {
        self.inner.delete_user(id)
    }
}

/// Sessions and tokens.
impl Auth {
    /// Checks the password and, in one transaction, re-checks the account and its
    /// throttling state, creates a session, issues an access token and a refresh token,
    /// updates the failure counters and writes the audit row.
    ///
    /// Unknown users and wrong passwords both give `InvalidCredentials` and take the same
    /// time. A locked account gives `AccountLocked` (even with the right password), a
    /// throttled client address `RateLimited`; both carry `retry_after()`. A deactivated
    /// user with the right password gets `InactiveUser`. A hash with outdated parameters
    /// (or imported from another system) is replaced by a current one.
    ///
    /// # Errors
    ///
    /// `InvalidCredentials`, `AccountLocked` / `RateLimited` (with `retry_after()`),
    /// `InactiveUser`, `MfaRequired` (with [`Error::mfa_challenge`](crate::Error::mfa_challenge)
    /// and [`Error::mfa_factors`](crate::Error::mfa_factors)), `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// assert_eq!(auth.validate(&login.access_token)?.user_id, alice.id);
    /// let wrong = auth.login("alice", "not it", &ClientInfo::default()).unwrap_err();
    /// assert_eq!(wrong.kind(), ErrorKind::InvalidCredentials);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        self.inner.login(username_or_email, password, client)
    }

    /// Redeems a refresh token for a new access token and a new refresh token, in one
    /// transaction: the presented token is spent, the session's idle expiry slides forward
    /// (never past its absolute end).
    ///
    /// Of concurrent redeemers of one token exactly one succeeds.
    ///
    /// # Errors
    ///
    /// `InvalidToken` (malformed or unknown), `TokenReused` (already spent: the whole
    /// session is revoked, so whoever holds its other tokens is cut off too), then the
    /// session rule `validate` uses too: `InactiveUser`, `RevokedToken`, `ExpiredToken`
    /// (idle or past its lifetime), in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let next = auth.refresh(&login.refresh_token)?;
    /// assert_eq!(auth.refresh(&login.refresh_token).unwrap_err().kind(), ErrorKind::TokenReused);
    /// assert_eq!(auth.validate(&next.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.inner.refresh(refresh_token)
    }

    /// Validates an access token statefully: structure, header, signature, issuer, audience
    /// and expiry, then the database: the signing key is not retired, the user is active,
    /// the session is not revoked and not expired (idle or absolute), and the token itself
    /// is neither revoked nor superseded (password change). Any change committed before this
    /// call, by this or any other process, is seen. Never writes.
    ///
    /// # Errors
    ///
    /// `InvalidToken`, `ExpiredToken`, then — in the order `refresh` uses too —
    /// `InactiveUser`, `RevokedToken`, `ExpiredToken`; `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let who = auth.validate(&login.access_token)?;
    /// assert_eq!((who.user_id, who.session_id), (alice.id, Some(login.session.id)));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn validate(&self, access_token: &str) -> Result<Principal> {
        self.inner.validate(access_token)
    }

    /// [`Auth::validate`] answered from the exact cache alone, without any I/O beyond the
    /// cache's freshness check (SQLite: one read of the WAL-index; PostgreSQL with
    /// `Config::postgres_staleness`: none): `Ok(None)` when the answer needs the database,
    /// then call `validate` where blocking is fine. For async servers: a hit runs inline, a
    /// miss goes to a blocking pool (authlite-axum's `Authenticated` does this). A cached
    /// answer is exactly what `validate` would say now, refusals included.
    ///
    /// # Errors
    ///
    /// Those of [`Auth::validate`], for a token the cache knows.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let who = match auth.validate_cached(&login.access_token)? {
    ///     Some(who) => who,                          // a hit: no database work
    ///     None => auth.validate(&login.access_token)?, // a miss: fills the cache
    /// };
    /// assert_eq!(auth.validate_cached(&login.access_token)?.map(|p| p.user_id), Some(who.user_id));
    /// auth.logout(&login.access_token)?;
    /// assert_eq!(auth.validate_cached(&login.access_token)?.map(|p| p.user_id), None);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn validate_cached(&self, access_token: &str) -> Result<Option<Principal>> {
        self.inner.validate_cached(access_token)
    }

    /// Validates signature and claims only (issuer, audience, expiry): no database read, so
    /// revocation is NOT seen. For places where a recently revoked token is acceptable.
    ///
    /// # Errors
    ///
    /// `InvalidToken`, `ExpiredToken`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.logout(&login.access_token)?;
    /// assert_eq!(auth.validate_stateless(&login.access_token)?.sub, alice.id); // revocation unseen
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn validate_stateless(&self, access_token: &str) -> Result<Claims> {
        self.inner.validate_stateless(access_token)
    }

    /// Ends the session a refresh token belongs to, for clients that hold only the refresh
    /// token (an HttpOnly cookie). Its access tokens stop working at once too.
    /// `InvalidToken` for an unknown token; ending an ended session is not an error.
    ///
    /// # Errors
    ///
    /// `InvalidToken` for a malformed or unknown token.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.logout_with_refresh_token(&login.refresh_token)?;
    /// assert!(auth.validate(&login.access_token).is_err());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn logout_with_refresh_token(&self, refresh_token: &str) -> Result<()> {
        self.inner.logout_with_refresh_token(refresh_token)
    }

    /// Ends the session of this access token: its refresh token and every access token of
    /// the session stop working at once. The token must be genuine (signature, issuer,
    /// audience) but may have expired. Logging out an ended session is not an error.
    ///
    /// # Errors
    ///
    /// `InvalidToken` for a token that is not genuine.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.logout(&login.access_token)?;
    /// assert_eq!(auth.refresh(&login.refresh_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn logout(&self, access_token: &str) -> Result<()> {
        self.inner.logout(access_token)
    }

    /// Revokes one access token (by its `jti`) until it expires, leaving its session alive.
    ///
    /// # Errors
    ///
    /// `InvalidToken` for a token that is not genuine.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.revoke_token(&login.access_token)?;
    /// assert!(auth.validate(&login.access_token).is_err());
    /// auth.refresh(&login.refresh_token)?; // the session lives on
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_token(&self, access_token: &str) -> Result<()> {
        self.inner.revoke_token(access_token)
    }

    /// The session with this id (live or not), or `NotFound`.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// assert_eq!(auth.session(login.session.id)?.method, SignInMethod::Password);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn session(&self, id: SessionId) -> Result<Session> {
        self.inner.session(id)
    }

    /// The user's live sessions (not revoked, not expired), newest first. Empty for an
    /// unknown user.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// assert_eq!(auth.sessions(alice.id)?.len(), 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn sessions(&self, user: UserId) -> Result<Vec<Session>> {
        self.inner.sessions(user)
    }

    /// Ends one session (`NotFound` if there is no such session; ending an ended session is
    /// not an error). Takes effect on the very next `validate` and `refresh`, in every process.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.revoke_session(login.session.id)?;
    /// assert_eq!(auth.validate(&login.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_session(&self, id: SessionId) -> Result<()> {
        self.inner.revoke_session(id)
    }

    /// Ends every live session of a user; returns how many were live. `NotFound` for an
    /// unknown user.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// assert_eq!(auth.revoke_all_sessions(alice.id)?, 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_all_sessions(&self, user: UserId) -> Result<usize> {
        self.inner.revoke_all_sessions(user)
    }

    /// Deletes ended sessions (expired or revoked) with their refresh tokens, and expired
    /// entries of the revoked-token list. Returns how many sessions were deleted. Tokens of
    /// deleted sessions keep failing validation (as revoked).
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.logout(&login.access_token)?;
    /// assert_eq!(auth.purge_expired()?, 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn purge_expired(&self) -> Result<usize> {
        self.inner.purge_expired()
    }
}

/// Machine credentials: service accounts, API keys, service tokens, scoped tokens.
impl Auth {
    /// Creates a service account: an account of kind [`AccountKind::Service`](crate::AccountKind::Service) with no
    /// password and no interactive login (logging in as it answers `InvalidCredentials`,
    /// as for an unknown name). It gets roles as usual and acts through API keys and
    /// service tokens.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad name, `Conflict` when it is taken.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let svc = auth.create_service_account("billing")?;
    /// assert_eq!(svc.kind, AccountKind::Service);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn create_service_account(&self, name: &str) -> Result<User> {
        self.inner.create_service_account(name)
    }

    /// Creates an API key for an account (a person's personal access token, or a service
    /// account's key) and returns its secret, shown this once: `alk_<selector>.<secret>.
    /// <crc32>`. Only SHA-256 of the secret is stored. Scopes in `spec` narrow what the key
    /// may do below its account's roles; an expiry ends it.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown account, `InvalidInput` for a bad name, scope or lifetime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let svc = auth.create_service_account("billing")?;
    /// let key = auth.create_api_key(svc.id, ApiKeySpec::new("prod").scopes(["orders:read"]))?;
    /// assert!(key.secret.starts_with("alk_"));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn create_api_key(&self, user: UserId, spec: ApiKeySpec) -> Result<NewApiKey> {
        self.inner.create_api_key(user, spec)
    }

    /// An account's API keys (revoked and expired ones too), oldest first, without secrets.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let svc = auth.create_service_account("billing")?;
    /// auth.create_api_key(svc.id, ApiKeySpec::new("prod"))?;
    /// assert_eq!(auth.api_keys(svc.id)?[0].name, "prod");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn api_keys(&self, user: UserId) -> Result<Vec<ApiKeyInfo>> {
        self.inner.api_keys(user)
    }

    /// Revokes an API key: it, and every service token minted from it, stop working on the
    /// next call in every process. Idempotent.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let svc = auth.create_service_account("billing")?;
    /// let key = auth.create_api_key(svc.id, ApiKeySpec::new("prod"))?;
    /// auth.revoke_api_key(key.info.id)?;
    /// assert_eq!(auth.validate_api_key(&key.secret).unwrap_err().kind(), ErrorKind::RevokedToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_api_key(&self, id: ApiKeyId) -> Result<()> {
        self.inner.revoke_api_key(id)
    }

    /// Validates an API key statefully, as `validate` does a token. The principal has
    /// `api_key_id` and the key's `scopes`. Validation writes nothing except
    /// `last_used_at`, at most once an hour per key.
    ///
    /// # Errors
    ///
    /// A malformed, mistyped (checksum) or unknown key is `InvalidToken` (the first two
    /// without a database read), then `InactiveUser` (account deactivated), `RevokedToken`,
    /// `ExpiredToken`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let svc = auth.create_service_account("billing")?;
    /// let key = auth.create_api_key(svc.id, ApiKeySpec::new("prod"))?;
    /// assert_eq!(auth.validate_api_key(&key.secret)?.api_key_id, Some(key.info.id));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn validate_api_key(&self, key: &str) -> Result<Principal> {
        self.inner.validate_api_key(key)
    }

    /// Mints a short-lived access token (a JWT, `Config::service_token_ttl`, default one
    /// hour, never past the key's expiry) for the account of a valid API key, so services
    /// can call each other without sending the long-lived key each time. `validate` accepts
    /// it while the key is still usable: revoking the key, deactivating its account or
    /// retiring the signing key ends it. Cache it on the caller's side with
    /// [`ServiceTokenCache`](crate::ServiceTokenCache).
    ///
    /// # Errors
    ///
    /// The errors of [`Auth::validate_api_key`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let svc = auth.create_service_account("billing")?;
    /// let key = auth.create_api_key(svc.id, ApiKeySpec::new("prod"))?;
    /// let token = auth.issue_service_token(&key.secret)?;
    /// assert_eq!(auth.validate(&token.access_token)?.kind, AccountKind::Service);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn issue_service_token(&self, api_key: &str) -> Result<ServiceToken> {
        self.inner.issue_service_token(api_key)
    }

    /// Issues a scoped capability token: compact and URL-safe (fits a small QR code), it
    /// grants `subject` within `scope` (e.g. table `"42"`) until `ttl` has passed, with no
    /// login. `scope`: 1–64 of `A-Z a-z 0-9 _ - . :`; `subject`: 1–256 bytes, no control
    /// characters.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad scope or subject, or a lifetime outside 1 ms..=366 days.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let qr = auth.issue_scoped("table", "42", std::time::Duration::from_secs(4 * 3600))?;
    /// assert_eq!(auth.verify_scoped(&qr, "table")?.subject, "42");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn issue_scoped(&self, scope: &str, subject: &str, ttl: Duration) -> Result<String> {
        self.inner.issue_scoped(scope, subject, ttl)
    }

    /// Verifies a scoped token for `scope`. The revocation check is exact, in every
    /// process, with no read on a cache hit.
    ///
    /// # Errors
    ///
    /// `InvalidToken` if tampered, malformed, of another scope or another database;
    /// `ExpiredToken`; `RevokedToken` after [`Auth::revoke_scoped`] of its subject.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let qr = auth.issue_scoped("table", "42", std::time::Duration::from_secs(3600))?;
    /// assert_eq!(auth.verify_scoped(&qr, "room").unwrap_err().kind(), ErrorKind::InvalidToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn verify_scoped(&self, token: &str, scope: &str) -> Result<ScopedGrant> {
        self.inner.verify_scoped(token, scope)
    }

    /// Revokes every token of `scope` and `subject` issued until now (the table is
    /// re-seated: old QR codes die, new ones work).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad scope or subject.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let hour = std::time::Duration::from_secs(3600);
    /// let old = auth.issue_scoped("table", "42", hour)?;
    /// auth.revoke_scoped("table", "42")?;
    /// let reseated = auth.issue_scoped("table", "42", hour)?;
    /// assert_eq!(auth.verify_scoped(&old, "table").unwrap_err().kind(), ErrorKind::RevokedToken);
    /// auth.verify_scoped(&reseated, "table")?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_scoped(&self, scope: &str, subject: &str) -> Result<()> {
        self.inner.revoke_scoped(scope, subject)
    }
}

/// People credentials: one-time tokens, the TOTP second factor, attributes.
impl Auth {
    /// Starts a password reset for a username or email: a single-use token (30 minutes by
    /// default, `Config::password_reset_ttl`) to send to the user, or `None` when no person
    /// has that name (send nothing; the caller should answer the same either way). Known
    /// and unknown names take the same time. A new request voids older reset tokens.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// assert!(auth.request_password_reset("alice")?.is_some());
    /// assert!(auth.request_password_reset("nobody")?.is_none());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn request_password_reset(&self, username_or_email: &str) -> Result<Option<String>> {
        self.inner.request_password_reset(username_or_email)
    }

    /// Sets a new password with a reset token (spent: exactly one of concurrent redeemers
    /// wins), ends every session of the user, voids their pending challenges and links, and
    /// clears their password lockout — never a second-factor lockout, so a mailbox alone
    /// cannot buy more guesses at the second factor.
    ///
    /// # Errors
    ///
    /// `InvalidToken` (unknown, spent, of another purpose, voided by a later request or an
    /// email change), `ExpiredToken`, `WeakPassword`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let token = auth.request_password_reset("alice")?.unwrap();
    /// auth.reset_password(&token, "a brand new passphrase")?;
    /// assert!(auth.validate(&login.access_token).is_err());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        self.inner.reset_password(token, new_password)
    }

    /// A token proving the user's current email address (3 days by default), to send to it.
    /// `InvalidInput` if the user has no email. Changing the email voids it.
    ///
    /// # Errors
    ///
    /// `NotFound`, `InvalidInput` for a user without an email.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.set_email(alice.id, Some("a@x.io"))?;
    /// let token = auth.email_verification_token(alice.id)?;
    /// assert!(auth.verify_email(&token)?.email_verified_at.is_some());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn email_verification_token(&self, user: UserId) -> Result<String> {
        self.inner.email_verification_token(user)
    }

    /// Redeems a verification token: the user's `email_verified_at` is set.
    ///
    /// # Errors
    ///
    /// `InvalidToken` (unknown, spent, another purpose, or the address changed since),
    /// `ExpiredToken`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.set_email(alice.id, Some("a@x.io"))?;
    /// let token = auth.email_verification_token(alice.id)?;
    /// auth.set_email(alice.id, Some("new@x.io"))?;
    /// assert_eq!(auth.verify_email(&token).unwrap_err().kind(), ErrorKind::InvalidToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn verify_email(&self, token: &str) -> Result<User> {
        self.inner.verify_email(token)
    }

    /// Starts a passwordless sign-in: a single-use link token (15 minutes by default) for a
    /// username or email, or `None` for an unknown name (same time either way).
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let link = auth.request_magic_link("alice")?.expect("a known name");
    /// auth.login_with_magic_link(&link, &ClientInfo::default())?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn request_magic_link(&self, username_or_email: &str) -> Result<Option<String>> {
        self.inner.request_magic_link(username_or_email)
    }

    /// Signs in with a magic-link token through the same pipeline as `login`: the account's
    /// lockouts and the client address are checked first, a success clears the password
    /// failures, an account with a second factor gets `MfaRequired` (see
    /// [`Auth::complete_mfa`]).
    ///
    /// # Errors
    ///
    /// `InvalidToken` (unknown, spent, voided), `ExpiredToken`, `AccountLocked` /
    /// `RateLimited` (the link stays unspent), `InactiveUser`, `MfaRequired`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let link = auth.request_magic_link("alice")?.unwrap();
    /// let login = auth.login_with_magic_link(&link, &ClientInfo::default())?;
    /// assert_eq!(login.session.method, SignInMethod::MagicLink);
    /// assert!(auth.login_with_magic_link(&link, &ClientInfo::default()).is_err(), "single use");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn login_with_magic_link(&self, token: &str, client: &ClientInfo) -> Result<Login> {
        self.inner.login_with_magic_link(token, client)
    }

    /// Starts TOTP enrolment (RFC 6238: SHA-1, 6 digits, 30 s): a new secret, inactive until
    /// [`Auth::confirm_totp`] sees a code from it. `Conflict` if TOTP is already on.
    ///
    /// # Errors
    ///
    /// `NotFound`, `Conflict` when TOTP is already on, `InvalidInput` for a service account.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let enrollment = auth.enroll_totp(alice.id)?;
    /// assert!(enrollment.otpauth_uri.starts_with("otpauth://totp/"));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn enroll_totp(&self, user: UserId) -> Result<TotpEnrollment> {
        self.inner.enroll_totp(user)
    }

    /// Turns TOTP on with a first code from the enrolled secret and returns 10 single-use
    /// recovery codes, shown this once. Every session of the user ends (they signed in
    /// without the factor): the user signs in again, now with both. A wrong code counts
    /// toward the second-factor lockout.
    ///
    /// # Errors
    ///
    /// `NotFound` without an enrolment, `Conflict` when already on, `InvalidCredentials` for a
    /// wrong code.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let enrollment = auth.enroll_totp(alice.id)?;
    /// // What the user's authenticator app shows now:
    /// let totp = totp_rs::Builder::new()
    ///     .with_secret(totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap())
    ///     .build()
    ///     .unwrap();
    /// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    /// let recovery = auth.confirm_totp(alice.id, &totp.generate(now.as_secs()).to_string())?;
    /// assert_eq!(recovery.len(), 10);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn confirm_totp(&self, user: UserId, code: &str) -> Result<Vec<String>> {
        self.inner.confirm_totp(user, code)
    }

    /// Finishes a sign-in that answered `MfaRequired`: the challenge from
    /// [`Error::mfa_challenge`](crate::Error::mfa_challenge) with a TOTP code (one step of
    /// drift; each code accepted once) or a recovery code (single use). A wrong code counts
    /// toward the account's second-factor lockout (apart from wrong passwords); the
    /// challenge stays
    /// usable until it expires (5 minutes) or succeeds once, and dies with any account event
    /// that ends sessions (password change or reset, revocation, deactivation). The session
    /// records the first factor ([`Session::method`](crate::Session::method)).
    ///
    /// # Errors
    ///
    /// `InvalidToken` (unknown, spent or voided challenge), `ExpiredToken`,
    /// `InvalidCredentials` for a wrong code, `AccountLocked`, `InactiveUser`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let enrollment = auth.enroll_totp(alice.id)?;
    /// # let totp = totp_rs::Builder::new()
    /// #     .with_secret(totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap())
    /// #     .build()
    /// #     .unwrap();
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    /// # let recovery = auth.confirm_totp(alice.id, &totp.generate(now.as_secs()).to_string())?;
    /// let e = auth.login("alice", "correct horse battery staple", &ClientInfo::default()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::MfaRequired);
    /// assert_eq!(e.mfa_factors(), [Factor::Totp, Factor::RecoveryCode]);
    /// // (the TOTP code just used at confirmation is spent: a recovery code here)
    /// let login = auth.complete_mfa(e.mfa_challenge().unwrap(), &recovery[0], &ClientInfo::default())?;
    /// assert_eq!(login.session.method, SignInMethod::Password);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn complete_mfa(&self, challenge: &str, code: &str, client: &ClientInfo) -> Result<Login> {
        self.inner.complete_mfa(challenge, code, client)
    }

    /// Turns the second factor off and deletes its recovery codes. Idempotent.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.enroll_totp(alice.id)?;
    /// auth.disable_totp(alice.id)?;
    /// auth.enroll_totp(alice.id)?; // a fresh secret
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn disable_totp(&self, user: UserId) -> Result<()> {
        self.inner.disable_totp(user)
    }

    /// Replaces the recovery codes with 10 new ones (shown once).
    ///
    /// # Errors
    ///
    /// `NotFound`, `InvalidInput` when TOTP is off.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let off = auth.regenerate_recovery_codes(alice.id).unwrap_err();
    /// assert_eq!(off.kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn regenerate_recovery_codes(&self, user: UserId) -> Result<Vec<String>> {
        self.inner.regenerate_recovery_codes(user)
    }

    /// Starts registering a passkey for `user` (a signed-in person; checking that is the
    /// caller's, e.g. the web layer's): hand [`PasskeyCeremony::options`] to
    /// `navigator.credentials.create({ publicKey })` and the browser's answer to
    /// [`Auth::finish_passkey_registration`] within 5 minutes. `name` (1–64 printable
    /// characters) is how the passkey is listed. The authenticator is asked for a
    /// discoverable key (for usernameless sign-in) and must verify the user; passkeys the
    /// account already has are excluded.
    ///
    /// # Errors
    ///
    /// `Config` when passkeys are off (no `Config::relying_party`, or a build without the
    /// `passkeys` feature), `NotFound`, `InactiveUser`, `InvalidInput` (a bad name, a
    /// service account).
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let rp = RelyingParty::new("localhost", "Till", ["http://localhost:8080"]);
    /// let config = Config { relying_party: Some(rp), pbkdf2_iterations: 1_000, ..Config::in_memory() };
    /// let auth = match Auth::open_with(config) {
    ///     Err(e) if e.kind() == ErrorKind::Config => return Ok(()), // built without `passkeys`
    ///     opened => opened?,
    /// };
    /// let alice = auth.register(NewUser::passwordless("alice"))?;
    /// let ceremony = auth.start_passkey_registration(alice.id, "Alice's phone")?;
    /// let options: serde_json::Value = serde_json::from_str(&ceremony.options).unwrap();
    /// assert_eq!(options["rp"]["id"], "localhost");
    /// assert_eq!(options["authenticatorSelection"]["userVerification"], "required");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn start_passkey_registration(&self, user: UserId, name: &str) -> Result<PasskeyCeremony> {
        self.inner.start_passkey_registration(user, name)
    }

    /// Finishes a registration with the browser's answer: the `PublicKeyCredential` from
    /// `navigator.credentials.create`, as JSON (its `toJSON()`, base64url fields). Checks
    /// the challenge, the origin (exactly one of `RelyingParty::origins`), the RP id, user
    /// presence and verification, and the attestation's signature; the ceremony is used up
    /// whatever the outcome. Audited (`passkey.registered`, or `passkey.failed`).
    ///
    /// # Errors
    ///
    /// `InvalidToken` (unknown or finished ceremony), `ExpiredToken` (after 5 minutes),
    /// `InvalidCredentials` (the answer does not verify, or is not an answer at all),
    /// `Conflict` (this passkey is already registered), `InactiveUser`, `Config`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let rp = RelyingParty::new("localhost", "Till", ["http://localhost:8080"]);
    /// let config = Config { relying_party: Some(rp), pbkdf2_iterations: 1_000, ..Config::in_memory() };
    /// let auth = match Auth::open_with(config) {
    ///     Err(e) if e.kind() == ErrorKind::Config => return Ok(()), // built without `passkeys`
    ///     opened => opened?,
    /// };
    /// let alice = auth.register(NewUser::passwordless("alice"))?;
    /// let ceremony = auth.start_passkey_registration(alice.id, "Alice's phone")?;
    /// // The browser's answer goes here; anything else is refused and uses the ceremony up.
    /// let e = auth.finish_passkey_registration(&ceremony.id, "{}").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    /// let e = auth.finish_passkey_registration(&ceremony.id, "{}").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn finish_passkey_registration(
        &self,
        ceremony: &str,
        credential_json: &str,
    ) -> Result<PasskeyInfo> {
        self.inner.finish_passkey_registration(ceremony, credential_json)
    }

    /// The passkeys of `user`, oldest first. Works in every build (no WebAuthn needed).
    ///
    /// # Errors
    ///
    /// `NotFound` when there is no such user.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// assert!(auth.passkeys(alice.id)?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn passkeys(&self, user: UserId) -> Result<Vec<PasskeyInfo>> {
        self.inner.passkeys(user)
    }

    /// Renames a passkey (1–64 printable characters). Audited.
    ///
    /// # Errors
    ///
    /// `NotFound`, `InvalidInput` for a bad name.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_in_memory()?;
    /// let e = auth.rename_passkey(PasskeyId(42), "work laptop").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn rename_passkey(&self, id: PasskeyId, name: &str) -> Result<()> {
        self.inner.rename_passkey(id, name)
    }

    /// Revokes a passkey: it can no longer sign in, and every session it started ends
    /// (`Session::method == SignInMethod::Passkey(id)`), in every process, on the next
    /// `validate`. Audited.
    ///
    /// # Errors
    ///
    /// `NotFound`; `Conflict` when it is the account's last way to sign in (no password,
    /// no other passkey).
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_in_memory()?;
    /// let e = auth.revoke_passkey(PasskeyId(42)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_passkey(&self, id: PasskeyId) -> Result<()> {
        self.inner.revoke_passkey(id)
    }

    /// Starts a passkey sign-in: usernameless ([`PasskeyLogin::Discoverable`], also for
    /// conditional UI), for a named account ([`PasskeyLogin::Account`]; an unknown name gets
    /// made-up credential ids, so the answer does not tell whether it exists), or as the
    /// second factor after `MfaRequired` ([`PasskeyLogin::SecondFactor`]). Hand
    /// [`PasskeyCeremony::options`] to `navigator.credentials.get({ publicKey })`.
    ///
    /// # Errors
    ///
    /// `Config` when passkeys are off; for a second factor `InvalidToken`/`ExpiredToken`
    /// (the challenge) and `InvalidInput` when the account has no passkey.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let rp = RelyingParty::new("localhost", "Till", ["http://localhost:8080"]);
    /// let config = Config { relying_party: Some(rp), pbkdf2_iterations: 1_000, ..Config::in_memory() };
    /// let auth = match Auth::open_with(config) {
    ///     Err(e) if e.kind() == ErrorKind::Config => return Ok(()), // built without `passkeys`
    ///     opened => opened?,
    /// };
    /// let ceremony = auth.start_passkey_login(PasskeyLogin::Discoverable)?;
    /// let options: serde_json::Value = serde_json::from_str(&ceremony.options).unwrap();
    /// assert_eq!(options["rpId"], "localhost");
    /// assert_eq!(options["userVerification"], "required");
    /// // An unknown name gets a ceremony too, with made-up credential ids (stable per name).
    /// let named = auth.start_passkey_login(PasskeyLogin::Account("nobody"))?;
    /// assert!(named.id.starts_with("pkc_"));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn start_passkey_login(&self, how: PasskeyLogin<'_>) -> Result<PasskeyCeremony> {
        self.inner.start_passkey_login(how)
    }

    /// Finishes a passkey sign-in with the browser's answer (the `PublicKeyCredential` from
    /// `navigator.credentials.get`, as JSON). Runs the one sign-in pipeline: the ceremony is
    /// used up, the account identified (for a usernameless sign-in by the authenticator's
    /// user handle, which must be the passkey's), its lockouts and the client address
    /// checked, then the signature, challenge, origin, RP id, user verification and sign
    /// counter. A passkey is phishing-resistant: it needs no second factor, and as a second
    /// factor it completes the `MfaRequired` sign-in. The session records
    /// `SignInMethod::Passkey(id)`. A failure counts toward the lockout like a wrong password
    /// (as a second factor: like a wrong code) and is audited; a counter that went
    /// backwards is refused and audited as `passkey.clone_suspected`.
    ///
    /// # Errors
    ///
    /// `InvalidToken` (unknown or finished ceremony, a voided challenge), `ExpiredToken`,
    /// `InvalidCredentials` (unknown passkey, another account's, any failed check, an answer
    /// that is not one), `AccountLocked`, `RateLimited`, `InactiveUser`, `Config`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let rp = RelyingParty::new("localhost", "Till", ["http://localhost:8080"]);
    /// let config = Config { relying_party: Some(rp), pbkdf2_iterations: 1_000, ..Config::in_memory() };
    /// let auth = match Auth::open_with(config) {
    ///     Err(e) if e.kind() == ErrorKind::Config => return Ok(()), // built without `passkeys`
    ///     opened => opened?,
    /// };
    /// let ceremony = auth.start_passkey_login(PasskeyLogin::Discoverable)?;
    /// let e = auth.finish_passkey_login(&ceremony.id, "not json", &ClientInfo::default()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn finish_passkey_login(
        &self,
        ceremony: &str,
        assertion_json: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        self.inner.finish_passkey_login(ceremony, assertion_json, client)
    }

    /// Starts signing in with the identity provider `provider` (a name from
    /// `Config::identity_providers`): send the browser to [`OidcStart::authorize_url`] and
    /// keep [`OidcStart::browser_secret`] in that browser (an `HttpOnly` cookie); the
    /// provider sends it back to the `redirect_uri` with `state` and `code` for
    /// [`finish_oidc_login`](Self::finish_oidc_login). The flow (its `state`, `nonce` and
    /// PKCE verifier) is stored for 10 minutes, single use. The first use of a provider
    /// fetches its discovery document and keys (nothing is fetched at `open`).
    ///
    /// # Errors
    ///
    /// `NotFound` for a provider that is not configured; `Config` when its discovery
    /// document cannot be fetched or is not the configured issuer's.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let auth = Auth::open_in_memory()?;
    /// let e = auth.start_oidc_login("google").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound); // no provider configured
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn start_oidc_login(&self, provider: &str) -> Result<OidcStart> {
        self.inner.start_oidc_login(provider)
    }

    /// Finishes a provider sign-in from its callback: the browser's secret (the cookie
    /// set at the start), and the `state` and `code` the provider sent. The flow is spent
    /// first; then the code is redeemed with the flow's PKCE verifier and the ID token
    /// verified (signature by the provider's keys, `iss`, `aud`, `azp`, `exp`, `iat`,
    /// `nonce`). A linked identity signs in its account; a new one links to the account
    /// whose *verified* email the provider asserts as verified (`link_verified_email`), or
    /// gets a new passwordless account (`Config::oidc_auto_register`). The session records
    /// `SignInMethod::Provider(name)`.
    ///
    /// # Errors
    ///
    /// `InvalidToken` for an unknown, spent or other browser's flow; `ExpiredToken` past 10
    /// minutes; `InvalidCredentials` when the provider refuses the code or the ID token
    /// fails a check (counted toward the address's throttle, audited); `NotFound` for a
    /// new identity with `oidc_auto_register` off; `MfaRequired` when the account has a
    /// second factor; `InactiveUser`, `AccountLocked`, `RateLimited` as for any sign-in;
    /// `Internal` when the provider cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let auth = Auth::open_in_memory()?;
    /// let e = auth.finish_oidc_login("cookie", "state", "code", &ClientInfo::default()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn finish_oidc_login(
        &self,
        browser_secret: &str,
        state: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        self.inner.finish_oidc_login(browser_secret, state, code, client)
    }

    /// Starts linking another identity at `provider` to the signed-in account `user`;
    /// finish with [`finish_oidc_link`](Self::finish_oidc_link).
    ///
    /// # Errors
    ///
    /// As [`start_oidc_login`](Self::start_oidc_login), and `NotFound`/`InactiveUser` for
    /// the account, `InvalidInput` for a service account.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let auth = Auth::open_in_memory()?;
    /// let e = auth.start_oidc_link(UserId(1), "github").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn start_oidc_link(&self, user: UserId, provider: &str) -> Result<OidcStart> {
        self.inner.start_oidc_link(user, provider)
    }

    /// Finishes linking: the identity the provider asserts is linked to the flow's account
    /// (audited `identity.linked`); linking one already linked to it returns that link.
    ///
    /// # Errors
    ///
    /// As [`finish_oidc_login`](Self::finish_oidc_login) for the flow and the code, and
    /// `Conflict` when the identity is linked to another account.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// let auth = Auth::open_in_memory()?;
    /// let e = auth.finish_oidc_link("cookie", "state", "code").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn finish_oidc_link(
        &self,
        browser_secret: &str,
        state: &str,
        code: &str,
    ) -> Result<Identity> {
        self.inner.finish_oidc_link(browser_secret, state, code)
    }

    /// The identities linked to `user`, oldest first.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let user = auth.register(NewUser::new("ada", "correct horse battery"))?;
    /// assert!(auth.identities(user.id)?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn identities(&self, user: UserId) -> Result<Vec<Identity>> {
        self.inner.identities(user)
    }

    /// Unlinks an identity (audited `identity.unlinked`) and ends the sessions its
    /// provider started for the account.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown id; `Conflict` when it is the account's last way to sign
    /// in (no password, passkey or other identity).
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_in_memory()?;
    /// let e = auth.unlink_identity(IdentityId(7)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn unlink_identity(&self, id: IdentityId) -> Result<()> {
        self.inner.unlink_identity(id)
    }

    /// Sets an attribute of a user (keys 1–64 of `a-z 0-9 _ . -`, values up to 1 KiB, at
    /// most 32 per user). Loaded into `User::attributes` and, by the same single read,
    /// `Principal::attributes`; seen by every engine's next `validate`.
    ///
    /// # Errors
    ///
    /// `NotFound`, `InvalidInput` for a bad key, an over-long value or a 33rd attribute.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.set_attribute(alice.id, "tier", "graduate")?;
    /// assert_eq!(auth.validate(&auth.login("alice", "correct horse battery staple", &ClientInfo::default())?.access_token)?.attributes["tier"], "graduate");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn set_attribute(&self, user: UserId, key: &str, value: &str) -> Result<()> {
        self.inner.set_attribute(user, key, value)
    }

    /// Removes an attribute (idempotent).
    ///
    /// # Errors
    ///
    /// `NotFound`, `InvalidInput` for a bad key.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.set_attribute(alice.id, "tier", "graduate")?;
    /// auth.remove_attribute(alice.id, "tier")?;
    /// assert!(auth.user(alice.id)?.attributes.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn remove_attribute(&self, user: UserId, key: &str) -> Result<()> {
        self.inner.remove_attribute(user, key)
    }
}

/// Signing keys.
impl Auth {
    /// Creates a new signing key of the configured algorithm and signs with it from now on.
    /// Tokens signed by older keys keep validating until those keys are retired.
    /// Returns the new key's `kid`.
    ///
    /// # Errors
    ///
    /// `Conflict` when the signing key is supplied in the config (rotate it there).
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let kid = auth.rotate_signing_key()?;
    /// assert!(auth.signing_keys()?.iter().any(|k| k.kid == kid));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn rotate_signing_key(&self) -> Result<String> {
        self.inner.rotate_signing_key()
    }

    /// Retires a key: every token it signed stops validating on the next `validate`, here
    /// and in every other process. The newest live key cannot be retired (rotate first).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown kid, `Conflict` for the key that signs now.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let old = auth.signing_keys()?[0].kid.clone();
    /// auth.rotate_signing_key()?;
    /// auth.retire_signing_key(&old)?;
    /// assert!(auth.validate(&login.access_token).is_err());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn retire_signing_key(&self, kid: &str) -> Result<()> {
        self.inner.retire_signing_key(kid)
    }

    /// Every signing key in the database, oldest first, without key material.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// assert_eq!(auth.signing_keys()?.len(), 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn signing_keys(&self) -> Result<Vec<SigningKeyInfo>> {
        self.inner.signing_keys()
    }

    /// The public keys of live EdDSA signing keys as a JWKS document (RFC 7517), so other
    /// services can verify access tokens without the database. HS256 keys are secret and
    /// never exported: with the default algorithm the key set is empty.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// assert_eq!(auth.jwks()?, r#"{"keys":[]}"#); // HS256: nothing public
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn jwks(&self) -> Result<String> {
        self.inner.jwks()
    }
}

/// Roles and permissions.
impl Auth {
    /// Creates a role (`Conflict` if it exists).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad name, `Conflict` when it exists.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.create_role("clerk")?;
    /// assert_eq!(auth.roles()?, ["clerk"]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn create_role(&self, name: &str) -> Result<()> {
        self.inner.create_role(name)
    }

    /// Deletes a role, its grants and its assignments (`NotFound` if it does not exist).
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.create_role("clerk")?;
    /// auth.delete_role("clerk")?;
    /// assert!(auth.roles()?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn delete_role(&self, name: &str) -> Result<()> {
        self.inner.delete_role(name)
    }

    /// Every role name, sorted.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.declare_role("admin", &[("*", "*")])?;
    /// assert_eq!(auth.roles()?, ["admin"]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn roles(&self) -> Result<Vec<String>> {
        self.inner.roles()
    }

    /// Allows holders of `role` to do `action` on `resource` (idempotent). Either may be
    /// `"*"` to mean any.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown role, `InvalidInput` for a bad resource or action.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.create_role("clerk")?;
    /// auth.grant("clerk", "orders", "refund")?;
    /// assert_eq!(auth.role_permissions("clerk")?, [("orders".to_owned(), "refund".to_owned())]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn grant(&self, role: &str, resource: &str, action: &str) -> Result<()> {
        self.inner.change_grant(role, resource, action, true)
    }

    /// Takes a permission from a role (idempotent). Denied on the very next check.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown role, `InvalidInput` for a bad resource or action.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.declare_role("clerk", &[("orders", "refund")])?;
    /// auth.revoke_grant("clerk", "orders", "refund")?;
    /// assert!(auth.role_permissions("clerk")?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_grant(&self, role: &str, resource: &str, action: &str) -> Result<()> {
        self.inner.change_grant(role, resource, action, false)
    }

    /// Makes sure `role` exists with at least these `(resource, action)` grants: creates what
    /// is missing, changes nothing else (grants it already has beyond these stay). Idempotent,
    /// for declaring roles at startup; only changes are audited.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad name, resource or action.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.declare_role("clerk", &[("orders", "refund")])?;
    /// auth.declare_role("clerk", &[("orders", "refund")])?; // idempotent
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn declare_role(&self, role: &str, grants: &[(&str, &str)]) -> Result<()> {
        self.inner.declare_role(role, grants)
    }

    /// The `(resource, action)` pairs granted to a role, sorted.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown role.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.declare_role("admin", &[("*", "*")])?;
    /// assert_eq!(auth.role_permissions("admin")?.len(), 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn role_permissions(&self, role: &str) -> Result<Vec<(String, String)>> {
        self.inner.role_permissions(role)
    }

    /// Gives a user a role (idempotent).
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user or role.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.declare_role("clerk", &[("orders", "refund")])?;
    /// auth.assign_role(alice.id, "clerk")?;
    /// let who = auth.validate(&login.access_token)?;
    /// auth.authorize(&who, "orders", "refund")?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn assign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.inner.assign_role(user, role)
    }

    /// Takes a role from a user (idempotent). Effective on the very next check.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user or role.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.declare_role("clerk", &[("orders", "refund")])?;
    /// auth.assign_role(alice.id, "clerk")?;
    /// auth.unassign_role(alice.id, "clerk")?;
    /// assert!(auth.user_roles(alice.id)?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn unassign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.inner.unassign_role(user, role)
    }

    /// A user's role names, sorted.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// auth.create_role("clerk")?;
    /// auth.assign_role(alice.id, "clerk")?;
    /// assert_eq!(auth.user_roles(alice.id)?, ["clerk"]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn user_roles(&self, user: UserId) -> Result<Vec<String>> {
        self.inner.user_roles(user)
    }

    /// `Ok(())` if the principal's account — active, as the database says now — holds a
    /// role granting `action` on `resource`, AND, when the credential is scoped
    /// (`who.scopes` is `Some`), one of its scopes admits it too: a scoped key can only
    /// narrow what its account may do. Otherwise `Forbidden`, and the denial is audited.
    ///
    /// # Errors
    ///
    /// `Forbidden` (audited, coalesced per interval), `InactiveUser`, `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let who = auth.validate(&login.access_token)?;
    /// assert_eq!(auth.authorize(&who, "orders", "refund").unwrap_err().kind(), ErrorKind::Forbidden);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn authorize(&self, who: &Principal, resource: &str, action: &str) -> Result<()> {
        self.inner.authorize(who, resource, action)
    }

    /// `Ok(())` if the principal's account — active, as the database says now — has `role`;
    /// otherwise `Forbidden`, audited.
    ///
    /// # Errors
    ///
    /// `Forbidden` (audited), `InactiveUser`, `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// auth.create_role("admin")?;
    /// auth.assign_role(alice.id, "admin")?;
    /// auth.require_role(&auth.validate(&login.access_token)?, "admin")?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn require_role(&self, who: &Principal, role: &str) -> Result<()> {
        self.inner.require_role(who, role)
    }
}

/// The audit trail.
impl Auth {
    /// Audit events matching `query`, newest first.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad query, `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// # let login = auth.login("alice", "correct horse battery staple", &ClientInfo::default())?;
    /// let events = auth.audit(&AuditQuery::default())?;
    /// assert_eq!(events[0].kind, AuditKind::LoginSucceeded); // newest first
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.inner.audit(query)
    }

    /// Calls `callback` with every audit event after its transaction commits, on a
    /// background thread, in commit order. A callback that panics is contained; a slow one
    /// delays only other subscribers, and if it falls more than 1,024 transactions behind,
    /// newer events are not queued for subscribers (they are still in the trail; see
    /// [`Auth::audit_events_dropped`]). Should the OS refuse the thread, events are delivered
    /// on the committing thread instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let id = auth.subscribe(|event: &AuditEvent| println!("{:?}", event.kind));
    /// assert!(auth.unsubscribe(id));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn subscribe<F>(&self, callback: F) -> SubscriptionId
    where
        F: Fn(&AuditEvent) + Send + Sync + 'static,
    {
        self.inner.subscribe(Arc::new(callback))
    }

    /// Ends a subscription; `false` if it was not active.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let id = auth.subscribe(|_: &AuditEvent| {});
    /// assert!(auth.unsubscribe(id));
    /// assert!(!auth.unsubscribe(id));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.unsubscribe(id)
    }

    /// Events that could not be queued for subscribers because they fell behind.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// assert_eq!(auth.audit_events_dropped(), 0);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn audit_events_dropped(&self) -> u64 {
        self.inner.audit_events_dropped()
    }

    /// Deletes audit rows older than `before` (retention), keeping the chain verifiable:
    /// the last deleted row's MAC becomes the anchor, and the purge itself is audited.
    /// Returns how many rows were deleted.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let purged = auth.purge_audit(std::time::SystemTime::now() - std::time::Duration::from_secs(86_400))?;
    /// assert_eq!(purged, 0);
    /// auth.verify_audit_chain()?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn purge_audit(&self, before: SystemTime) -> Result<usize> {
        self.inner.purge_audit(before)
    }

    /// Re-computes the whole chain on one consistent snapshot. `Ok(rows checked)` if every
    /// row is as the engine wrote it; otherwise a `Storage` error naming the first row that
    /// was altered, deleted (the row after the gap) or inserted by hand. Deleting the newest
    /// rows can only be detected against an id remembered elsewhere.
    ///
    /// # Errors
    ///
    /// `Storage` naming the first row that does not verify.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// assert!(auth.verify_audit_chain()? >= 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn verify_audit_chain(&self) -> Result<u64> {
        self.inner.verify_audit_chain()
    }
}

/// Operations.
impl Auth {
    /// A cheap, read-only summary: schema version, counts of users, live sessions, signing
    /// keys and audit rows (one snapshot), and the sizes of the file and its WAL (on
    /// PostgreSQL: the database's size, and a WAL size of 0).
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// assert_eq!(auth.status()?.users, 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn status(&self) -> Result<Status> {
        self.inner.status()
    }

    /// Writes a consistent copy of the live database to a new file at `path` (SQLite's
    /// online backup API: one snapshot, writers keep going). The copy opens with
    /// [`Auth::open`] (given the same `master_secret`, if any) and passes
    /// [`Auth::verify_audit_chain`]. `Conflict` if `path` exists; an in-memory database can
    /// be backed up too. On PostgreSQL a `Config` error: back it up with `pg_dump` or
    /// replication.
    ///
    /// # Errors
    ///
    /// `Conflict` when `path` exists, `Config` on PostgreSQL, `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let alice = auth.register(NewUser::new("alice", "correct horse battery staple"))?;
    /// let dir = tempfile::tempdir().unwrap();
    /// auth.backup_to(dir.path().join("copy.db"))?;
    /// assert_eq!(Auth::open(dir.path().join("copy.db"))?.status()?.users, 1);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn backup_to(&self, path: impl AsRef<Path>) -> Result<()> {
        self.inner.backup_to(path.as_ref())
    }

    /// Runs SQLite's `PRAGMA quick_check` over the whole file (O(size): seconds for a large
    /// database) so damage is seen before it is hit: `Ok` when sound, otherwise a `Storage`
    /// error with SQLite's first findings. `authlite status` runs it. On PostgreSQL, which
    /// checks its own pages, it only proves the database answers.
    ///
    /// # Errors
    ///
    /// `Storage` with SQLite's first findings.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// auth.check_integrity()?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn check_integrity(&self) -> Result<()> {
        self.inner.check_integrity()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("path", &self.inner.config.location()).finish_non_exhaustive()
    }
}
