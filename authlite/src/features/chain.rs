//! The audit chain: each row MACed over its content and the previous row's MAC (a key
//! derived from the master key), so that editing, deleting or inserting rows behind the
//! engine's back is detected; and the in-process subscribers events are published to.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use hmac::Mac;
use parking_lot::{Mutex, RwLock};
use subtle::ConstantTimeEq;

use crate::crypto::mac;
use crate::store::{AuditLink, Conn, WriteTx};
use crate::values::audit::{AuditEvent, AuditKind, SubscriptionId};
use crate::values::clock::{from_millis, to_millis};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{SessionId, UserId};
use crate::values::session::ClientInfo;

/// The label the audit MAC key is derived with from the master key.
pub(crate) const KEY_LABEL: &str = "authlite/audit-chain/v1";
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

    pub(super) fn add(&self, callback: Callback) -> SubscriptionId {
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

impl Subscribers {
    /// Ends a subscription; `false` if it was not active.
    pub(super) fn remove(&self, id: SubscriptionId) -> bool {
        let mut list = self.list.write();
        let before = list.len();
        list.retain(|(i, _)| *i != id.0);
        list.len() != before
    }

    /// Events that could not be queued because subscribers fell behind.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
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

/// What to record; `Default` for the fields an event does not have.
#[derive(Debug, Default, Clone)]
pub(super) struct Record<'a> {
    pub(super) user: Option<UserId>,
    pub(super) session: Option<SessionId>,
    pub(super) client: Option<&'a ClientInfo>,
    pub(super) detail: Option<String>,
}

impl<'a> Record<'a> {
    /// About a user (or about nobody in particular).
    pub(super) fn about(user: Option<UserId>) -> Self {
        Record { user, ..Record::default() }
    }

    /// About a user.
    pub(super) fn user(user: UserId) -> Self {
        Record::about(Some(user))
    }

    /// About one session of a user.
    pub(super) fn session(user: UserId, session: SessionId) -> Self {
        Record { session: Some(session), ..Record::user(user) }
    }

    /// With a short description.
    pub(super) fn detail(self, detail: impl Into<String>) -> Self {
        Record { detail: Some(detail.into()), ..self }
    }

    /// With the client's address and user agent.
    pub(super) fn client(self, client: &'a ClientInfo) -> Self {
        Record { client: Some(client), ..self }
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
    let prev = tx.chain_head()?.unwrap_or(AuditLink { id: 0, mac: GENESIS_MAC.to_vec() });
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
    tx.append_audit(&event, &chain_mac(key, &prev.mac, &event))?;
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

fn tampered(id: i64, why: &str) -> Error {
    Error::new(ErrorKind::Storage, format!("audit trail tampered at row {id}: {why}"))
}

/// Re-computes the whole chain through `conn`, which must be one snapshot so the anchor,
/// the purge record and the rows agree. `Ok(rows checked)`, or a `Storage` error naming the
/// first row that was altered, deleted (the row after the gap) or inserted.
pub(super) fn verify(conn: &Conn<'_>, key: &[u8; 32]) -> Result<u64> {
    let anchor = conn.audit_anchor()?;
    let named =
        conn.latest_purge_detail()?.and_then(|d| d.strip_prefix("through=")?.parse::<i64>().ok());
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
}
