//! Access-token signing keys: generated on first open and kept in the database (or supplied
//! in `Config`), each with a `kid`, so keys rotate: sign with the newest, verify with any
//! that is not retired.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use parking_lot::RwLock;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::audit::{AuditKind, Record};
use crate::clock::{from_millis, to_millis};
use crate::config::{Config, SigningAlgorithm};
use crate::error::{Error, ErrorKind, Result};
use crate::store::Store;
use crate::{Auth, random};

const LIVE_KEYS: &str =
    "SELECT kid, alg, secret, public_key FROM signing_keys WHERE retired_at IS NULL ORDER BY id";
const ALL_KEYS: &str = "SELECT kid, alg, created_at, retired_at FROM signing_keys ORDER BY id";
const INSERT_KEY: &str = "INSERT INTO signing_keys (kid, alg, secret, public_key, created_at) \
                          VALUES (?1, ?2, ?3, ?4, ?5)";
const RETIRE_KEY: &str =
    "UPDATE signing_keys SET retired_at = ?2 WHERE kid = ?1 AND retired_at IS NULL";
const KEY_EXISTS: &str = "SELECT retired_at IS NOT NULL FROM signing_keys WHERE kid = ?1";
const NEWEST_LIVE: &str =
    "SELECT kid FROM signing_keys WHERE retired_at IS NULL AND alg = ?1 ORDER BY id DESC LIMIT 1";
const HS256_KEY_BYTES: usize = 32;
const READ_MASTER: &str = "SELECT value FROM meta WHERE key = 'master_key'";
const CREATE_MASTER: &str = "INSERT OR IGNORE INTO meta (key, value) VALUES ('master_key', ?1)";

/// One usable key.
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// Ed25519 public key, for JWKS export.
    public: Option<Vec<u8>>,
}

/// The keys this process can use, as of one store epoch.
pub(crate) struct KeyRing {
    epoch: u64,
    keys: Vec<Arc<Key>>,
    signer: Arc<Key>,
}

impl KeyRing {
    pub(crate) fn find(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub(crate) fn signer(&self) -> &Key {
        &self.signer
    }
}

/// Public description of a signing key (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigningKeyInfo {
    /// The key id, as in the `kid` header of tokens it signed.
    pub kid: String,
    /// `"HS256"` or `"EdDSA"`.
    pub alg: String,
    /// When the key was created.
    pub created_at: SystemTime,
    /// When it was retired; tokens it signed stop validating then.
    pub retired_at: Option<SystemTime>,
}

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
    pub(crate) fn open(store: &Store, config: &Config) -> Result<Keys> {
        let configured = config
            .signing_secret
            .as_ref()
            .map(|secret| Arc::new(hs256_key(config_kid(secret.expose()), secret.expose())));
        let algorithm = config.signing_algorithm;
        let now = to_millis(config.clock.now());
        let stored_master = store.write(|tx| {
            if configured.is_none() && newest_live(tx, algorithm)?.is_none() {
                insert_new(tx, algorithm, now)?;
            }
            let fresh = Zeroizing::new(random::bytes::<32>()?);
            tx.execute(CREATE_MASTER, [&fresh[..]])?;
            Ok(Zeroizing::new(tx.query_row(READ_MASTER, [], |r| r.get::<_, Vec<u8>>(0))?))
        })?;
        let master = match &config.master_secret {
            Some(secret) => Zeroizing::new(secret.expose().to_vec()),
            None => stored_master,
        };
        let epoch = store.epoch();
        let ring = store.read(|conn| build(conn, epoch, configured.as_ref(), algorithm))?;
        Ok(Keys { ring: RwLock::new(ring), configured, algorithm, master })
    }

    /// A key for one purpose, derived from the master key: HMAC-SHA256(master, label).
    /// Distinct labels give independent keys.
    pub(crate) fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <hmac::Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.master)
            .expect("HMAC accepts keys of any length");
        hmac::Mac::update(&mut mac, label.as_bytes());
        Zeroizing::new(hmac::Mac::finalize(mac).into_bytes().into())
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
    pub(crate) fn ring_at(&self, conn: &Connection, epoch: Option<u64>) -> Result<Arc<KeyRing>> {
        let ring = self.ring();
        if Some(ring.epoch) == epoch {
            return Ok(ring);
        }
        // Unknown epoch: tag the ring so that it never counts as current.
        self.rebuild(conn, epoch.unwrap_or(u64::MAX))
    }

    fn reload(&self, store: &Store) -> Result<Arc<KeyRing>> {
        let epoch = store.epoch(); // before the read: a racing change leaves the ring stale
        store.read(|conn| self.rebuild(conn, epoch))
    }

    /// Loads the ring through `conn`, tags it with `epoch` and makes it current.
    fn rebuild(&self, conn: &Connection, epoch: u64) -> Result<Arc<KeyRing>> {
        let ring = build(conn, epoch, self.configured.as_ref(), self.algorithm)?;
        *self.ring.write() = ring.clone();
        Ok(ring)
    }

    /// The key to sign with now. Call inside the write transaction that issues the token:
    /// it reloads the ring if another process rotated or retired keys.
    pub(crate) fn signer(&self, store: &Store, conn: &Connection) -> Result<Arc<Key>> {
        let ring = self.ring();
        if self.configured.is_some() {
            return Ok(ring.signer.clone());
        }
        match newest_live(conn, self.algorithm)? {
            Some(kid) if kid == ring.signer.kid => Ok(ring.signer.clone()),
            Some(_) => Ok(self.rebuild(conn, store.epoch())?.signer.clone()),
            None => Err(Error::new(ErrorKind::Storage, "no live signing key")),
        }
    }
}

/// A ring from the live database keys plus the configured one, which signs when present;
/// otherwise the newest live key of the configured algorithm signs.
fn build(
    conn: &Connection,
    epoch: u64,
    configured: Option<&Arc<Key>>,
    algorithm: SigningAlgorithm,
) -> Result<Arc<KeyRing>> {
    let mut keys = load(conn)?;
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
            .ok_or_else(|| Error::new(ErrorKind::Storage, "no live signing key"))?,
    };
    Ok(Arc::new(KeyRing { epoch, keys, signer }))
}

fn newest_live(conn: &Connection, algorithm: SigningAlgorithm) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(NEWEST_LIVE)?
        .query_row([alg_name(algorithm)], |r| r.get(0))
        .optional()?)
}

fn load(conn: &Connection) -> Result<Vec<Arc<Key>>> {
    let mut stmt = conn.prepare_cached(LIVE_KEYS)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            Zeroizing::new(r.get::<_, Vec<u8>>(2)?),
            r.get::<_, Option<Vec<u8>>>(3)?,
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (kid, alg, secret, public) = row?;
        let key = match (alg.as_str(), public) {
            ("HS256", _) => hs256_key(kid, &secret),
            ("EdDSA", Some(public)) => ed25519_key(kid, &secret, public)?,
            _ => {
                return Err(Error::new(ErrorKind::Storage, "unusable signing key in database"));
            }
        };
        keys.push(Arc::new(key));
    }
    Ok(keys)
}

fn insert_new(conn: &Connection, algorithm: SigningAlgorithm, now: i64) -> Result<String> {
    let kid = random::token(12)?;
    let (secret, public): (Zeroizing<Vec<u8>>, Option<Vec<u8>>) = match algorithm {
        SigningAlgorithm::Hs256 => {
            (Zeroizing::new(random::bytes::<HS256_KEY_BYTES>()?.to_vec()), None)
        }
        SigningAlgorithm::EdDsa => {
            let seed = Zeroizing::new(random::bytes::<32>()?);
            let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
            (Zeroizing::new(seed.to_vec()), Some(signing.verifying_key().to_bytes().to_vec()))
        }
    };
    conn.prepare_cached(INSERT_KEY)?.execute(params![
        kid,
        alg_name(algorithm),
        &secret[..],
        public,
        now
    ])?;
    Ok(kid)
}

fn hs256_key(kid: String, secret: &[u8]) -> Key {
    Key {
        kid,
        alg: Algorithm::HS256,
        encoding: EncodingKey::from_secret(secret),
        decoding: DecodingKey::from_secret(secret),
        public: None,
    }
}

fn ed25519_key(kid: String, seed: &[u8], public: Vec<u8>) -> Result<Key> {
    let unusable = || Error::new(ErrorKind::Storage, "unusable Ed25519 key in database");
    let seed: &[u8; 32] = seed.try_into().map_err(|_| unusable())?;
    let signing = ed25519_dalek::SigningKey::from_bytes(seed);
    if signing.verifying_key().to_bytes()[..] != public[..] {
        return Err(unusable());
    }
    let der = signing.to_pkcs8_der().map_err(|_| unusable())?;
    Ok(Key {
        kid,
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
        decoding: DecodingKey::from_ed_der(&public),
        public: Some(public),
    })
}

/// A stable kid for a configured secret that reveals nothing about it.
fn config_kid(secret: &[u8]) -> String {
    let digest = Sha256::new_with_prefix(b"authlite config kid\0").chain_update(secret).finalize();
    format!("cfg-{}", random::b64(&digest[..12]))
}

fn alg_name(algorithm: SigningAlgorithm) -> &'static str {
    match algorithm {
        SigningAlgorithm::Hs256 => "HS256",
        SigningAlgorithm::EdDsa => "EdDSA",
    }
}

fn jwt_alg(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::Hs256 => Algorithm::HS256,
        SigningAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

/// Key management.
impl Auth {
    /// Creates a new signing key of the configured algorithm and signs with it from now on.
    /// Tokens signed by older keys keep validating until those keys are retired.
    /// Returns the new key's `kid`. Fails with `Conflict` when the signing key is supplied in
    /// the config (rotate it there).
    pub fn rotate_signing_key(&self) -> Result<String> {
        if self.inner.keys.configured.is_some() {
            return Err(Error::new(
                ErrorKind::Conflict,
                "the signing key is supplied in Config; rotate it there",
            ));
        }
        let algorithm = self.inner.keys.algorithm;
        let kid = self.write(|tx| {
            let kid = insert_new(tx, algorithm, tx.now())?;
            tx.audit(AuditKind::KeyRotated, Record::default().detail(format!("kid={kid}")))?;
            Ok(kid)
        })?;
        self.inner.keys.reload(&self.inner.store)?;
        Ok(kid)
    }

    /// Retires a key: every token it signed stops validating on the next `validate`, here
    /// and in every other process. The newest live key cannot be retired (rotate first).
    pub fn retire_signing_key(&self, kid: &str) -> Result<()> {
        let algorithm = self.inner.keys.algorithm;
        self.write(|tx| {
            let retired: Option<bool> = tx.query_row(KEY_EXISTS, [kid], |r| r.get(0)).optional()?;
            match retired {
                None => return Err(Error::new(ErrorKind::NotFound, "no such signing key")),
                Some(true) => return Ok(()),
                Some(false) => {}
            }
            let newest = newest_live(tx, algorithm)?;
            if newest.as_deref() == Some(kid) && self.inner.keys.configured.is_none() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "cannot retire the current signing key; rotate first",
                ));
            }
            tx.execute(RETIRE_KEY, params![kid, tx.now()])?;
            tx.audit(AuditKind::KeyRetired, Record::default().detail(format!("kid={kid}")))
        })?;
        self.inner.keys.reload(&self.inner.store)?;
        Ok(())
    }

    /// Every signing key in the database, oldest first, without key material.
    pub fn signing_keys(&self) -> Result<Vec<SigningKeyInfo>> {
        self.inner.store.read(|conn| {
            let mut stmt = conn.prepare_cached(ALL_KEYS)?;
            let rows = stmt.query_map([], |r| {
                Ok(SigningKeyInfo {
                    kid: r.get(0)?,
                    alg: r.get(1)?,
                    created_at: from_millis(r.get(2)?),
                    retired_at: r.get::<_, Option<i64>>(3)?.map(from_millis),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The public keys of live EdDSA signing keys as a JWKS document (RFC 7517), so other
    /// services can verify access tokens without the database. HS256 keys are secret and
    /// never exported: with the default algorithm the key set is empty.
    pub fn jwks(&self) -> Result<String> {
        let ring = self.inner.keys.reload(&self.inner.store)?;
        let keys: Vec<serde_json::Value> = ring
            .keys
            .iter()
            .filter_map(|k| {
                k.public.as_ref().map(|public| {
                    serde_json::json!({
                        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                        "kid": k.kid, "x": random::b64(public),
                    })
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }).to_string())
    }
}
