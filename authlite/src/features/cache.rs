//! The exact in-process validation cache.
//!
//! It holds what the database said about a token's session, user and revocation state,
//! tagged with the store epoch it was read at. The store bumps the epoch after every commit
//! of this process and whenever it observes that another process committed (the WAL-index
//! change counter moved: `store/watch.rs`), so an entry is only ever used while nothing at
//! all has been written since it was read: a hit answers exactly what the database would.
//! Time-based checks (expiry) are made on every call from the stored timestamps.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::store::TokenState;

const SHARDS: usize = 16;

/// `None`: the session no longer exists.
pub(crate) type Entry = Arc<Option<TokenState>>;

struct Shard {
    epoch: u64,
    map: HashMap<String, Entry>,
}

/// Sharded by `jti` so threads rarely meet on a lock; bounded by clearing a full shard.
pub(crate) struct ValidateCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl ValidateCache {
    /// A cache of about `capacity` entries; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = if capacity == 0 { 0 } else { SHARDS };
        ValidateCache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard { epoch: 0, map: HashMap::new() }))
                .collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, jti: &str) -> Option<&Mutex<Shard>> {
        let hash = jti.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
        self.shards.get(hash % SHARDS.max(1))
    }

    /// The entry for `jti` if it was read at `epoch`.
    pub(crate) fn get(&self, jti: &str, epoch: u64) -> Option<Entry> {
        let shard = self.shard(jti)?.lock();
        if shard.epoch != epoch {
            return None;
        }
        shard.map.get(jti).cloned()
    }

    /// Stores what was read at `epoch`. Entries of older epochs are dropped first.
    pub(crate) fn put(&self, jti: &str, epoch: u64, entry: Entry) {
        let Some(shard) = self.shard(jti) else { return };
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
        shard.map.insert(jti.to_owned(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Arc::new(None)
    }

    #[test]
    fn entries_live_only_within_their_epoch() {
        let cache = ValidateCache::new(100);
        cache.put("a", 1, entry());
        assert!(cache.get("a", 1).is_some());
        assert!(cache.get("a", 2).is_none());
        cache.put("a", 0, entry());
        assert!(cache.get("a", 0).is_none(), "older epoch refused");
    }

    #[test]
    fn bounded() {
        let cache = ValidateCache::new(32);
        for i in 0..10_000 {
            cache.put(&format!("jti-{i}"), 1, entry());
        }
        let total: usize = cache.shards.iter().map(|s| s.lock().map.len()).sum();
        assert!(total <= 32, "{total}");
    }

    #[test]
    fn disabled() {
        let cache = ValidateCache::new(0);
        cache.put("a", 1, entry());
        assert!(cache.get("a", 1).is_none());
    }
}
