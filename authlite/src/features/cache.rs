//! The exact in-process caches of what the database said about a credential, one per
//! credential kind ([`Caches`], so a string of one kind can never answer for another), each
//! keyed by the whole credential string as presented and holding everything verifying it
//! established (an entry is only made for a string that verified, under a key that was
//! live), so a hit answers without a signature, checksum or secret check, and without
//! decoding anything. Each entry is tagged with the store epoch it was read at. The store
//! bumps the epoch after every commit of this process and whenever it observes that another
//! process committed (the WAL-index change counter moved: `store/watch.rs`), so an entry is
//! only ever used while nothing at all has been written since it was read: a hit answers
//! exactly what the database would. Retiring or rotating a signing key is a commit, so it
//! empties the caches too. Time-based checks (`exp`, `iat`, session and key expiry) are made
//! on every call from what is cached; a miss also checks them before reading, so an expired
//! credential costs no read.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::fast::RandomState;

use parking_lot::Mutex;

use crate::crypto::scoped::Scoped;
use crate::store::{ApiKeyState, ScopedState, TokenState};
use crate::values::principal::Claims;

const SHARDS: usize = 16;

/// What the database said about the credential behind an access token.
#[derive(Debug)]
pub(crate) enum TokenEntry {
    /// A session's access token (`None`: the session no longer exists).
    Session(Option<TokenState>),
    /// A service token: the API key behind it (`None`: no such key).
    Service(Option<ApiKeyState>),
}

/// An access or service token that verified (signature, issuer, audience, instance) and
/// what the database said about it.
#[derive(Debug)]
pub(crate) struct VerifiedToken {
    pub(crate) claims: Claims,
    /// Its signing key is one of `Config`'s (live whatever the database says).
    pub(crate) configured: bool,
    pub(crate) entry: TokenEntry,
}

/// A scoped token that verified for `scope`, and its subject's revocation state.
#[derive(Debug)]
pub(crate) struct VerifiedScoped {
    pub(crate) scope: String,
    pub(crate) found: Scoped,
    pub(crate) state: ScopedState,
}

/// One exact cache per credential kind, each keyed by the credential string.
pub(crate) struct Caches {
    /// Access and service tokens.
    pub(crate) tokens: EpochCache<Arc<VerifiedToken>>,
    /// API keys whose checksum passed (`None`: no such key, or not this secret).
    pub(crate) api_keys: EpochCache<Option<Arc<ApiKeyState>>>,
    /// Scoped tokens.
    pub(crate) scoped: EpochCache<Arc<VerifiedScoped>>,
}

impl Caches {
    /// Caches of about `capacity` entries each; 0 disables them.
    pub(crate) fn new(capacity: usize) -> Caches {
        Caches {
            tokens: EpochCache::new(capacity),
            api_keys: EpochCache::new(capacity),
            scoped: EpochCache::new(capacity),
        }
    }
}

struct Shard<V> {
    epoch: u64,
    map: HashMap<Box<str>, V, RandomState>,
}

/// Sharded by key so threads rarely meet on a lock; bounded by clearing a full shard.
/// `V` is cheap to clone (an `Arc`). Keys are hashed with foldhash, seeded per process
/// (only strings that verified are ever inserted, so an outsider cannot choose keys).
pub(crate) struct EpochCache<V> {
    shards: Vec<Mutex<Shard<V>>>,
    per_shard: usize,
    hasher: RandomState,
}

impl<V: Clone> EpochCache<V> {
    /// A cache of about `capacity` entries; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = if capacity == 0 { 0 } else { SHARDS };
        EpochCache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard { epoch: 0, map: HashMap::default() }))
                .collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: RandomState::default(),
        }
    }

    fn shard(&self, key: &str) -> Option<&Mutex<Shard<V>>> {
        // The top bits: the maps inside use the low ones of their own hash.
        let hash = self.hasher.hash_one(key) >> 60;
        self.shards.get(hash as usize % SHARDS.max(1))
    }

    /// The entry for `key` if it was read at `epoch`.
    pub(crate) fn get(&self, key: &str, epoch: u64) -> Option<V> {
        let shard = self.shard(key)?.lock();
        if shard.epoch != epoch {
            return None;
        }
        shard.map.get(key).cloned()
    }

    /// Stores what was read at `epoch`. Entries of older epochs are dropped first.
    pub(crate) fn put(&self, key: &str, epoch: u64, entry: V) {
        let Some(shard) = self.shard(key) else { return };
        let mut shard = shard.lock();
        if shard.epoch != epoch {
            if epoch < shard.epoch {
                return; // read before a newer write was seen: already stale
            }
            shard.map.clear();
            shard.epoch = epoch;
        }
        if shard.map.len() >= self.per_shard {
            shard.map.clear();
        }
        shard.map.insert(key.into(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Arc<Option<u32>> {
        Arc::new(None)
    }

    #[test]
    fn entries_live_only_within_their_epoch() {
        let cache = EpochCache::new(100);
        cache.put("a", 1, entry());
        assert!(cache.get("a", 1).is_some());
        assert!(cache.get("a", 2).is_none());
        cache.put("a", 0, entry());
        assert!(cache.get("a", 0).is_none(), "older epoch refused");
    }

    #[test]
    fn bounded() {
        let cache = EpochCache::new(32);
        for i in 0..10_000 {
            cache.put(&format!("jti-{i}"), 1, entry());
        }
        let total: usize = cache.shards.iter().map(|s| s.lock().map.len()).sum();
        assert!(total <= 32, "{total}");
    }

    #[test]
    fn disabled() {
        let cache = EpochCache::new(0);
        cache.put("a", 1, entry());
        assert!(cache.get("a", 1).is_none());
    }
}
