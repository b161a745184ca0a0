//! Machine credentials: API keys (for people and service accounts) and the short-lived
//! service tokens minted from them. Keys use the crate's one opaque-secret format with a
//! fixed prefix and a checksum (`alk_<selector>.<secret>.<crc32>`), so a mistyped key is
//! refused before any read and a leaked one is easy to spot.

use std::sync::Arc;
use std::time::Duration;

use super::engine::{Engine, Record, require_user};
use super::liveness::check_key_live;
use super::sessions::Subject;
use super::validate::key_principal;
use crate::crypto::secret::{self, API_KEY_PREFIX};
use crate::store::{ApiKeyState, NewKeyRow};
use crate::values::audit::AuditKind;
use crate::values::clock::{from_millis, millis};
use crate::values::credential::{ApiKeyInfo, ApiKeySpec, NewApiKey, ServiceToken};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{ApiKeyId, UserId};
use crate::values::names;
use crate::values::principal::Principal;

const MALFORMED: &str = "malformed API key";
/// `last_used_at` is written at most this often per key (validation otherwise never writes).
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(3600);
const MAX_SCOPES: usize = 64;
const MAX_KEY_LIFETIME: Duration = Duration::from_secs(10 * 366 * 86_400);

fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such API key")
}

fn check_spec(spec: &ApiKeySpec) -> Result<()> {
    names::label("key name", &spec.name)?;
    if let Some(scopes) = &spec.scopes {
        if scopes.len() > MAX_SCOPES {
            return Err(Error::invalid_input("a key has at most 64 scopes"));
        }
        scopes.iter().try_for_each(|s| names::key_scope(s))?;
    }
    match spec.expires_in {
        Some(d) if d.is_zero() || d > MAX_KEY_LIFETIME => {
            Err(Error::invalid_input("key lifetime must be within 1 ms..=10 years"))
        }
        _ => Ok(()),
    }
}

/// API keys and service tokens.
impl Engine {
    pub(crate) fn create_api_key(&self, user: UserId, spec: ApiKeySpec) -> Result<NewApiKey> {
        check_spec(&spec)?;
        let issued = secret::issue_checked(API_KEY_PREFIX)?;
        let info = self.write(|tx| {
            require_user(tx, user)?;
            if let Some(org) = spec.organization {
                super::organizations::require_member(tx, org, user)?;
            }
            let now = tx.now();
            let row = NewKeyRow {
                user,
                name: &spec.name,
                selector: &issued.selector,
                hash: &issued.hash,
                scopes: spec.scopes.as_deref(),
                now,
                expires_at: spec.expires_in.map(|d| now.saturating_add(millis(d))),
                organization: spec.organization,
            };
            let id = tx.insert_api_key(&row)?;
            let detail = format!("key={id} name={}", spec.name);
            tx.audit(AuditKind::ApiKeyCreated, Record::user(user).detail(detail))?;
            tx.api_key(id)?.ok_or_else(not_found)
        })?;
        Ok(NewApiKey { secret: issued.text, info })
    }

    pub(crate) fn api_keys(&self, user: UserId) -> Result<Vec<ApiKeyInfo>> {
        self.store.read(|conn| conn.api_keys_of(user))
    }

    pub(crate) fn revoke_api_key(&self, id: ApiKeyId) -> Result<()> {
        self.write(|tx| {
            let key = tx.api_key(id)?.ok_or_else(not_found)?;
            if tx.revoke_api_key(id, tx.now())? {
                let record = Record::user(key.user_id).detail(format!("key={id}"));
                tx.audit(AuditKind::ApiKeyRevoked, record)?;
            }
            Ok(())
        })
    }

    pub(crate) fn validate_api_key(&self, key: &str) -> Result<Principal> {
        let state = self.live_key(key)?;
        self.note_use(&state)?;
        Ok(key_principal(&state, None))
    }

    /// The state of a presented key that passed every check: checksum and shape (no read),
    /// the secret, then the liveness rule (account active, not revoked, not expired). A
    /// string already checked since the last commit skips the first two.
    fn live_key(&self, key: &str) -> Result<Arc<ApiKeyState>> {
        let found = match self.hit(&self.caches.api_keys, key)? {
            Some(found) => found,
            None => {
                let presented = secret::parse_checked(key, API_KEY_PREFIX, MALFORMED)?;
                self.fill(&self.caches.api_keys, key, |conn| {
                    let state = conn.api_key_state(presented.selector)?;
                    Ok(state.filter(|s| presented.matches(&s.secret_hash)).map(Arc::new))
                })?
            }
        };
        let state = found.ok_or_else(|| Error::new(ErrorKind::InvalidToken, "unknown API key"))?;
        check_key_live(&state, self.now_ms())?;
        Ok(state)
    }

    /// Records that a key was used, at most once per `LAST_USED_RESOLUTION`.
    fn note_use(&self, state: &ApiKeyState) -> Result<()> {
        let now = self.now_ms();
        let stale = state.last_used_at.is_none_or(|at| now - at >= millis(LAST_USED_RESOLUTION));
        if stale {
            self.store.write(|tx| tx.touch_api_key(state.id, now))?;
        }
        Ok(())
    }

    pub(crate) fn issue_service_token(&self, key: &str) -> Result<ServiceToken> {
        let state = self.live_key(key)?;
        let ttl = self.config.service_token_ttl;
        let (access_token, claims) = self.write(|tx| {
            let subject = Subject {
                user: state.user,
                session: None,
                api_key: Some(state.id),
                token_version: state.token_version,
            };
            let cap = state.expires_at.unwrap_or(i64::MAX);
            let minted = self.mint(tx, subject, ttl, cap)?;
            tx.touch_api_key(state.id, tx.now())?;
            let record = Record::user(state.user).detail(format!("key={}", state.id));
            tx.audit(AuditKind::ServiceTokenIssued, record)?;
            Ok(minted)
        })?;
        Ok(ServiceToken { access_token, expires_at: from_millis(claims.exp.saturating_mul(1000)) })
    }
}
