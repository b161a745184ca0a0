//! The core every feature builds on: [`Engine`], the state they share (configuration,
//! store, key ring, cache, audit key, subscribers), and the unit of work: every state
//! change runs through [`Engine::write`], one store write transaction that can append
//! audit rows ([`Tx::audit`]), published to subscribers once it has committed.

use std::cell::RefCell;
use std::ops::Deref;
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::binding;
use super::cache::Caches;
pub(super) use super::chain::Record;
use super::chain::{self, Subscribers};
use super::keyring::Keys;
use crate::crypto::oidc::{self, Providers};
use crate::crypto::passkey::{self, Verifier};
use crate::crypto::{scoped, totp};

use crate::crypto::jwt;
use crate::store::{Conn, Store, WriteTx};
use crate::values::audit::{AuditEvent, AuditKind};
use crate::values::clock::to_millis;
use crate::values::config::Config;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{SessionId, UserId};
use crate::values::principal::Claims;

/// Everything one open database needs, shared by every clone of an `Auth`.
pub(crate) struct Engine {
    pub(crate) config: Config,
    /// The database's random identity: in every token's `iid` claim and in the kid of a
    /// configured signing secret, so no other database accepts its tokens.
    pub(super) instance_id: String,
    pub(super) store: Store,
    pub(super) keys: Keys,
    pub(super) caches: Caches,
    /// Keys the audit trail's MAC chain (derived from the master key).
    pub(super) audit_key: Zeroizing<[u8; 32]>,
    /// Keys scoped capability tokens (derived from the master key).
    pub(super) scoped_key: Zeroizing<[u8; 32]>,
    /// Seals TOTP secrets at rest (derived from the master key).
    pub(super) totp_key: Zeroizing<[u8; 32]>,
    pub(super) subscribers: Subscribers,
    /// The relying party's WebAuthn checks; `None` when passkeys are off.
    pub(super) passkeys: Option<Verifier>,
    /// The configured identity providers (nothing fetched until first use).
    pub(super) providers: Providers,
}

impl Engine {
    /// Opens (or creates) and migrates the database in `config` (already validated), loads
    /// or creates the signing key, and checks once that signing and verifying work.
    pub(crate) fn open(config: Config) -> Result<Engine> {
        let store = Store::open(&config)?;
        let instance_id = store.write(|tx| binding::bind(tx, &config))?;
        let keys = Keys::open(&store, &config, &instance_id)?;
        // Where other machines' commits cannot be observed there is nothing to cache.
        let capacity = if store.observes_commits() { config.validate_cache_capacity } else { 0 };
        let caches = Caches::new(capacity);
        let audit_key = keys.derive(chain::KEY_LABEL);
        let scoped_key = keys.derive(scoped::KEY_LABEL);
        let totp_key = keys.derive(totp::SEAL_LABEL);
        let subscribers = Subscribers::default();
        let rp = config.relying_party.as_ref();
        let verifier = |rp| Verifier::new(rp, &keys.derive(passkey::FAKE_IDS_LABEL));
        let passkeys = rp.map(verifier).transpose()?;
        let providers = Providers::new(&config.identity_providers, oidc::HTTP_TIMEOUT)?;
        let engine = Engine {
            config,
            instance_id,
            store,
            keys,
            caches,
            audit_key,
            scoped_key,
            totp_key,
            subscribers,
            passkeys,
            providers,
        };
        engine.self_test()?;
        Ok(engine)
    }

    /// What every access token of this database must say about its origin.
    pub(super) fn expected(&self) -> jwt::Expected<'_> {
        jwt::Expected {
            issuer: &self.config.issuer,
            audience: &self.config.audience,
            instance: &self.instance_id,
        }
    }

    pub(super) fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    pub(super) fn now_ms(&self) -> i64 {
        to_millis(self.now())
    }

    /// Runs `f` in one write transaction that can record audit events, and hands the events
    /// to subscribers after the commit. Every state change of the engine goes through here.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Tx<'_, '_>) -> Result<T>) -> Result<T> {
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

    /// [`Engine::write`] for a unit of work that records something and may still fail: a
    /// [`Settled::Refused`] commits what the transaction wrote (an audit row, a failure
    /// count, a revocation) and then returns its error.
    pub(super) fn write_settled<T>(
        &self,
        f: impl FnOnce(&Tx<'_, '_>) -> Result<Settled<T>>,
    ) -> Result<T> {
        match self.write(f)? {
            Settled::Done(value) => Ok(value),
            Settled::Refused(error) => Err(error),
        }
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
            sid: Some(SessionId(1)),
            akid: None,
            jti: jwt::new_jti()?,
            iat: now,
            exp: now + 60,
            ver: 0,
            nbf: None,
            iid: self.instance_id.clone(),
        };
        let token = jwt::issue(ring.signer(), &claims)?;
        let parsed = jwt::parse(&token)?;
        match jwt::verify(&parsed, &ring, &self.expected()) {
            Ok(back) if back == claims => Ok(()),
            _ => Err(Error::new(ErrorKind::Internal, "token signing self-test failed")),
        }
    }
}

/// How a unit of work run by [`Engine::write_settled`] ended. Both commit.
pub(super) enum Settled<T> {
    Done(T),
    /// Refused after recording the attempt: the transaction commits, the call fails.
    Refused(Error),
}

/// What taking a stored single-use ceremony (a passkey ceremony, a provider flow) found.
pub(super) enum Taken<R> {
    Live(R),
    /// Not finishable: why, and the account it was started for, if any.
    Refused(Error, Option<UserId>),
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
    pub(super) fn now(&self) -> i64 {
        self.now
    }

    /// Appends an event to the trail, chained to the previous row.
    pub(super) fn audit(&self, kind: AuditKind, record: Record<'_>) -> Result<()> {
        let event = chain::append(self.store, self.key, self.now, kind, record)?;
        self.events.borrow_mut().push(event);
        Ok(())
    }
}

/// `NotFound` unless a user with this id exists: the one existence check every feature
/// that takes a user id uses.
pub(super) fn require_user(conn: &Conn<'_>, id: UserId) -> Result<()> {
    if conn.user_exists(id)? { Ok(()) } else { Err(user_not_found()) }
}

pub(super) fn user_not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such user")
}
