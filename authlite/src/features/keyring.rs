//! The key ring: access-token signing keys, generated on first open and kept in the
//! database (or supplied in `Config`), each with a `kid`, so keys rotate: sign with the
//! newest, verify with any that is not retired. Also holds the master key every derived
//! key comes from.

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::binding::algorithm_name;
use crate::crypto::jwt::{self, Key, KeyRing};
use crate::crypto::{mac, random};
use crate::store::{Conn, KeyRow, Store, WriteTx};
use crate::values::clock::to_millis;
use crate::values::config::{Config, SigningAlgorithm};
use crate::values::error::{Error, ErrorKind, Result};

const HS256_KEY_BYTES: usize = 32;
const MASTER_KEY_BYTES: usize = 32;

/// The ring plus what is needed to rebuild it, and the master key other keys derive from.
pub(crate) struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    configured: Option<Arc<Key>>,
    algorithm: SigningAlgorithm,
    master: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    /// Loads the keys, generating the first one if the database has none for the
    /// configured algorithm (and no secret is supplied in the config).
    pub(crate) fn open(store: &Store, config: &Config, instance_id: &str) -> Result<Keys> {
        let configured = config.signing_secret.as_ref().map(|secret| {
            Arc::new(jwt::hs256_key(config_kid(instance_id, secret.expose()), secret.expose()))
        });
        let algorithm = config.signing_algorithm;
        let now = to_millis(config.clock.now());
        let stored_master = store.write(|tx| {
            if configured.is_none() && tx.newest_live_key(algorithm_name(algorithm))?.is_none() {
                insert_new(tx, algorithm, now)?;
            }
            tx.master_key(&Zeroizing::new(random::bytes::<MASTER_KEY_BYTES>()?)[..])
        })?;
        let master = match &config.master_secret {
            Some(secret) => Zeroizing::new(secret.expose().to_vec()),
            None => stored_master,
        };
        let epoch = store.epoch();
        let ring = store.read(|conn| build(conn, epoch, configured.as_ref(), algorithm))?;
        Ok(Keys { ring: RwLock::new(ring), configured, algorithm, master })
    }

    /// The key for one purpose, derived from the master key.
    pub(crate) fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        mac::derive(&self.master, label)
    }

    /// Whether `kid` names the key supplied in the config (never stored in the database).
    pub(crate) fn is_configured(&self, kid: &str) -> bool {
        self.configured.as_ref().is_some_and(|k| k.kid == kid)
    }

    /// The current ring.
    pub(crate) fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().clone()
    }

    /// The ring, reloaded through `conn` first if anything was committed since it was
    /// loaded (`epoch` is the store's current epoch; `None`: unknown, so reload). Used when
    /// a token names a kid this process does not know: another process may have rotated.
    pub(crate) fn ring_at(&self, conn: &Conn<'_>, epoch: Option<u64>) -> Result<Arc<KeyRing>> {
        let ring = self.ring();
        if Some(ring.epoch) == epoch {
            return Ok(ring);
        }
        // Unknown epoch: tag the ring so that it never counts as current.
        self.rebuild(conn, epoch.unwrap_or(u64::MAX))
    }

    /// Whether the signing key is supplied in the config (then the database's keys never
    /// sign).
    pub(super) fn configured(&self) -> bool {
        self.configured.is_some()
    }

    /// Stores a new key of the configured algorithm; returns its kid.
    pub(super) fn insert_new(&self, tx: &WriteTx<'_>, now: i64) -> Result<String> {
        insert_new(tx, self.algorithm, now)
    }

    /// The kid of the newest live database key of the configured algorithm.
    pub(super) fn newest(&self, conn: &Conn<'_>) -> Result<Option<String>> {
        conn.newest_live_key(algorithm_name(self.algorithm))
    }

    pub(super) fn reload(&self, store: &Store) -> Result<Arc<KeyRing>> {
        let epoch = store.epoch(); // before the read: a racing change leaves the ring stale
        store.read(|conn| self.rebuild(conn, epoch))
    }

    /// Loads the ring through `conn`, tags it with `epoch` and makes it current.
    fn rebuild(&self, conn: &Conn<'_>, epoch: u64) -> Result<Arc<KeyRing>> {
        let ring = build(conn, epoch, self.configured.as_ref(), self.algorithm)?;
        *self.ring.write() = ring.clone();
        Ok(ring)
    }

    /// The key to sign with now. Call inside the write transaction that issues the token:
    /// it reloads the ring if another process rotated or retired keys.
    pub(crate) fn signer(&self, store: &Store, tx: &WriteTx<'_>) -> Result<Arc<Key>> {
        let ring = self.ring();
        if self.configured.is_some() {
            return Ok(ring.signer.clone());
        }
        match self.newest(tx)? {
            Some(kid) if kid == ring.signer.kid => Ok(ring.signer.clone()),
            Some(_) => Ok(self.rebuild(tx, store.epoch())?.signer.clone()),
            None => Err(no_live_key()),
        }
    }
}

/// A ring from the live database keys plus the configured one, which signs when present;
/// otherwise the newest live key of the configured algorithm signs.
fn build(
    conn: &Conn<'_>,
    epoch: u64,
    configured: Option<&Arc<Key>>,
    algorithm: SigningAlgorithm,
) -> Result<Arc<KeyRing>> {
    let mut keys = conn.live_keys()?.into_iter().map(usable).collect::<Result<Vec<_>>>()?;
    let signer = match configured {
        Some(key) => {
            keys.push(key.clone());
            key.clone()
        }
        None => keys
            .iter()
            .rev()
            .find(|k| k.alg == jwt_alg(algorithm))
            .cloned()
            .ok_or_else(no_live_key)?,
    };
    Ok(Arc::new(KeyRing { epoch, keys, signer }))
}

fn usable(row: KeyRow) -> Result<Arc<Key>> {
    let key = match (row.alg.as_str(), row.public) {
        ("HS256", _) => jwt::hs256_key(row.kid, &row.secret),
        ("EdDSA", Some(public)) => jwt::ed25519_key(row.kid, &row.secret, public)?,
        _ => return Err(Error::new(ErrorKind::Storage, "unusable signing key in database")),
    };
    Ok(Arc::new(key))
}

fn no_live_key() -> Error {
    Error::new(ErrorKind::Storage, "no live signing key")
}

fn insert_new(tx: &WriteTx<'_>, algorithm: SigningAlgorithm, now: i64) -> Result<String> {
    let kid = random::token(12)?;
    let (secret, public) = match algorithm {
        SigningAlgorithm::Hs256 => {
            (Zeroizing::new(random::bytes::<HS256_KEY_BYTES>()?.to_vec()), None)
        }
        SigningAlgorithm::EdDsa => {
            let seed = Zeroizing::new(random::bytes::<32>()?);
            (Zeroizing::new(seed.to_vec()), Some(jwt::ed25519_public(&seed)))
        }
    };
    let row =
        KeyRow { kid: kid.clone(), alg: algorithm_name(algorithm).to_owned(), secret, public };
    tx.insert_key(&row, now)?;
    Ok(kid)
}

/// A stable kid for a configured secret that reveals nothing about it and differs between
/// databases sharing the secret.
fn config_kid(instance_id: &str, secret: &[u8]) -> String {
    let digest = Sha256::new_with_prefix(b"authlite config kid\0")
        .chain_update(instance_id.as_bytes())
        .chain_update(b"\0")
        .chain_update(secret)
        .finalize();
    format!("cfg-{}", random::b64(&digest[..12]))
}

fn jwt_alg(algorithm: SigningAlgorithm) -> jsonwebtoken::Algorithm {
    match algorithm {
        SigningAlgorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
        SigningAlgorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
    }
}
