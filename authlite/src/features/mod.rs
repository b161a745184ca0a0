//! The features layer: the engine's rules, over the store's plain values. Nothing here
//! touches SQL or rusqlite; the `Auth` facade above calls into [`Engine`].
//!
//! [`Engine`] is the state every feature shares (configuration, store, keys, cache, audit
//! key, subscribers). Every state change runs through [`Engine::write`]: one store write
//! transaction that can append audit rows ([`Tx::audit`]), published to subscribers once
//! it has committed.

mod accounts;
mod audit;
mod cache;
mod keys;
mod rbac;
mod refresh;
mod sessions;
mod throttle;
mod validate;

use std::cell::RefCell;
use std::ops::Deref;
use std::time::SystemTime;

use zeroize::Zeroizing;

pub(crate) use audit::Subscribers;
use cache::ValidateCache;
use keys::Keys;
#[cfg(fuzzing)]
pub(crate) use refresh::PREFIX as REFRESH_PREFIX;

use crate::crypto::jwt;
use crate::store::{Store, WriteTx};
use crate::values::audit::{AuditEvent, AuditKind};
use crate::values::clock::to_millis;
use crate::values::config::Config;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{SessionId, UserId};
use crate::values::principal::Claims;
use crate::values::session::ClientInfo;

/// Everything one open database needs, shared by every clone of an `Auth`.
pub(crate) struct Engine {
    pub(crate) config: Config,
    store: Store,
    keys: Keys,
    cache: ValidateCache,
    /// Keys the audit trail's MAC chain (derived from the master key).
    audit_key: Zeroizing<[u8; 32]>,
    subscribers: Subscribers,
}

impl Engine {
    /// Opens (or creates) and migrates the database in `config` (already validated), loads
    /// or creates the signing key, and checks once that signing and verifying work.
    pub(crate) fn open(config: Config) -> Result<Engine> {
        let store = Store::open(&config)?;
        let keys = Keys::open(&store, &config)?;
        let cache = ValidateCache::new(config.validate_cache_capacity);
        let audit_key = keys.derive(audit::KEY_LABEL);
        let subscribers = Subscribers::default();
        let engine = Engine { config, store, keys, cache, audit_key, subscribers };
        engine.self_test()?;
        Ok(engine)
    }

    fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    fn now_ms(&self) -> i64 {
        to_millis(self.now())
    }

    /// Runs `f` in one write transaction that can record audit events, and hands the events
    /// to subscribers after the commit. Every state change of the engine goes through here.
    fn write<T>(&self, f: impl FnOnce(&Tx<'_, '_>) -> Result<T>) -> Result<T> {
        let now = self.now_ms();
        let key = &self.audit_key;
        let (out, events) = self.store.write(|store| {
            let tx = Tx { store, now, key, events: RefCell::new(Vec::new()) };
            let out = f(&tx)?;
            Ok((out, tx.events.into_inner()))
        })?;
        self.subscribers.publish(events);
        Ok(out)
    }

    /// Signs and verifies a throw-away token, so a broken crypto build fails `open` instead
    /// of the first login.
    fn self_test(&self) -> Result<()> {
        let ring = self.keys.ring();
        let now = self.now_ms() / 1000;
        let claims = Claims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: UserId(1),
            sid: SessionId(1),
            jti: jwt::new_jti()?,
            iat: now,
            exp: now + 60,
            ver: 0,
            nbf: None,
        };
        let token = jwt::issue(ring.signer(), &claims)?;
        let parsed = jwt::parse(&token)?;
        match jwt::verify(&parsed, &ring, &claims.iss, &claims.aud) {
            Ok(back) if back == claims => Ok(()),
            _ => Err(Error::new(ErrorKind::Internal, "token signing self-test failed")),
        }
    }
}

/// A write transaction that can record audit events; they are published to subscribers
/// only once it has committed.
pub(crate) struct Tx<'t, 'c> {
    store: &'t WriteTx<'c>,
    now: i64,
    key: &'t [u8; 32],
    events: RefCell<Vec<AuditEvent>>,
}

impl<'c> Deref for Tx<'_, 'c> {
    type Target = WriteTx<'c>;
    fn deref(&self) -> &WriteTx<'c> {
        self.store
    }
}

impl Tx<'_, '_> {
    /// The time of this operation, in milliseconds.
    fn now(&self) -> i64 {
        self.now
    }

    /// Appends an event to the trail, chained to the previous row.
    fn audit(&self, kind: AuditKind, record: Record<'_>) -> Result<()> {
        let event = audit::append(self.store, self.key, self.now, kind, record)?;
        self.events.borrow_mut().push(event);
        Ok(())
    }
}

/// What to record; `Default` for the fields an event does not have.
#[derive(Debug, Default, Clone)]
struct Record<'a> {
    user: Option<UserId>,
    session: Option<SessionId>,
    client: Option<&'a ClientInfo>,
    detail: Option<String>,
}

impl<'a> Record<'a> {
    /// About a user (or about nobody in particular).
    fn about(user: Option<UserId>) -> Self {
        Record { user, ..Record::default() }
    }

    /// About a user.
    fn user(user: UserId) -> Self {
        Record::about(Some(user))
    }

    /// About one session of a user.
    fn session(user: UserId, session: SessionId) -> Self {
        Record { session: Some(session), ..Record::user(user) }
    }

    /// With a short description.
    fn detail(self, detail: impl Into<String>) -> Self {
        Record { detail: Some(detail.into()), ..self }
    }

    /// With the client's address and user agent.
    fn client(self, client: &'a ClientInfo) -> Self {
        Record { client: Some(client), ..self }
    }
}
