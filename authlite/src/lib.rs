//! # authlite
//!
//! An embedded, synchronous authentication engine over SQLite. One file keeps users,
//! sessions, tokens, roles and an audit trail; [`Auth::validate`] answers "who is this?"
//! statefully — signature AND database: session live, user active, nothing revoked — in
//! microseconds, with no server and no network.
//!
//! ```
//! use authlite::{Auth, ClientInfo, Config, ErrorKind, NewUser};
//!
//! # fn main() -> authlite::Result<()> {
//! let mut config = Config::in_memory(); // Config::new("app.db") for a file
//! config.pbkdf2_iterations = 1_000;     // tests and docs only; the default is 600,000
//! let auth = Auth::open_with(config)?;
//!
//! let user = auth.register(NewUser::new("alice", "correct horse battery staple").email("a@x.io"))?;
//! let login = auth.login("ALICE", "correct horse battery staple", &ClientInfo::default())?;
//!
//! let who = auth.validate(&login.access_token)?;
//! assert_eq!(who.user_id, user.id);
//!
//! let next = auth.refresh(&login.refresh_token)?; // rotates: the old refresh token is spent
//! assert_eq!(auth.refresh(&login.refresh_token).unwrap_err().kind(), ErrorKind::TokenReused);
//! // Reuse revoked the whole session, so the new tokens are dead too:
//! assert_eq!(auth.validate(&next.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
//! # Ok(())
//! # }
//! ```
//!
//! The README lists the guarantees (fail closed, atomic operations, safe defaults, one JWT
//! verification plus at most one indexed read per `validate`) and the defaults with sources.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Layers, each importing only from those listed before it (see the README's
// "Architecture"): values ← crypto ← store ← features ← auth (the facade).
mod auth;
mod crypto;
mod features;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod global;
mod service_cache;
mod store;
mod values;

pub use auth::Auth;
pub use global::{global, init_global};
pub use service_cache::ServiceTokenCache;
pub use values::audit::{AuditEvent, AuditKind, AuditQuery, SubscriptionId};
pub use values::clock::{Clock, ManualClock, SystemClock};
pub use values::config::{Config, SecretBytes, SigningAlgorithm, Synchronous};
pub use values::credential::{
    ApiKeyInfo, ApiKeySpec, CredentialKind, NewApiKey, ScopedGrant, ServiceToken,
};
pub use values::error::{Error, ErrorKind, Result};
pub use values::factor::Factor;
pub use values::identity::{Identity, IdentityProvider, OidcStart};
pub use values::ids::{ApiKeyId, IdentityId, OrgId, PasskeyId, SessionId, UserId};
pub use values::key::SigningKeyInfo;
pub use values::organization::{Invitation, Member, Organization};
pub use values::passkey::{PasskeyCeremony, PasskeyInfo, PasskeyLogin, RelyingParty};
pub use values::principal::{Claims, Principal};
pub use values::session::{ClientInfo, Login, Session, TokenPair};
pub use values::signin::SignInMethod;
pub use values::status::Status;
pub use values::user::{AccountKind, NewUser, TotpEnrollment, User, UserQuery};

/// The README's examples run as doc tests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
