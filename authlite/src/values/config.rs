//! Engine configuration: every default in one place, checked by [`Config::validate`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::values::clock::{Clock, SystemClock};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::identity::IdentityProvider;
use crate::values::names;
use crate::values::passkey::RelyingParty;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The path [`Config::in_memory`] uses to ask for a private in-memory database.
pub(crate) const IN_MEMORY_PATH: &str = ":memory:";

/// Where a [`Config`]'s database lives ([`Config::target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A private in-memory SQLite database ([`Config::in_memory`]).
    Memory,
    /// An SQLite file.
    File(&'a Path),
    /// A PostgreSQL database, by its URL.
    Postgres(&'a str),
}

/// Everything the engine can be told. Build with [`Config::new`], change fields, then
/// [`Auth::open_with`](crate::Auth::open_with), which calls [`Config::validate`] first.
///
/// ```
/// use std::time::Duration;
/// let mut config = authlite::Config::in_memory();
/// config.pbkdf2_iterations = 1_000; // tests only: far below the safe default
/// config.access_token_ttl = Duration::from_secs(5 * 60);
/// let auth = authlite::Auth::open_with(config)?;
/// # Ok::<(), authlite::Error>(())
/// ```
///
/// Struct-update syntax works too:
/// `Config { pbkdf2_iterations: 1_000, ..Config::new("app.db") }`.
#[derive(Clone)]
pub struct Config {
    /// The SQLite database file; created with its schema if missing.
    /// `":memory:"` (see [`Config::in_memory`]) keeps a private database in memory.
    /// A `postgres://` or `postgresql://` URL (see `Config::postgres`, feature `postgres`)
    /// selects a PostgreSQL database instead.
    pub path: PathBuf,
    /// Create the database file (with its schema) when it does not exist. Default **true**.
    /// `false` makes opening a missing file a `NotFound` error instead: for tools that must
    /// never create a database by mistake (the CLI's read-only commands).
    pub create_if_missing: bool,
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes. Default **600,000** (OWASP 2023).
    /// Accepted range 1,000..=10,000,000. **Lowering it weakens every password hash created
    /// while it is low**: only do so in tests. Hashes with fewer iterations than this are
    /// re-hashed on the user's next successful login.
    pub pbkdf2_iterations: u32,
    /// Lifetime of an access token (JWT). Default **15 minutes**. Accepted 1 s..=24 h.
    pub access_token_ttl: Duration,
    /// Lifetime of a password-reset token. Default **30 minutes** (OWASP Forgot Password
    /// Cheat Sheet: short-lived). Accepted 1 min..=24 h.
    pub password_reset_ttl: Duration,
    /// Lifetime of a magic sign-in link. Default **15 minutes**. Accepted 1 min..=24 h.
    pub magic_link_ttl: Duration,
    /// Lifetime of an email-verification token. Default **3 days**. Accepted 1 min..=30 days.
    pub email_verification_ttl: Duration,
    /// Lifetime of an invitation to an organization. Default **48 hours**. Accepted
    /// 1 min..=30 days.
    pub invitation_ttl: Duration,
    /// Lifetime of a service token minted from an API key. Default **1 hour**. Accepted
    /// 1 s..=24 h; never past the key's own expiry.
    pub service_token_ttl: Duration,
    /// A session ends when it is not refreshed for this long. Default **14 days**.
    pub session_idle_timeout: Duration,
    /// A session ends this long after login whatever happens (absolute). Default **30 days**.
    pub session_lifetime: Duration,
    /// Where the engine gets the time. Default [`SystemClock`]; use
    /// [`ManualClock`](crate::ManualClock) in tests.
    pub clock: Arc<dyn Clock>,
    /// The `iss` claim written into and required from access tokens. Default `"authlite"`.
    pub issuer: String,
    /// The `aud` claim written into and required from access tokens. Default `"authlite"`.
    pub audience: String,
    /// Tolerance for clock differences when checking `exp`/`nbf`. Default **0**: the issuer and
    /// the verifier share a clock. At most 5 minutes; every second widens a stolen token's use.
    pub leeway: Duration,
    /// Minimum password length in characters (after NFKC). Default **8** (NIST SP 800-63B).
    /// **Values below 8 weaken the policy.**
    pub min_password_length: usize,
    /// Maximum password length in characters. Default **128**; at least 64 is enforced so
    /// passphrases fit (NIST SP 800-63B), at most 1024 so hashing cost stays bounded.
    pub max_password_length: usize,
    /// Consecutive failed logins that lock an account. Default **10** (OWASP suggests a
    /// threshold with a growing lockout; Devise's default is 20, NIST allows at most 100).
    /// 0 disables account lockout: **only behind another rate limiter**.
    pub lockout_threshold: u32,
    /// How long the first lockout lasts; each further lockout without a successful login
    /// in between lasts twice as long. Default **1 minute**.
    pub lockout_duration: Duration,
    /// The longest a lockout lasts. Default **1 hour** (Devise's `unlock_in`).
    pub lockout_max_duration: Duration,
    /// Failed logins one client address (`ClientInfo::ip`; IPv6 by /64) may make per
    /// `address_window` before it gets `RateLimited`. Default **100**. 0 disables.
    pub address_max_failures: u32,
    /// The window of `address_max_failures`. Default **15 minutes**.
    pub address_window: Duration,
    /// Algorithm of newly generated signing keys. Default [`SigningAlgorithm::Hs256`].
    pub signing_algorithm: SigningAlgorithm,
    /// An HS256 secret supplied by the application (e.g. from a secrets manager) instead of
    /// the key the engine generates and stores in the database. At least 32 bytes. It is never
    /// written to the database; tokens it signed stop validating when it is removed.
    pub signing_secret: Option<SecretBytes>,
    /// The root secret that purpose-specific keys (the audit trail's MAC) are derived from,
    /// supplied by the application. At least 32 bytes. When absent, a random one is created
    /// and stored in the database, which makes the audit chain evidence against accidents
    /// and naive edits but not against someone who can read the file; supply it to close
    /// that gap. Set it before the first audit row is written: changing it later makes the
    /// older rows fail verification.
    pub master_secret: Option<SecretBytes>,
    /// SQLite `synchronous` setting. Default [`Synchronous::Normal`] (WAL: durable across
    /// application crashes; a power loss may drop the last commits). `Full` syncs every commit.
    /// (PostgreSQL's own `synchronous_commit` governs there.)
    pub synchronous: Synchronous,
    /// How long to wait for another process's write lock before failing. Default **5 s**.
    /// On PostgreSQL: the writers' `lock_timeout` and the connect timeout.
    pub busy_timeout: Duration,
    /// Maximum pooled connections (SQLite or PostgreSQL). Default **8**. Range 1..=64.
    pub pool_size: u32,
    /// Maximum entries in the exact in-process validation cache. Default **16,384**;
    /// 0 disables it (every `validate` then reads the database). On PostgreSQL the cache is
    /// used only with [`Config::postgres_staleness`].
    pub validate_cache_capacity: usize,
    /// PostgreSQL: the longest any call waits for the server, connecting included. Default
    /// **10 s**, within 1 s..=10 min. A call that runs out fails with `Storage` and its
    /// connection is dropped (a stalled network cannot hang `validate`); TCP keepalives,
    /// `tcp_user_timeout` and the server's `statement_timeout` are set from it too.
    pub postgres_timeout: Duration,
    /// PostgreSQL: how stale a cached `validate` answer may be, at most (DESIGN §10).
    /// Default `None`: every `validate` reads the database (about one round trip). With
    /// `Some(bound)` the exact cache is on: an entry is served only while this instance has
    /// confirmed, within `bound`, that nobody committed since it was read (a change counter
    /// polled on a connection of its own, woken early by `LISTEN/NOTIFY`), and every call
    /// that takes access away returns only after `bound` has passed since its commit, so no
    /// instance accepts the revoked credential once the call returned. Give every instance
    /// the same bound. Within 10 ms..=60 s.
    pub postgres_staleness: Option<Duration>,
    /// The site passkeys are bound to; `None` (the default) turns passkeys off. Needs the
    /// `passkeys` feature to sign in with them (without it the ceremonies answer `Config`).
    pub relying_party: Option<RelyingParty>,
    /// OpenID Connect providers accounts can sign in with (DESIGN §13); empty (the default)
    /// turns provider sign-in off. Needs the `oidc` feature (without it the flows answer
    /// `Config`).
    pub identity_providers: Vec<IdentityProvider>,
    /// Whether a provider sign-in whose identity matches no account creates a passwordless
    /// one (default `true`). Off: such a sign-in is `NotFound`, and only identities linked
    /// by signed-in users (or by verified email) sign in.
    pub oidc_auto_register: bool,
}

impl Config {
    /// Every default, for the database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Config {
            path: path.into(),
            create_if_missing: true,
            pbkdf2_iterations: 600_000,
            access_token_ttl: 15 * MINUTE,
            service_token_ttl: 60 * MINUTE,
            password_reset_ttl: 30 * MINUTE,
            magic_link_ttl: 15 * MINUTE,
            email_verification_ttl: 3 * DAY,
            invitation_ttl: 2 * DAY,
            session_idle_timeout: 14 * DAY,
            session_lifetime: 30 * DAY,
            clock: Arc::new(SystemClock),
            issuer: "authlite".to_owned(),
            audience: "authlite".to_owned(),
            leeway: Duration::ZERO,
            min_password_length: 8,
            max_password_length: 128,
            lockout_threshold: 10,
            lockout_duration: MINUTE,
            lockout_max_duration: 60 * MINUTE,
            address_max_failures: 100,
            address_window: 15 * MINUTE,
            signing_algorithm: SigningAlgorithm::Hs256,
            signing_secret: None,
            master_secret: None,
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            pool_size: 8,
            validate_cache_capacity: 16_384,
            postgres_timeout: Duration::from_secs(10),
            postgres_staleness: None,
            relying_party: None,
            identity_providers: Vec::new(),
            oidc_auto_register: true,
        }
    }

    /// Every default, with a private in-memory database (demos and tests).
    pub fn in_memory() -> Self {
        Config::new(IN_MEMORY_PATH)
    }

    /// Every default, for the PostgreSQL database at `url`
    /// (`postgres://user:password@host:5432/dbname`, with any parameter the `postgres`
    /// crate accepts, e.g. `?sslmode=disable&options=-csearch_path%3Dauth`). The database
    /// must exist; its tables are created on first open (unless `create_if_missing` is
    /// false). Several machines can open one database: every promise of the engine holds
    /// across them (see the README's "Several machines").
    ///
    /// ```no_run
    /// let config = authlite::Config::postgres("postgres://auth:secret@db.internal/auth");
    /// let auth = authlite::Auth::open_with(config)?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    #[cfg(feature = "postgres")]
    pub fn postgres(url: impl Into<String>) -> Self {
        Config::new(url.into())
    }

    /// Where the database lives: the one place `path` is interpreted.
    pub(crate) fn target(&self) -> Target<'_> {
        if self.path.as_os_str() == IN_MEMORY_PATH {
            return Target::Memory;
        }
        match self.path.to_str() {
            Some(url) if ["postgres://", "postgresql://"].iter().any(|p| url.starts_with(p)) => {
                Target::Postgres(url)
            }
            _ => Target::File(&self.path),
        }
    }

    /// `path` for messages and logs: the file, or the PostgreSQL URL with its password
    /// replaced by `***`.
    pub fn location(&self) -> String {
        match self.target() {
            Target::Postgres(url) => redact_password(url),
            _ => self.path.display().to_string(),
        }
    }

    /// Checks every field; [`Auth::open_with`](crate::Auth::open_with) calls this first.
    /// Errors are of kind [`ErrorKind::Config`] and name the field.
    pub fn validate(&self) -> Result<()> {
        fn check(ok: bool, message: &'static str) -> Result<()> {
            if ok { Ok(()) } else { Err(Error::new(ErrorKind::Config, message)) }
        }
        check(!self.path.as_os_str().is_empty(), "path must not be empty")?;
        check(
            (1_000..=10_000_000).contains(&self.pbkdf2_iterations),
            "pbkdf2_iterations must be within 1,000..=10,000,000",
        )?;
        check(
            (Duration::from_secs(1)..=DAY).contains(&self.access_token_ttl),
            "access_token_ttl must be within 1 s..=24 h",
        )?;
        check(
            (Duration::from_secs(1)..=DAY).contains(&self.service_token_ttl),
            "service_token_ttl must be within 1 s..=24 h",
        )?;
        check(
            (MINUTE..=DAY).contains(&self.password_reset_ttl),
            "password_reset_ttl must be within 1 min..=24 h",
        )?;
        check(
            (MINUTE..=DAY).contains(&self.magic_link_ttl),
            "magic_link_ttl must be within 1 min..=24 h",
        )?;
        check(
            (MINUTE..=30 * DAY).contains(&self.invitation_ttl),
            "invitation_ttl must be within 1 min..=30 days",
        )?;
        check(
            (MINUTE..=30 * DAY).contains(&self.email_verification_ttl),
            "email_verification_ttl must be within 1 min..=30 days",
        )?;
        let ten_years = 3650 * DAY;
        check(
            (MINUTE..=ten_years).contains(&self.session_idle_timeout),
            "session_idle_timeout must be within 1 min..=10 years",
        )?;
        check(
            (MINUTE..=ten_years).contains(&self.session_lifetime),
            "session_lifetime must be within 1 min..=10 years",
        )?;
        check(valid_claim(&self.issuer), "issuer must be 1..=256 printable characters")?;
        check(valid_claim(&self.audience), "audience must be 1..=256 printable characters")?;
        check(self.leeway <= 5 * MINUTE, "leeway must be at most 5 minutes")?;
        check(
            (64..=1024).contains(&self.max_password_length),
            "max_password_length must be within 64..=1024",
        )?;
        check(
            (1..=self.max_password_length).contains(&self.min_password_length),
            "min_password_length must be within 1..=max_password_length",
        )?;
        check(self.lockout_threshold <= 1000, "lockout_threshold must be at most 1000")?;
        check(
            (Duration::from_secs(1)..=DAY).contains(&self.lockout_duration),
            "lockout_duration must be within 1 s..=24 h",
        )?;
        check(
            (self.lockout_duration..=30 * DAY).contains(&self.lockout_max_duration),
            "lockout_max_duration must be within lockout_duration..=30 days",
        )?;
        check(
            (Duration::from_secs(1)..=DAY).contains(&self.address_window),
            "address_window must be within 1 s..=24 h",
        )?;
        if let Some(secret) = &self.signing_secret {
            check(secret.0.len() >= 32, "signing_secret must be at least 32 bytes")?;
            check(
                self.signing_algorithm == SigningAlgorithm::Hs256,
                "signing_secret requires signing_algorithm Hs256",
            )?;
        }
        check(self.busy_timeout <= 10 * MINUTE, "busy_timeout must be at most 10 minutes")?;
        check((1..=64).contains(&self.pool_size), "pool_size must be within 1..=64")?;
        check(
            (Duration::from_secs(1)..=10 * MINUTE).contains(&self.postgres_timeout),
            "postgres_timeout must be within 1 s..=10 min",
        )?;
        check(
            self.postgres_staleness
                .is_none_or(|b| (Duration::from_millis(10)..=MINUTE).contains(&b)),
            "postgres_staleness must be within 10 ms..=60 s",
        )?;
        if let Some(rp) = &self.relying_party {
            check_relying_party(rp)?;
        }
        for (i, provider) in self.identity_providers.iter().enumerate() {
            check_provider(provider)?;
            if self.identity_providers[..i].iter().any(|p| p.name == provider.name) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("identity_providers: {:?} is configured twice", provider.name),
                ));
            }
        }
        Ok(())
    }
}

/// The RP id is a lower-case host name, the name printable, and every origin
/// `https://host[:port]` (or `http://` on `localhost`) whose host is the RP id or under it.
fn check_relying_party(rp: &RelyingParty) -> Result<()> {
    let bad = |message: String| Err(Error::new(ErrorKind::Config, message));
    if !is_host(&rp.id) {
        return bad(format!("relying_party.id {:?} must be a lower-case host name", rp.id));
    }
    if names::label("relying_party.name", &rp.name).is_err() {
        return bad("relying_party.name must be 1 to 64 printable characters".into());
    }
    if rp.origins.is_empty() {
        return bad("relying_party.origins must list at least one origin".into());
    }
    for origin in &rp.origins {
        let host = origin_host(origin);
        let under_id = |h: &str| h == rp.id || h.ends_with(&format!(".{}", rp.id));
        if !host.is_some_and(under_id) {
            return bad(format!(
                "relying_party.origins: {origin:?} must be https://<host>[:port] (http only on \
                 localhost) with no path, its host {:?} or under it",
                rp.id
            ));
        }
    }
    Ok(())
}

/// A provider's name is a short slug; its issuer and redirect URI `https` (plain `http`
/// only on a loopback host: a provider on the machine itself); a client id; scopes that
/// are single tokens.
fn check_provider(p: &IdentityProvider) -> Result<()> {
    let bad = |message: String| Err(Error::new(ErrorKind::Config, message));
    let slug = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
    if !(1..=32).contains(&p.name.len()) || !p.name.bytes().all(slug) {
        return bad(format!("identity provider name {:?} must be 1 to 32 of a-z 0-9 - _", p.name));
    }
    let name = &p.name;
    for (what, url) in [("issuer", &p.issuer), ("redirect_uri", &p.redirect_uri)] {
        if !provider_url_ok(url) {
            return bad(format!(
                "identity provider {name:?}: {what} {url:?} must be an https:// URL (http:// \
                 only on a loopback host)"
            ));
        }
    }
    if !valid_claim(&p.client_id) {
        return bad(format!("identity provider {name:?}: client_id must be 1 to 256 characters"));
    }
    if p.client_secret.as_ref().is_some_and(|s| s.is_empty()) {
        return bad(format!("identity provider {name:?}: client_secret is empty (use None)"));
    }
    let token = |s: &String| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
    if !p.scopes.iter().all(token) {
        return bad(format!("identity provider {name:?}: each scope must be one printable word"));
    }
    Ok(())
}

/// `https://…`, or `http://` to a loopback host (`localhost`, `127.x.x.x`, `[::1]`).
fn provider_url_ok(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    let loopback =
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    !host.is_empty()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && (scheme == "https" || (scheme == "http" && loopback))
}

/// The host of `scheme://host[:port]` (an optional trailing `/`), if it is one.
fn origin_host(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let local = host == "localhost" || host.ends_with(".localhost");
    let scheme_ok = scheme == "https" || (scheme == "http" && local);
    (scheme_ok && port_ok && is_host(host)).then_some(host)
}

/// A lower-case DNS host name: dot-separated labels of `a-z 0-9 -`.
fn is_host(host: &str) -> bool {
    (1..=253).contains(&host.len())
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `scheme://user:password@host/...` as `scheme://user:***@host/...`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn valid_claim(s: &str) -> bool {
    (1..=256).contains(&s.chars().count()) && !s.chars().any(char::is_control)
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.location())
            .field("create_if_missing", &self.create_if_missing)
            .field("pbkdf2_iterations", &self.pbkdf2_iterations)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("service_token_ttl", &self.service_token_ttl)
            .field("password_reset_ttl", &self.password_reset_ttl)
            .field("magic_link_ttl", &self.magic_link_ttl)
            .field("email_verification_ttl", &self.email_verification_ttl)
            .field("invitation_ttl", &self.invitation_ttl)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_lifetime", &self.session_lifetime)
            .field("clock", &"dyn Clock")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("min_password_length", &self.min_password_length)
            .field("max_password_length", &self.max_password_length)
            .field("lockout_threshold", &self.lockout_threshold)
            .field("lockout_duration", &self.lockout_duration)
            .field("lockout_max_duration", &self.lockout_max_duration)
            .field("address_max_failures", &self.address_max_failures)
            .field("address_window", &self.address_window)
            .field("signing_algorithm", &self.signing_algorithm)
            .field("signing_secret", &self.signing_secret)
            .field("master_secret", &self.master_secret)
            .field("synchronous", &self.synchronous)
            .field("busy_timeout", &self.busy_timeout)
            .field("pool_size", &self.pool_size)
            .field("validate_cache_capacity", &self.validate_cache_capacity)
            .field("postgres_timeout", &self.postgres_timeout)
            .field("postgres_staleness", &self.postgres_staleness)
            .field("relying_party", &self.relying_party)
            .field("identity_providers", &self.identity_providers)
            .field("oidc_auto_register", &self.oidc_auto_register)
            .finish()
    }
}

/// The JWS algorithm of access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 with a random 256-bit key. Only this engine can verify.
    Hs256,
    /// Ed25519 signatures: other machines can verify with the public key
    /// (see [`Auth::jwks`](crate::Auth::jwks)).
    EdDsa,
}

/// SQLite's `synchronous` pragma for every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Synchronous {
    /// `NORMAL`: with WAL, no commit is lost on an application crash; the last commits may be
    /// lost on power failure or OS crash.
    Normal,
    /// `FULL`: every commit is synced to disk; survives power loss, costs an fsync per write.
    Full,
}

/// Secret bytes: never printed by `Debug`, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretBytes(bytes.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let c = Config::new("x.db");
        assert_eq!(c.pbkdf2_iterations, 600_000);
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.session_idle_timeout, 14 * DAY);
        assert_eq!(c.session_lifetime, 30 * DAY);
        assert_eq!(c.min_password_length, 8);
        assert!(c.max_password_length >= 64);
        c.validate().unwrap();
    }

    #[test]
    fn rejects_weak_or_nonsense_values() {
        let bad: [fn(&mut Config); 12] = [
            |c| c.pbkdf2_iterations = 999,
            |c| c.access_token_ttl = Duration::ZERO,
            |c| c.issuer.clear(),
            |c| c.leeway = Duration::from_secs(3600),
            |c| c.max_password_length = 32,
            |c| c.min_password_length = 0,
            |c| c.signing_secret = Some(SecretBytes::new(vec![1; 16])),
            |c| c.pool_size = 0,
            |c| c.path = PathBuf::new(),
            |c| c.postgres_timeout = Duration::from_millis(999),
            |c| c.postgres_staleness = Some(Duration::from_millis(9)),
            |c| c.postgres_staleness = Some(Duration::from_secs(61)),
        ];
        for change in bad {
            let mut c = Config::new("x.db");
            change(&mut c);
            assert_eq!(c.validate().unwrap_err().kind(), ErrorKind::Config, "{c:?}");
        }
    }

    #[test]
    fn postgres_urls_are_recognised_and_their_password_never_shown() {
        let config = Config::new("postgres://auth:hunter2@db:5432/auth?sslmode=disable");
        assert_eq!(
            config.target(),
            Target::Postgres("postgres://auth:hunter2@db:5432/auth?sslmode=disable")
        );
        assert_eq!(config.location(), "postgres://auth:***@db:5432/auth?sslmode=disable");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(
            Config::new("postgresql://db/auth").target(),
            Target::Postgres("postgresql://db/auth")
        );
        assert_eq!(Config::new("postgresql://db/auth").location(), "postgresql://db/auth");
        assert_eq!(Config::new("auth.db").target(), Target::File(Path::new("auth.db")));
        assert_eq!(
            Config::new("./postgres://x").target(),
            Target::File(Path::new("./postgres://x"))
        );
        assert_eq!(Config::in_memory().target(), Target::Memory);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let mut c = Config::new("x.db");
        c.signing_secret = Some(SecretBytes::new(b"super-secret-signing-key-0123456789".to_vec()));
        let shown = format!("{c:?}");
        assert!(!shown.contains("super-secret"));
        assert!(shown.contains("redacted"));
    }
}
