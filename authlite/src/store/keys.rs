//! The `signing_keys` table.

use super::sql::args;
use zeroize::Zeroizing;

use super::{Conn, WriteTx};
use crate::values::clock::from_millis;
use crate::values::error::Result;
use crate::values::key::SigningKeyInfo;

const LIVE_KEYS: &str =
    "SELECT kid, alg, secret, public_key FROM signing_keys WHERE retired_at IS NULL ORDER BY id";
const ALL_KEYS: &str = "SELECT kid, alg, created_at, retired_at FROM signing_keys ORDER BY id";
const INSERT_KEY: &str = "INSERT INTO signing_keys (kid, alg, secret, public_key, created_at) \
                          VALUES (?1, ?2, ?3, ?4, ?5)";
const RETIRE_KEY: &str =
    "UPDATE signing_keys SET retired_at = ?2 WHERE kid = ?1 AND retired_at IS NULL";
const KEY_RETIRED: &str = "SELECT retired_at IS NOT NULL FROM signing_keys WHERE kid = ?1";
const NEWEST_LIVE: &str =
    "SELECT kid FROM signing_keys WHERE retired_at IS NULL AND alg = ?1 ORDER BY id DESC LIMIT 1";

/// A stored signing key with its material.
pub(crate) struct KeyRow {
    pub(crate) kid: String,
    pub(crate) alg: String,
    /// HS256 key or Ed25519 seed.
    pub(crate) secret: Zeroizing<Vec<u8>>,
    /// Ed25519 public key.
    pub(crate) public: Option<Vec<u8>>,
}

impl Conn<'_> {
    /// Live keys, oldest first.
    pub(crate) fn live_keys(&self) -> Result<Vec<KeyRow>> {
        self.rows(LIVE_KEYS, args![], |r| {
            Ok(KeyRow {
                kid: r.get(0)?,
                alg: r.get(1)?,
                secret: Zeroizing::new(r.get(2)?),
                public: r.get(3)?,
            })
        })
    }

    pub(crate) fn signing_keys(&self) -> Result<Vec<SigningKeyInfo>> {
        self.rows(ALL_KEYS, args![], |r| {
            Ok(SigningKeyInfo {
                kid: r.get(0)?,
                alg: r.get(1)?,
                created_at: from_millis(r.get(2)?),
                signing: false,
                retired_at: r.get::<Option<i64>>(3)?.map(from_millis),
            })
        })
    }

    /// `None`: no such key; `Some(retired)`.
    pub(crate) fn key_retired(&self, kid: &str) -> Result<Option<bool>> {
        self.row(KEY_RETIRED, args![kid], |r| r.get(0))
    }

    /// The kid of the newest live key of algorithm `alg`.
    pub(crate) fn newest_live_key(&self, alg: &str) -> Result<Option<String>> {
        self.row(NEWEST_LIVE, args![alg], |r| r.get(0))
    }
}

impl WriteTx<'_> {
    pub(crate) fn insert_key(&self, key: &KeyRow, now: i64) -> Result<()> {
        self.run(
            INSERT_KEY,
            args![&key.kid, &key.alg, &key.secret[..], key.public.as_deref(), now],
        )?;
        Ok(())
    }

    pub(crate) fn retire_key(&self, kid: &str, now: i64) -> Result<()> {
        self.revoke(RETIRE_KEY, args![kid, now])?;
        Ok(())
    }
}
