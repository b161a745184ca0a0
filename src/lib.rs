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

mod audit;
mod auth;
mod cache;
mod clock;
mod config;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod global;
mod keys;
mod limiter;
mod names;
mod password;
mod random;
mod rbac;
mod refresh;
mod sessions;
mod store;
mod tokens;
mod users;
mod validate;

pub use audit::{AuditEvent, AuditKind, AuditQuery, SubscriptionId};
pub use auth::Auth;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, SecretBytes, SigningAlgorithm, Synchronous};
pub use error::{Error, ErrorKind, Result};
pub use global::{global, init_global};
pub use keys::SigningKeyInfo;
pub use sessions::{ClientInfo, Login, Session, SessionId, TokenPair};
pub use tokens::Claims;
pub use users::{NewUser, User, UserId, UserQuery};
pub use validate::Principal;

/// The README's examples run as doc tests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
