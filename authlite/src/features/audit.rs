//! The audit trail's rules: each row chained to the previous one with an HMAC (keyed from
//! the master key) so that editing, deleting or inserting rows behind the engine's back is
//! detected; queries, retention, and in-process subscribers.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::SystemTime;

use hmac::Mac;
use parking_lot::{Mutex, RwLock};
use subtle::ConstantTimeEq;

use super::{Engine, Record};
use crate::crypto::mac;
use crate::store::{AuditLink, WriteTx};
use crate::values::audit::{AuditEvent, AuditKind, AuditQuery, SubscriptionId};
use crate::values::clock::{from_millis, to_millis};
use crate::values::error::{Error, ErrorKind, Result};

/// The label the audit MAC key is derived with from the master key.
pub(crate) const KEY_LABEL: &str = "authlite/audit-chain/v1";
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;
/// Batches of events waiting for a slow subscriber before new ones are dropped.
const SUBSCRIBER_QUEUE: usize = 1024;
const MAX_DETAIL_CHARS: usize = 256;
/// The link before the first row ever written.
const GENESIS_MAC: [u8; 32] = [0; 32];

/// A subscriber's callback.
pub(crate) type Callback = Arc<dyn Fn(&AuditEvent) + Send + Sync>;

/// In-process subscribers and the thread that calls them, so a slow or panicking
/// subscriber never blocks or breaks an operation.
#[derive(Default)]
pub(crate) struct Subscribers {
    list: Arc<RwLock<Vec<(u64, Callback)>>>,
    queue: Mutex<Option<SyncSender<Vec<AuditEvent>>>>,
    next_id: AtomicU64,
    dropped: AtomicU64,
}

impl Subscribers {
    pub(super) fn publish(&self, events: Vec<AuditEvent>) {
        if events.is_empty() || self.list.read().is_empty() {
            return;
        }
        match self.queue.lock().as_ref() {
            Some(queue) => {
                if let Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) =
                    queue.try_send(events)
                {
                    self.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
            }
            None => deliver(&self.list, &events),
        }
    }

    fn add(&self, callback: Callback) -> SubscriptionId {
        let mut queue = self.queue.lock();
        if queue.is_none() {
            let (tx, rx) = sync_channel::<Vec<AuditEvent>>(SUBSCRIBER_QUEUE);
            let list = self.list.clone();
            let spawned =
                std::thread::Builder::new().name("authlite-audit".into()).spawn(move || {
                    for batch in rx {
                        deliver(&list, &batch);
                    }
                });
            // Without a thread (the OS refused one) events are delivered inline instead.
            if spawned.is_ok() {
                *queue = Some(tx);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.list.write().push((id, callback));
        SubscriptionId(id)
    }
}

/// Calls every subscriber with every event, containing panics.
fn deliver(list: &RwLock<Vec<(u64, Callback)>>, events: &[AuditEvent]) {
    let subscribers = list.read().clone();
    for event in events {
        for (_, callback) in &subscribers {
            let _ = catch_unwind(AssertUnwindSafe(|| callback(event)));
        }
    }
}

/// Writes the next row of the chain inside `tx` and returns the event it recorded.
pub(super) fn append(
    tx: &WriteTx<'_>,
    key: &[u8; 32],
    now: i64,
    kind: AuditKind,
    record: Record<'_>,
) -> Result<AuditEvent> {
    let prev = tx.audit_head()?.unwrap_or(AuditLink { id: 0, mac: GENESIS_MAC.to_vec() });
    let event = AuditEvent {
        id: prev.id + 1,
        at: from_millis(now),
        kind,
        user_id: record.user,
        session_id: record.session,
        ip: record.client.and_then(|c| c.ip.clone()),
        user_agent: record.client.and_then(|c| c.user_agent.clone()),
        detail: record.detail.map(|d| d.chars().take(MAX_DETAIL_CHARS).collect()),
    };
    tx.insert_audit(&event, &chain_mac(key, &prev.mac, &event))?;
    Ok(event)
}

/// HMAC over the previous MAC and every field, each length-prefixed so no two different
/// rows encode alike.
fn chain_mac(key: &[u8; 32], prev_mac: &[u8], e: &AuditEvent) -> [u8; 32] {
    let mut mac = mac::hmac(key);
    let mut field = |bytes: Option<&[u8]>| match bytes {
        None => mac.update(&[0]),
        Some(b) => {
            mac.update(&[1]);
            mac.update(&(b.len() as u64).to_be_bytes());
            mac.update(b);
        }
    };
    field(Some(prev_mac));
    field(Some(&e.id.to_be_bytes()));
    field(Some(&to_millis(e.at).to_be_bytes()));
    field(Some(e.kind.as_str().as_bytes()));
    field(e.user_id.map(|id| id.0.to_be_bytes()).as_ref().map(|b| &b[..]));
    field(e.session_id.map(|id| id.0.to_be_bytes()).as_ref().map(|b| &b[..]));
    field(e.ip.as_deref().map(str::as_bytes));
    field(e.user_agent.as_deref().map(str::as_bytes));
    field(e.detail.as_deref().map(str::as_bytes));
    mac.finalize().into_bytes().into()
}

/// Audit trail and subscriptions.
impl Engine {
    pub(crate) fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        self.store.read(|conn| conn.audit_events(query, limit))
    }

    pub(crate) fn subscribe(&self, callback: Callback) -> SubscriptionId {
        self.subscribers.add(callback)
    }

    pub(crate) fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut list = self.subscribers.list.write();
        let before = list.len();
        list.retain(|(i, _)| *i != id.0);
        list.len() != before
    }

    pub(crate) fn audit_events_dropped(&self) -> u64 {
        self.subscribers.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn purge_audit(&self, before: SystemTime) -> Result<usize> {
        self.write(|tx| {
            let Some(through) = tx.audit_last_before(to_millis(before))? else { return Ok(0) };
            let deleted = tx.purge_audit_through(&through)?;
            let detail = format!("through={}", through.id);
            tx.audit(AuditKind::AuditPurged, Record::default().detail(detail))?;
            Ok(deleted)
        })
    }

    /// Re-computes the whole chain on one snapshot of the trail, so a purge committing
    /// meanwhile cannot make the anchor, the purge record and the rows disagree.
    pub(crate) fn verify_audit_chain(&self) -> Result<u64> {
        let key = &self.audit_key;
        self.store.snapshot(|conn| {
            let anchor = conn.audit_anchor()?;
            let named = conn
                .latest_purge_detail()?
                .and_then(|d| d.strip_prefix("through=")?.parse::<i64>().ok());
            if anchor.as_ref().map(|a| a.id) != named {
                return Err(tampered(
                    anchor.map_or(1, |a| a.id + 1),
                    "the retention anchor does not match the purge record",
                ));
            }
            let mut prev = anchor.unwrap_or(AuditLink { id: 0, mac: GENESIS_MAC.to_vec() });
            let mut checked = 0u64;
            conn.for_each_audit_row(|row| {
                if row.id != prev.id + 1 {
                    return Err(tampered(row.id, "rows before it are missing"));
                }
                let event = row.event.ok_or_else(|| tampered(row.id, "it is malformed"))?;
                let computed = chain_mac(key, &prev.mac, &event);
                if !bool::from(row.mac.ct_eq(&computed[..])) {
                    return Err(tampered(row.id, "its content or position was changed"));
                }
                prev = AuditLink { id: row.id, mac: row.mac };
                checked += 1;
                Ok(())
            })?;
            Ok(checked)
        })
    }
}

fn tampered(id: i64, why: &str) -> Error {
    Error::new(ErrorKind::Storage, format!("audit trail tampered at row {id}: {why}"))
}
