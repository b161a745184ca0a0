//! The exact in-process caches of what the database said about a credential, one per
//! credential kind ([`Caches`]: access tokens by jti, API keys by selector, scoped tokens
//! by scope and subject, so a string of one kind can never answer for another), each entry
//! tagged with the store epoch it was read at. The store bumps the epoch after every commit
//! of this process and whenever it observes that another process committed (the WAL-index
//! change counter moved: `store/watch.rs`), so an entry is only ever used while nothing at
//! all has been written since it was read: a hit answers exactly what the database would.
//! Time-based checks (expiry) are made on every call from the stored timestamps.

use std::collections::HashMap;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::store::{ApiKeyState, ScopedState, TokenState};

const SHARDS: usize = 16;

/// What the database said about the credential behind an access token.
#[derive(Debug)]
pub(crate) enum TokenEntry {
    /// A session's access token (`None`: the session no longer exists).
    Session(Option<TokenState>),
    /// A service token: the API key behind it (`None`: no such key).
    Service(Option<ApiKeyState>),
}

/// One exact cache per credential kind.
pub(crate) struct Caches {
    /// Access and service tokens, by jti.
    pub(crate) tokens: EpochCache<Arc<TokenEntry>>,
    /// API keys, by selector (`None`: no such key).
    pub(crate) api_keys: EpochCache<Arc<Option<ApiKeyState>>>,
    /// Scoped tokens' revocation state, by scope and subject.
    pub(crate) scoped: EpochCache<Arc<ScopedState>>,
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
    map: HashMap<String, V>,
}

/// Sharded by key so threads rarely meet on a lock; bounded by clearing a full shard.
/// `V` is cheap to clone (an `Arc`).
pub(crate) struct EpochCache<V> {
    shards: Vec<Mutex<Shard<V>>>,
    per_shard: usize,
}

impl<V: Clone> EpochCache<V> {
    /// A cache of about `capacity` entries; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = if capacity == 0 { 0 } else { SHARDS };
        EpochCache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard { epoch: 0, map: HashMap::new() }))
                .collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, key: &str) -> Option<&Mutex<Shard<V>>> {
        let hash = key.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
        self.shards.get(hash % SHARDS.max(1))
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
        shard.map.insert(key.to_owned(), entry);
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
