//! The facade: [`Auth`], the one type users call. Every method documents its contract
//! here and delegates to the features layer ([`Engine`]).
//!
//! Every method is synchronous and may block: on SQLite (a few microseconds to
//! milliseconds; up to `Config::busy_timeout` when another process holds the write lock)
//! and, for `register`, `login`, `change_password`, `set_password`, on PBKDF2 (about 60 ms
//! at the default cost). From async code run them on a blocking pool
//! (`tokio::task::spawn_blocking`); `validate` on a cache hit is a few microseconds and is
//! fine to call inline.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::features::Engine;
use crate::values::audit::{AuditEvent, AuditQuery, SubscriptionId};
use crate::values::config::Config;
use crate::values::credential::{ApiKeyInfo, ApiKeySpec, NewApiKey, ScopedGrant, ServiceToken};
use crate::values::error::Result;
use crate::values::ids::{ApiKeyId, SessionId, UserId};
use crate::values::key::SigningKeyInfo;
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
    pub fn open(path: impl AsRef<Path>) -> Result<Auth> {
        Auth::open_with(Config::new(path.as_ref()))
    }

    /// A private in-memory database, for demos and tests. Gone when the last clone drops.
    pub fn open_in_memory() -> Result<Auth> {
        Auth::open_with(Config::in_memory())
    }

    /// Validates `config`, then opens (or creates) and migrates its database, loads or
    /// creates the signing key, and checks once that signing and verifying work.
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
    pub fn recorded_config(path: impl AsRef<Path>) -> Result<Config> {
        crate::features::recorded_config(path.as_ref())
    }

    /// The configuration this engine was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Accounts.
impl Auth {
    /// Creates an account. The username (and email, if given) must be valid and unique
    /// ignoring case and width (`Conflict` otherwise); the password must meet the policy
    /// (`WeakPassword`). The password is hashed with PBKDF2 before the transaction.
    pub fn register(&self, new: NewUser) -> Result<User> {
        self.inner.register(new)
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
        self.inner.import_user(username.as_ref(), password_hash.as_ref())
    }

    /// Sets or clears a user's email (unique ignoring case: `Conflict`).
    pub fn set_email(&self, id: UserId, email: Option<&str>) -> Result<()> {
        self.inner.set_email(id, email)
    }

    /// The user with this id, or `NotFound`.
    pub fn user(&self, id: UserId) -> Result<User> {
        self.inner.user(id)
    }

    /// The user with this username or email (ignoring case and width), or `NotFound`.
    /// A string with `@` is looked up as an email, anything else as a username.
    pub fn find_user(&self, username_or_email: &str) -> Result<User> {
        self.inner.find_user(username_or_email)
    }

    /// Users matching `query`, ordered by id.
    pub fn list_users(&self, query: &UserQuery) -> Result<Vec<User>> {
        self.inner.list_users(query)
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
        self.inner.change_password(id, old.as_ref(), new.as_ref())
    }

    /// Sets a password without the old one (administrators, password reset). The new one
    /// must meet the policy. Ends all of the user's sessions.
    pub fn set_password(&self, id: UserId, new: impl AsRef<str>) -> Result<()> {
        self.inner.set_password(id, new.as_ref())
    }

    /// Clears a lockout and the failure counter of an account. `NotFound` for an unknown user.
    pub fn unlock_user(&self, id: UserId) -> Result<()> {
        self.inner.unlock_user(id)
    }

    /// Deactivates a user: they cannot log in, refresh or validate, and every session ends.
    /// Idempotent.
    pub fn deactivate_user(&self, id: UserId) -> Result<()> {
        self.inner.set_active(id, false)
    }

    /// Re-activates a deactivated user. Their old sessions stay ended. Idempotent.
    pub fn activate_user(&self, id: UserId) -> Result<()> {
        self.inner.set_active(id, true)
    }

    /// Deletes a user and, with them, every session, refresh token and role assignment.
    /// Their id is never reused, so tokens issued to them can never match another account.
    /// The audit trail keeps their history.
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
    /// Errors: `InvalidToken` (malformed or unknown), `TokenReused` (already spent: the
    /// whole session is revoked, so whoever holds its other tokens is cut off too), then
    /// the session rule `validate` uses too: `InactiveUser`, `RevokedToken`,
    /// `ExpiredToken` (idle or past its lifetime), in that order. Of concurrent redeemers
    /// of one token exactly one succeeds.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.inner.refresh(refresh_token)
    }

    /// Validates an access token statefully: structure, header, signature, issuer, audience
    /// and expiry, then the database: the signing key is not retired, the user is active,
    /// the session is not revoked and not expired (idle or absolute), and the token itself
    /// is neither revoked nor superseded (password change). Any change committed before this
    /// call, by this or any other process, is seen. Never writes.
    ///
    /// Errors: `InvalidToken`, `ExpiredToken`, then — in the order `refresh` uses too —
    /// `InactiveUser`, `RevokedToken`, `ExpiredToken`; `Storage`.
    pub fn validate(&self, access_token: &str) -> Result<Principal> {
        self.inner.validate(access_token)
    }

    /// Validates signature and claims only (issuer, audience, expiry): no database read, so
    /// revocation is NOT seen. For places where a recently revoked token is acceptable.
    pub fn validate_stateless(&self, access_token: &str) -> Result<Claims> {
        self.inner.validate_stateless(access_token)
    }

    /// Ends the session a refresh token belongs to, for clients that hold only the refresh
    /// token (an HttpOnly cookie). Its access tokens stop working at once too.
    /// `InvalidToken` for an unknown token; ending an ended session is not an error.
    pub fn logout_with_refresh_token(&self, refresh_token: &str) -> Result<()> {
        self.inner.logout_with_refresh_token(refresh_token)
    }

    /// Ends the session of this access token: its refresh token and every access token of
    /// the session stop working at once. The token must be genuine (signature, issuer,
    /// audience) but may have expired. Logging out an ended session is not an error.
    pub fn logout(&self, access_token: &str) -> Result<()> {
        self.inner.logout(access_token)
    }

    /// Revokes one access token (by its `jti`) until it expires, leaving its session alive.
    pub fn revoke_token(&self, access_token: &str) -> Result<()> {
        self.inner.revoke_token(access_token)
    }

    /// The session with this id (live or not), or `NotFound`.
    pub fn session(&self, id: SessionId) -> Result<Session> {
        self.inner.session(id)
    }

    /// The user's live sessions (not revoked, not expired), newest first. Empty for an
    /// unknown user.
    pub fn sessions(&self, user: UserId) -> Result<Vec<Session>> {
        self.inner.sessions(user)
    }

    /// Ends one session (`NotFound` if there is no such session; ending an ended session is
    /// not an error). Takes effect on the very next `validate` and `refresh`, in every process.
    pub fn revoke_session(&self, id: SessionId) -> Result<()> {
        self.inner.revoke_session(id)
    }

    /// Ends every live session of a user; returns how many were live. `NotFound` for an
    /// unknown user.
    pub fn revoke_all_sessions(&self, user: UserId) -> Result<usize> {
        self.inner.revoke_all_sessions(user)
    }

    /// Deletes ended sessions (expired or revoked) with their refresh tokens, and expired
    /// entries of the revoked-token list. Returns how many sessions were deleted. Tokens of
    /// deleted sessions keep failing validation (as revoked).
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
    pub fn create_service_account(&self, name: &str) -> Result<User> {
        self.inner.create_service_account(name)
    }

    /// Creates an API key for an account (a person's personal access token, or a service
    /// account's key) and returns its secret, shown this once: `alk_<selector>.<secret>.
    /// <crc32>`. Only SHA-256 of the secret is stored. Scopes in `spec` narrow what the key
    /// may do below its account's roles; an expiry ends it. `NotFound` for an unknown
    /// account, `InvalidInput` for a bad name, scope or lifetime.
    pub fn create_api_key(&self, user: UserId, spec: ApiKeySpec) -> Result<NewApiKey> {
        self.inner.create_api_key(user, spec)
    }

    /// An account's API keys (revoked and expired ones too), oldest first, without secrets.
    pub fn api_keys(&self, user: UserId) -> Result<Vec<ApiKeyInfo>> {
        self.inner.api_keys(user)
    }

    /// Revokes an API key: it, and every service token minted from it, stop working on the
    /// next call in every process. Idempotent; `NotFound` for an unknown id.
    pub fn revoke_api_key(&self, id: ApiKeyId) -> Result<()> {
        self.inner.revoke_api_key(id)
    }

    /// Validates an API key statefully, as `validate` does a token: a malformed, mistyped
    /// (checksum) or unknown key is `InvalidToken` (the first two without a database read),
    /// then `InactiveUser` (account deactivated), `RevokedToken`, `ExpiredToken`. The
    /// principal has `api_key_id` and the key's `scopes`. Validation writes nothing except
    /// `last_used_at`, at most once an hour per key.
    pub fn validate_api_key(&self, key: &str) -> Result<Principal> {
        self.inner.validate_api_key(key)
    }

    /// Mints a short-lived access token (a JWT, `Config::service_token_ttl`, default one
    /// hour, never past the key's expiry) for the account of a valid API key, so services
    /// can call each other without sending the long-lived key each time. `validate` accepts
    /// it while the key is still usable: revoking the key, deactivating its account or
    /// retiring the signing key ends it. Cache it on the caller's side with
    /// [`ServiceTokenCache`](crate::ServiceTokenCache).
    pub fn issue_service_token(&self, api_key: &str) -> Result<ServiceToken> {
        self.inner.issue_service_token(api_key)
    }

    /// Issues a scoped capability token: compact and URL-safe (fits a small QR code), it
    /// grants `subject` within `scope` (e.g. table `"42"`) until `ttl` has passed, with no
    /// login. `scope`: 1–64 of `A-Z a-z 0-9 _ - . :`; `subject`: 1–256 bytes, no control
    /// characters.
    pub fn issue_scoped(&self, scope: &str, subject: &str, ttl: Duration) -> Result<String> {
        self.inner.issue_scoped(scope, subject, ttl)
    }

    /// Verifies a scoped token for `scope`: `InvalidToken` if tampered, malformed, of
    /// another scope or another database; `ExpiredToken`; `RevokedToken` after
    /// [`Auth::revoke_scoped`] of its subject (exact, in every process, no read on a cache
    /// hit).
    pub fn verify_scoped(&self, token: &str, scope: &str) -> Result<ScopedGrant> {
        self.inner.verify_scoped(token, scope)
    }

    /// Revokes every token of `scope` and `subject` issued until now (the table is
    /// re-seated: old QR codes die, new ones work).
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
    pub fn request_password_reset(&self, username_or_email: &str) -> Result<Option<String>> {
        self.inner.request_password_reset(username_or_email)
    }

    /// Sets a new password with a reset token (spent: exactly one of concurrent redeemers
    /// wins), ends every session of the user and clears their lockout. `InvalidToken`
    /// (unknown, spent, of another purpose), `ExpiredToken`, `WeakPassword`.
    pub fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        self.inner.reset_password(token, new_password)
    }

    /// A token proving the user's current email address (3 days by default), to send to it.
    /// `InvalidInput` if the user has no email. Changing the email voids it.
    pub fn email_verification_token(&self, user: UserId) -> Result<String> {
        self.inner.email_verification_token(user)
    }

    /// Redeems a verification token: the user's `email_verified_at` is set.
    pub fn verify_email(&self, token: &str) -> Result<User> {
        self.inner.verify_email(token)
    }

    /// Starts a passwordless sign-in: a single-use link token (15 minutes by default) for a
    /// username or email, or `None` for an unknown name (same time either way).
    pub fn request_magic_link(&self, username_or_email: &str) -> Result<Option<String>> {
        self.inner.request_magic_link(username_or_email)
    }

    /// Signs in with a magic-link token: a new session, as `login` makes. An account with a
    /// second factor gets `MfaRequired` (see [`Auth::complete_mfa`]); a deactivated one
    /// `InactiveUser`.
    pub fn login_with_magic_link(&self, token: &str, client: &ClientInfo) -> Result<Login> {
        self.inner.login_with_magic_link(token, client)
    }

    /// Starts TOTP enrolment (RFC 6238: SHA-1, 6 digits, 30 s): a new secret, inactive until
    /// [`Auth::confirm_totp`] sees a code from it. `Conflict` if TOTP is already on.
    pub fn enroll_totp(&self, user: UserId) -> Result<TotpEnrollment> {
        self.inner.enroll_totp(user)
    }

    /// Turns TOTP on with a first code from the enrolled secret and returns 10 single-use
    /// recovery codes, shown this once. A wrong code is `InvalidCredentials` and counts
    /// toward the lockout.
    pub fn confirm_totp(&self, user: UserId, code: &str) -> Result<Vec<String>> {
        self.inner.confirm_totp(user, code)
    }

    /// Finishes a login that answered `MfaRequired`: the challenge from
    /// [`Error::mfa_challenge`](crate::Error::mfa_challenge) with a TOTP code (one step of
    /// drift; each code accepted once) or a recovery code (single use). A wrong code is
    /// `InvalidCredentials` and counts toward the account's lockout; the challenge stays
    /// usable until it expires (5 minutes) or succeeds once.
    pub fn complete_mfa(&self, challenge: &str, code: &str, client: &ClientInfo) -> Result<Login> {
        self.inner.complete_mfa(challenge, code, client)
    }

    /// Turns the second factor off and deletes its recovery codes. Idempotent.
    pub fn disable_totp(&self, user: UserId) -> Result<()> {
        self.inner.disable_totp(user)
    }

    /// Replaces the recovery codes with 10 new ones (shown once). `InvalidInput` when TOTP
    /// is off.
    pub fn regenerate_recovery_codes(&self, user: UserId) -> Result<Vec<String>> {
        self.inner.regenerate_recovery_codes(user)
    }

    /// Sets an attribute of a user (keys 1–64 of `a-z 0-9 _ . -`, values up to 1 KiB, at
    /// most 32 per user). Loaded into `User::attributes` and, by the same single read,
    /// `Principal::attributes`; seen by every engine's next `validate`.
    pub fn set_attribute(&self, user: UserId, key: &str, value: &str) -> Result<()> {
        self.inner.set_attribute(user, key, value)
    }

    /// Removes an attribute (idempotent).
    pub fn remove_attribute(&self, user: UserId, key: &str) -> Result<()> {
        self.inner.remove_attribute(user, key)
    }
}

/// Signing keys.
impl Auth {
    /// Creates a new signing key of the configured algorithm and signs with it from now on.
    /// Tokens signed by older keys keep validating until those keys are retired.
    /// Returns the new key's `kid`. Fails with `Conflict` when the signing key is supplied in
    /// the config (rotate it there).
    pub fn rotate_signing_key(&self) -> Result<String> {
        self.inner.rotate_signing_key()
    }

    /// Retires a key: every token it signed stops validating on the next `validate`, here
    /// and in every other process. The newest live key cannot be retired (rotate first).
    pub fn retire_signing_key(&self, kid: &str) -> Result<()> {
        self.inner.retire_signing_key(kid)
    }

    /// Every signing key in the database, oldest first, without key material.
    pub fn signing_keys(&self) -> Result<Vec<SigningKeyInfo>> {
        self.inner.signing_keys()
    }

    /// The public keys of live EdDSA signing keys as a JWKS document (RFC 7517), so other
    /// services can verify access tokens without the database. HS256 keys are secret and
    /// never exported: with the default algorithm the key set is empty.
    pub fn jwks(&self) -> Result<String> {
        self.inner.jwks()
    }
}

/// Roles and permissions.
impl Auth {
    /// Creates a role (`Conflict` if it exists).
    pub fn create_role(&self, name: &str) -> Result<()> {
        self.inner.create_role(name)
    }

    /// Deletes a role, its grants and its assignments (`NotFound` if it does not exist).
    pub fn delete_role(&self, name: &str) -> Result<()> {
        self.inner.delete_role(name)
    }

    /// Every role name, sorted.
    pub fn roles(&self) -> Result<Vec<String>> {
        self.inner.roles()
    }

    /// Allows holders of `role` to do `action` on `resource` (idempotent). Either may be
    /// `"*"` to mean any.
    pub fn grant(&self, role: &str, resource: &str, action: &str) -> Result<()> {
        self.inner.change_grant(role, resource, action, true)
    }

    /// Takes a permission from a role (idempotent). Denied on the very next check.
    pub fn revoke_grant(&self, role: &str, resource: &str, action: &str) -> Result<()> {
        self.inner.change_grant(role, resource, action, false)
    }

    /// Makes sure `role` exists with at least these `(resource, action)` grants: creates what
    /// is missing, changes nothing else (grants it already has beyond these stay). Idempotent,
    /// for declaring roles at startup; only changes are audited.
    pub fn declare_role(&self, role: &str, grants: &[(&str, &str)]) -> Result<()> {
        self.inner.declare_role(role, grants)
    }

    /// The `(resource, action)` pairs granted to a role, sorted.
    pub fn role_permissions(&self, role: &str) -> Result<Vec<(String, String)>> {
        self.inner.role_permissions(role)
    }

    /// Gives a user a role (idempotent). `NotFound` for an unknown user or role.
    pub fn assign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.inner.assign_role(user, role)
    }

    /// Takes a role from a user (idempotent). Effective on the very next check.
    pub fn unassign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.inner.unassign_role(user, role)
    }

    /// A user's role names, sorted.
    pub fn user_roles(&self, user: UserId) -> Result<Vec<String>> {
        self.inner.user_roles(user)
    }

    /// `Ok(())` if the principal's account — active, as the database says now — holds a
    /// role granting `action` on `resource`, AND, when the credential is scoped
    /// (`who.scopes` is `Some`), one of its scopes admits it too: a scoped key can only
    /// narrow what its account may do. Otherwise `Forbidden`, and the denial is audited.
    pub fn authorize(&self, who: &Principal, resource: &str, action: &str) -> Result<()> {
        self.inner.authorize(who, resource, action)
    }

    /// `Ok(())` if the principal's account — active, as the database says now — has `role`;
    /// otherwise `Forbidden`, audited.
    pub fn require_role(&self, who: &Principal, role: &str) -> Result<()> {
        self.inner.require_role(who, role)
    }
}

/// The audit trail.
impl Auth {
    /// Audit events matching `query`, newest first.
    pub fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.inner.audit(query)
    }

    /// Calls `callback` with every audit event after its transaction commits, on a
    /// background thread, in commit order. A callback that panics is contained; a slow one
    /// delays only other subscribers, and if it falls more than 1,024 transactions behind,
    /// newer events are not queued for subscribers (they are still in the trail; see
    /// [`Auth::audit_events_dropped`]). Should the OS refuse the thread, events are delivered
    /// on the committing thread instead.
    pub fn subscribe<F>(&self, callback: F) -> SubscriptionId
    where
        F: Fn(&AuditEvent) + Send + Sync + 'static,
    {
        self.inner.subscribe(Arc::new(callback))
    }

    /// Ends a subscription; `false` if it was not active.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.unsubscribe(id)
    }

    /// Events that could not be queued for subscribers because they fell behind.
    pub fn audit_events_dropped(&self) -> u64 {
        self.inner.audit_events_dropped()
    }

    /// Deletes audit rows older than `before` (retention), keeping the chain verifiable:
    /// the last deleted row's MAC becomes the anchor, and the purge itself is audited.
    /// Returns how many rows were deleted.
    pub fn purge_audit(&self, before: SystemTime) -> Result<usize> {
        self.inner.purge_audit(before)
    }

    /// Re-computes the whole chain on one consistent snapshot. `Ok(rows checked)` if every
    /// row is as the engine wrote it; otherwise a `Storage` error naming the first row that
    /// was altered, deleted (the row after the gap) or inserted by hand. Deleting the newest
    /// rows can only be detected against an id remembered elsewhere.
    pub fn verify_audit_chain(&self) -> Result<u64> {
        self.inner.verify_audit_chain()
    }
}

/// Operations.
impl Auth {
    /// A cheap, read-only summary: schema version, counts of users, live sessions, signing
    /// keys and audit rows (one snapshot), and the sizes of the file and its WAL (on
    /// PostgreSQL: the database's size, and a WAL size of 0).
    pub fn status(&self) -> Result<Status> {
        self.inner.status()
    }

    /// Writes a consistent copy of the live database to a new file at `path` (SQLite's
    /// online backup API: one snapshot, writers keep going). The copy opens with
    /// [`Auth::open`] (given the same `master_secret`, if any) and passes
    /// [`Auth::verify_audit_chain`]. `Conflict` if `path` exists; an in-memory database can
    /// be backed up too. On PostgreSQL a `Config` error: back it up with `pg_dump` or
    /// replication.
    pub fn backup_to(&self, path: impl AsRef<Path>) -> Result<()> {
        self.inner.backup_to(path.as_ref())
    }

    /// Runs SQLite's `PRAGMA quick_check` over the whole file (O(size): seconds for a large
    /// database) so damage is seen before it is hit: `Ok` when sound, otherwise a `Storage`
    /// error with SQLite's first findings. `authlite status` runs it. On PostgreSQL, which
    /// checks its own pages, it only proves the database answers.
    pub fn check_integrity(&self) -> Result<()> {
        self.inner.check_integrity()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("path", &self.inner.config.location()).finish_non_exhaustive()
    }
}
