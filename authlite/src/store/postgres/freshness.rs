//! `Config::postgres_staleness` (DESIGN §10): how an instance knows, within a bound, that
//! nobody has committed since it cached something.
//!
//! The argument, step by step:
//! 1. Every statement that changes a table of the schema, by authlite or by anyone with raw
//!    SQL, advances `change_counter.n` in its own transaction (a statement trigger, schema
//!    version 10), so a commit that changed anything makes a larger counter visible at the
//!    moment it becomes visible itself; the trigger also sends a `NOTIFY`, a wake-up only.
//! 2. A thread of this instance reads the counter on a connection of its own, at least every
//!    quarter of the bound and at once on a notification, noting on the monotonic clock when
//!    each read was *sent*. A read sent at `t` sees every commit acknowledged before `t`.
//! 3. A cached entry is served only while the last answered read was sent less than `bound`
//!    ago, and only if the counter it saw is the one the store's epoch already reflects (a
//!    different value bumps the epoch, which drops every entry read before). Entries carry
//!    the epoch taken before their read, so a read racing with the bump is already stale.
//! 4. A call that takes access away returns `bound` after its commit. By then, any read this
//!    instance sent before the commit is more than `bound` old and confirms nothing; so
//!    serving requires a read sent after the commit, which saw the counter move and dropped
//!    the entry. No instance accepts the revoked credential after the call returns.
//!
//! Faults only remove confirmations: a dead or killed listener connection, a lost
//! notification or a pooler that breaks `LISTEN` leave the last confirmation to lapse
//! within `bound`, after which `validate` reads the database until a poll answers again.
//! Only durations on one machine are used; clocks of different machines are never compared.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::client::{PgClient, Settings};

/// The channel the trigger notifies and the listener listens to.
const LISTEN: &str = "LISTEN authlite_changes";
const COUNTER: &str = "SELECT n FROM change_counter";
/// No counter value has been seen yet.
const UNSEEN: u64 = u64::MAX;

/// This instance's knowledge of the change counter, kept fresh by a thread of its own.
pub(super) struct Freshness {
    shared: Arc<Shared>,
}

struct Shared {
    bound: Duration,
    base: Instant,
    /// When the last answered poll was sent: nanoseconds after `base`, plus one (0: never).
    confirmed: AtomicU64,
    /// The counter that poll read.
    counter: AtomicU64,
    /// The counter the store's epoch reflects.
    seen: AtomicU64,
}

impl Freshness {
    /// Starts the listener thread; it stops when the `Freshness` is dropped.
    pub(super) fn start(settings: Settings, bound: Duration) -> std::io::Result<Freshness> {
        let shared = Arc::new(Shared {
            bound,
            base: Instant::now(),
            confirmed: AtomicU64::new(0),
            counter: AtomicU64::new(UNSEEN),
            seen: AtomicU64::new(UNSEEN),
        });
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("authlite-pg-freshness".into())
            .spawn(move || listen(&settings, &weak, bound))?;
        Ok(Freshness { shared })
    }

    /// The bound entries are served within.
    pub(super) fn bound(&self) -> Duration {
        self.shared.bound
    }

    /// Whether cached entries may be served now: a poll sent less than `bound` ago answered.
    /// Moves `epoch` on when the counter changed since the epoch last reflected it.
    pub(super) fn observe(&self, epoch: &AtomicU64) -> Option<u64> {
        let s = &self.shared;
        let confirmed = s.confirmed.load(Ordering::Acquire);
        let age = s.nanos().saturating_sub(confirmed.checked_sub(1)?);
        if u128::from(age) >= s.bound.as_nanos() {
            return None;
        }
        // Read after `confirmed` (stored after it): at least the counter that poll saw.
        let counter = s.counter.load(Ordering::Acquire);
        if s.seen.load(Ordering::Acquire) != counter {
            // The epoch moves before `seen` does, so no thread can take `seen` as current
            // while the epoch still admits entries read before the change.
            epoch.fetch_add(1, Ordering::SeqCst);
            s.seen.store(counter, Ordering::Release);
        }
        Some(epoch.load(Ordering::SeqCst))
    }

    /// This instance committed, leaving the counter at `counter`: the epoch was moved on by
    /// the commit itself, so the poll that reports this value need not move it again.
    pub(super) fn committed(&self, counter: u64) {
        self.shared.seen.store(counter, Ordering::Release);
    }
}

impl Shared {
    fn nanos(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1)
    }

    fn confirm(&self, sent_at: u64, counter: u64) {
        self.counter.store(counter, Ordering::Release);
        self.confirmed.store(sent_at + 1, Ordering::Release);
    }
}

/// The listener thread: (re)connects and `LISTEN`s, polls the counter at least every
/// quarter of `bound` and whenever notified, until its engine is gone.
fn listen(settings: &Settings, shared: &Weak<Shared>, bound: Duration) {
    let interval = (bound / 4).max(Duration::from_millis(2));
    let mut conn: Option<PgClient> = None;
    loop {
        let Some(state) = shared.upgrade() else { return };
        if conn.as_ref().is_none_or(PgClient::is_broken) {
            conn = PgClient::connect(settings).and_then(|mut c| c.batch(LISTEN).map(|()| c)).ok();
        }
        let Some(client) = conn.as_mut() else {
            drop(state);
            std::thread::sleep(interval);
            continue;
        };
        let sent_at = state.nanos();
        match read_counter(client) {
            Some(counter) => state.confirm(sent_at, counter),
            None => {
                conn = None;
                drop(state);
                std::thread::sleep(interval);
                continue;
            }
        }
        drop(state);
        // A notification or the interval, whichever first; a closed connection is
        // reconnected on the next round.
        let _ = client.wait_notified(interval);
    }
}

fn read_counter(client: &mut PgClient) -> Option<u64> {
    let rows = client.simple(COUNTER).ok()?;
    let text = rows.first()?.first()?.as_deref()?;
    text.parse::<i64>().ok().and_then(|n| u64::try_from(n).ok())
}
