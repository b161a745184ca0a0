//! The `api_keys` table, and the reads that validate an API key or a service token.

use std::collections::BTreeMap;

use super::sql::{Row, Sql, args, attributes_json, dialects, malformed, roles_json};

use super::users::{attributes_from, kind_from};
use super::{Conn, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::clock::from_millis;
use crate::values::credential::ApiKeyInfo;
use crate::values::error::Result;
use crate::values::ids::{ApiKeyId, OrgId, UserId};
use crate::values::user::AccountKind;

const INSERT: &str = "INSERT INTO api_keys \
     (user_id, name, selector, secret_hash, scopes, created_at, expires_at, organization_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id";
const BY_ID: &str = "SELECT id, user_id, name, selector, scopes, created_at, expires_at, \
     last_used_at, revoked_at, organization_id FROM api_keys WHERE id = ?1";
const OF_USER: &str = "SELECT id, user_id, name, selector, scopes, created_at, expires_at, \
     last_used_at, revoked_at, organization_id FROM api_keys WHERE user_id = ?1 ORDER BY id";
const REVOKE: &str = "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
const TOUCH: &str = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1";

/// Builds the validation read of a key: the key, its account, the account's roles (global
/// and, for a key of an organization, in it), whether the account is still a member of the
/// key's organization, and — for a service token — the token's own revocation and its
/// signing key's liveness.
macro_rules! key_state {
    ($d:ident, $where:literal) => {
        concat!(
            "SELECT k.id, k.user_id, k.secret_hash, k.scopes, k.expires_at, ",
            "k.revoked_at IS NOT NULL, k.last_used_at, u.username, u.kind, u.active, ",
            roles_json!($d, "u.id", "k.organization_id"),
            ", ",
            "EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?2), ",
            "EXISTS (SELECT 1 FROM signing_keys WHERE kid = ?3 AND retired_at IS NULL), ",
            "u.token_version, ",
            attributes_json!($d, "u.id"),
            ", k.organization_id, EXISTS (SELECT 1 FROM memberships m ",
            "WHERE m.org_id = k.organization_id AND m.user_id = k.user_id)",
            " FROM api_keys k JOIN users u ON u.id = k.user_id ",
            $where
        )
    };
}
const STATE_BY_SELECTOR: Sql = dialects!(key_state, "WHERE k.selector = ?1");
const STATE_BY_ID: Sql = dialects!(key_state, "WHERE k.id = ?1");

/// An API key with its account, as validation reads it.
#[derive(Debug, Clone)]
pub(crate) struct ApiKeyState {
    pub(crate) id: ApiKeyId,
    pub(crate) user: UserId,
    pub(crate) secret_hash: Vec<u8>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) expires_at: Option<i64>,
    pub(crate) revoked: bool,
    pub(crate) last_used_at: Option<i64>,
    pub(crate) username: String,
    pub(crate) kind: AccountKind,
    pub(crate) user_active: bool,
    pub(crate) roles: Vec<String>,
    /// For a service token: its `jti` was revoked.
    pub(crate) token_revoked: bool,
    /// For a service token: its signing key is live in the database.
    pub(crate) key_live: bool,
    pub(crate) token_version: i64,
    pub(crate) attributes: BTreeMap<String, String>,
    /// The organization the key belongs to, if any.
    pub(crate) organization: Option<OrgId>,
    /// The account is a member of that organization (`false` without one).
    pub(crate) member: bool,
}

/// A new key's row.
pub(crate) struct NewKeyRow<'a> {
    pub(crate) user: UserId,
    pub(crate) name: &'a str,
    pub(crate) selector: &'a str,
    pub(crate) hash: &'a SecretHash,
    pub(crate) scopes: Option<&'a [String]>,
    pub(crate) now: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) organization: Option<OrgId>,
}

/// Scopes are stored as a JSON array, like every list in a column; `NULL`: unscoped.
fn scopes_json(scopes: &[String]) -> Result<String> {
    serde_json::to_string(scopes).map_err(|_| malformed("key scopes"))
}

fn info_from_row(r: &Row<'_>) -> Result<ApiKeyInfo> {
    let selector: String = r.get(3)?;
    Ok(ApiKeyInfo {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        prefix: format!("{}{selector}", crate::crypto::secret::API_KEY_PREFIX),
        scopes: r.json(4, "key scopes")?,
        created_at: from_millis(r.get(5)?),
        expires_at: r.get::<Option<i64>>(6)?.map(from_millis),
        last_used_at: r.get::<Option<i64>>(7)?.map(from_millis),
        revoked_at: r.get::<Option<i64>>(8)?.map(from_millis),
        organization_id: r.get(9)?,
    })
}

fn state_from_row(r: &Row<'_>) -> Result<ApiKeyState> {
    Ok(ApiKeyState {
        id: r.get(0)?,
        user: r.get(1)?,
        secret_hash: r.get(2)?,
        scopes: r.json(3, "key scopes")?,
        expires_at: r.get(4)?,
        revoked: r.get(5)?,
        last_used_at: r.get(6)?,
        username: r.get(7)?,
        kind: kind_from(r, 8)?,
        user_active: r.get(9)?,
        roles: r.names(10, "role names")?,
        token_revoked: r.get(11)?,
        key_live: r.get(12)?,
        token_version: r.get(13)?,
        attributes: attributes_from(r, 14)?,
        organization: r.get(15)?,
        member: r.get(16)?,
    })
}

impl Conn<'_> {
    pub(crate) fn api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyInfo>> {
        self.row(BY_ID, args![id], info_from_row)
    }

    pub(crate) fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKeyInfo>> {
        self.rows(OF_USER, args![user], info_from_row)
    }

    /// The validation read of an API key presented by its selector.
    pub(crate) fn api_key_state(&self, selector: &str) -> Result<Option<ApiKeyState>> {
        let none: Option<&str> = None;
        self.row(STATE_BY_SELECTOR, args![selector, none, none], state_from_row)
    }

    /// The validation read of a service token minted from key `id`.
    pub(crate) fn service_token_state(
        &self,
        id: ApiKeyId,
        jti: &str,
        kid: &str,
    ) -> Result<Option<ApiKeyState>> {
        self.row(STATE_BY_ID, args![id, jti, kid], state_from_row)
    }
}

impl WriteTx<'_> {
    pub(crate) fn insert_api_key(&self, k: &NewKeyRow<'_>) -> Result<ApiKeyId> {
        let scopes = k.scopes.map(scopes_json).transpose()?;
        self.insert(
            INSERT,
            args![
                k.user,
                k.name,
                k.selector,
                &k.hash[..],
                scopes.as_deref(),
                k.now,
                k.expires_at,
                k.organization
            ],
        )
        .map(ApiKeyId)
    }

    /// `false` if it was already revoked (or does not exist).
    pub(crate) fn revoke_api_key(&self, id: ApiKeyId, now: i64) -> Result<bool> {
        Ok(self.revoke(REVOKE, args![id, now])? > 0)
    }

    pub(crate) fn touch_api_key(&self, id: ApiKeyId, now: i64) -> Result<()> {
        self.run(TOUCH, args![id, now])?;
        Ok(())
    }
}
