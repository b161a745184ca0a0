//! The audit trail as a feature: queries, retention, subscriptions and verification, over
//! the chain in `chain.rs`.

use std::time::SystemTime;

use super::chain::{self, Callback};
use super::engine::{Engine, Record};
use crate::values::audit::{AuditEvent, AuditKind, AuditQuery, SubscriptionId};
use crate::values::clock::to_millis;
use crate::values::error::Result;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;

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
        self.subscribers.remove(id)
    }

    pub(crate) fn audit_events_dropped(&self) -> u64 {
        self.subscribers.dropped()
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

    /// On one snapshot, so a purge committing meanwhile cannot make the anchor, the purge
    /// record and the rows disagree.
    pub(crate) fn verify_audit_chain(&self) -> Result<u64> {
        self.store.snapshot(|conn| chain::verify(conn, &self.audit_key))
    }
}
