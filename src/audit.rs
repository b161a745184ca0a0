//! The audit trail: one row per security event, written in the same transaction as the
//! change it records, chained with HMACs so that editing, deleting or inserting rows behind
//! the engine's back is detected; queries, retention, and in-process subscribers.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::SystemTime;

use hmac::{Hmac, KeyInit, Mac};
use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::Auth;
use crate::clock::{from_millis, to_millis};
use crate::error::{Error, ErrorKind, Result};
use crate::sessions::{ClientInfo, SessionId};
use crate::users::UserId;

const LAST_ROW: &str = "SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1";
const INSERT: &str = "INSERT INTO audit_log \
     (id, at, kind, user_id, session_id, ip, user_agent, detail, mac) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const QUERY: &str = "SELECT id, at, kind, user_id, session_id, ip, user_agent, detail \
     FROM audit_log \
     WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR kind = ?2) \
     AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4) AND (?5 IS NULL OR id < ?5) \
     ORDER BY id DESC LIMIT ?6";
const ALL_ROWS: &str = "SELECT id, at, kind, user_id, session_id, ip, user_agent, detail, mac \
     FROM audit_log ORDER BY id";
const LAST_PURGED_BEFORE: &str = "SELECT max(id) FROM audit_log WHERE at < ?1";
const MAC_OF: &str = "SELECT mac FROM audit_log WHERE id = ?1";
const PURGE: &str = "DELETE FROM audit_log WHERE id <= ?1";
const READ_ANCHOR: &str = "SELECT value FROM meta WHERE key = 'audit_anchor'";
const WRITE_ANCHOR: &str = "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_anchor', ?1)";
const LATEST_PURGE_EVENT: &str =
    "SELECT detail FROM audit_log WHERE kind = 'audit.purged' ORDER BY id DESC LIMIT 1";

/// The label the audit MAC key is derived with from the master key.
pub(crate) const KEY_LABEL: &str = "authlite/audit-chain/v1";
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;
/// Batches of events waiting for a slow subscriber before new ones are dropped.
const SUBSCRIBER_QUEUE: usize = 1024;
const MAX_DETAIL_CHARS: usize = 256;

macro_rules! audit_kinds {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// What happened. The text form (`as_str`) is what the database stores.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AuditKind {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AuditKind] = &[$(AuditKind::$variant,)*];

            /// The stored name, e.g. `"login.failed"`.
            pub fn as_str(self) -> &'static str {
                match self { $(AuditKind::$variant => $name,)* }
            }

            /// The kind with this stored name.
            pub fn from_name(name: &str) -> Option<AuditKind> {
                match name { $($name => Some(AuditKind::$variant),)* _ => None }
            }
        }
    };
}

audit_kinds! {
    UserRegistered => "user.registered", "A user registered.";
    UserImported => "user.imported", "A user was imported with an existing password hash.";
    LoginSucceeded => "login.succeeded", "A login succeeded.";
    LoginFailed => "login.failed", "A login failed (unknown user or wrong password).";
    LoginLocked => "login.locked", "A login was refused because the account is locked.";
    LoginRateLimited => "login.rate_limited", "A login was refused: too many failures from the address.";
    AccountLocked => "account.locked", "Too many failures locked the account.";
    AccountUnlocked => "account.unlocked", "An administrator cleared a lockout.";
    Logout => "logout", "A session was ended by its user.";
    TokenRefreshed => "token.refreshed", "A refresh token was redeemed (rotated).";
    RefreshReused => "token.reused", "A spent refresh token was presented; its session was revoked.";
    TokenRevoked => "token.revoked", "One access token was revoked.";
    SessionRevoked => "session.revoked", "A session was revoked.";
    SessionsRevoked => "sessions.revoked", "All sessions of a user were revoked.";
    PasswordChanged => "password.changed", "A user changed their password.";
    PasswordSet => "password.set", "A password was set without the old one.";
    PasswordRehashed => "password.rehashed", "A password hash was upgraded to current parameters.";
    EmailChanged => "user.email_changed", "A user's email was changed.";
    UserDeactivated => "user.deactivated", "A user was deactivated.";
    UserActivated => "user.activated", "A user was re-activated.";
    UserDeleted => "user.deleted", "A user was deleted.";
    RoleCreated => "role.created", "A role was created.";
    RoleDeleted => "role.deleted", "A role was deleted.";
    PermissionGranted => "permission.granted", "A role was granted a permission.";
    PermissionRevoked => "permission.revoked", "A permission was taken from a role.";
    RoleAssigned => "role.assigned", "A role was given to a user.";
    RoleUnassigned => "role.unassigned", "A role was taken from a user.";
    AccessDenied => "access.denied", "An authorization check failed.";
    KeyRotated => "key.rotated", "A new signing key was created.";
    KeyRetired => "key.retired", "A signing key was retired.";
    AuditPurged => "audit.purged", "Old audit rows were deleted by the retention purge.";
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded security event. Never contains a password, token, key or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// Position in the trail (consecutive).
    pub id: i64,
    /// When it happened (the engine's clock).
    pub at: SystemTime,
    /// What happened.
    pub kind: AuditKind,
    /// The user concerned, if any.
    pub user_id: Option<UserId>,
    /// The session concerned, if any.
    pub session_id: Option<SessionId>,
    /// The client address, when the operation had one.
    pub ip: Option<String>,
    /// The client user agent, when the operation had one.
    pub user_agent: Option<String>,
    /// A short description, e.g. `role=clerk` or `reason=logout`.
    pub detail: Option<String>,
}

impl AuditEvent {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditEvent> {
        let kind: String = r.get(2)?;
        Ok(AuditEvent {
            id: r.get(0)?,
            at: from_millis(r.get(1)?),
            kind: AuditKind::from_name(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    "unknown audit kind".into(),
                )
            })?,
            user_id: r.get(3)?,
            session_id: r.get(4)?,
            ip: r.get(5)?,
            user_agent: r.get(6)?,
            detail: r.get(7)?,
        })
    }
}

/// Filters for [`Auth::audit`]. `Default` gives the newest 100 events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events about this user.
    pub user_id: Option<UserId>,
    /// Only events of this kind.
    pub kind: Option<AuditKind>,
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// Only events before this time.
    pub until: Option<SystemTime>,
    /// Only events older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// How many, newest first; default 100, at most 10,000.
    pub limit: Option<u32>,
}

/// Identifies a subscription, to end it with [`Auth::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

type Callback = Arc<dyn Fn(&AuditEvent) + Send + Sync>;

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
    fn publish(&self, events: Vec<AuditEvent>) {
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

/// A write transaction that can record audit events; they are published to subscribers
/// only once it has committed.
pub(crate) struct Tx<'t> {
    tx: &'t Transaction<'t>,
    now: i64,
    key: &'t [u8; 32],
    events: RefCell<Vec<AuditEvent>>,
}

impl Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.tx
    }
}

/// What to record; `Default` for the fields an event does not have.
#[derive(Debug, Default, Clone)]
pub(crate) struct Record<'a> {
    pub(crate) user: Option<UserId>,
    pub(crate) session: Option<SessionId>,
    pub(crate) client: Option<&'a ClientInfo>,
    pub(crate) detail: Option<String>,
}

impl<'a> Record<'a> {
    /// About a user (or about nobody in particular).
    pub(crate) fn about(user: Option<UserId>) -> Self {
        Record { user, ..Record::default() }
    }

    /// About a user.
    pub(crate) fn user(user: UserId) -> Self {
        Record::about(Some(user))
    }

    /// About one session of a user.
    pub(crate) fn session(user: UserId, session: SessionId) -> Self {
        Record { session: Some(session), ..Record::user(user) }
    }

    /// With a short description.
    pub(crate) fn detail(self, detail: impl Into<String>) -> Self {
        Record { detail: Some(detail.into()), ..self }
    }

    /// With the client's address and user agent.
    pub(crate) fn client(self, client: &'a ClientInfo) -> Self {
        Record { client: Some(client), ..self }
    }
}

impl Tx<'_> {
    /// The time of this operation, in milliseconds.
    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    /// Appends an event to the trail, chained to the previous row.
    pub(crate) fn audit(&self, kind: AuditKind, record: Record<'_>) -> Result<()> {
        let last: Option<(i64, Vec<u8>)> = self
            .tx
            .prepare_cached(LAST_ROW)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (prev_id, prev_mac) = match last {
            Some(row) => row,
            None => read_anchor(self.tx)?.unwrap_or((0, vec![0; 32])),
        };
        let event = AuditEvent {
            id: prev_id + 1,
            at: from_millis(self.now),
            kind,
            user_id: record.user,
            session_id: record.session,
            ip: record.client.and_then(|c| c.ip.clone()),
            user_agent: record.client.and_then(|c| c.user_agent.clone()),
            detail: record.detail.map(|d| d.chars().take(MAX_DETAIL_CHARS).collect()),
        };
        let mac = chain_mac(self.key, &prev_mac, &event);
        self.tx.prepare_cached(INSERT)?.execute(params![
            event.id,
            self.now,
            kind.as_str(),
            event.user_id,
            event.session_id,
            event.ip,
            event.user_agent,
            event.detail,
            &mac[..]
        ])?;
        self.events.borrow_mut().push(event);
        Ok(())
    }
}

fn read_anchor(conn: &Connection) -> Result<Option<(i64, Vec<u8>)>> {
    let value: Option<Vec<u8>> =
        conn.prepare_cached(READ_ANCHOR)?.query_row([], |r| r.get(0)).optional()?;
    match value {
        None => Ok(None),
        Some(v) if v.len() == 40 => {
            let id = i64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
            Ok(Some((id, v[8..].to_vec())))
        }
        Some(_) => Err(Error::new(ErrorKind::Storage, "audit anchor is malformed")),
    }
}

/// HMAC over the previous MAC and every field, each length-prefixed so no two different
/// rows encode alike.
fn chain_mac(key: &[u8; 32], prev_mac: &[u8], e: &AuditEvent) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
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
    field(e.user_id.map(i64::to_be_bytes).as_ref().map(|b| &b[..]));
    field(e.session_id.map(i64::to_be_bytes).as_ref().map(|b| &b[..]));
    field(e.ip.as_deref().map(str::as_bytes));
    field(e.user_agent.as_deref().map(str::as_bytes));
    field(e.detail.as_deref().map(str::as_bytes));
    mac.finalize().into_bytes().into()
}

/// Audit trail and subscriptions.
impl Auth {
    /// Runs `f` in one write transaction that can record audit events, and hands the events
    /// to subscribers after the commit. Every state change of the engine goes through here.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let now = self.now_ms();
        let key = &self.inner.audit_key;
        let (out, events) = self.inner.store.write(|tx| {
            let tx = Tx { tx, now, key, events: RefCell::new(Vec::new()) };
            let out = f(&tx)?;
            Ok((out, tx.events.into_inner()))
        })?;
        self.inner.subscribers.publish(events);
        Ok(out)
    }

    /// Audit events matching `query`, newest first.
    pub fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        self.inner.store.read(|conn| {
            let mut stmt = conn.prepare_cached(QUERY)?;
            let rows = stmt.query_map(
                params![
                    query.user_id,
                    query.kind.map(AuditKind::as_str),
                    query.since.map(to_millis),
                    query.until.map(to_millis),
                    query.before_id,
                    limit
                ],
                AuditEvent::from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Calls `callback` with every audit event after its transaction commits, on a
    /// background thread, in commit order. A callback that panics is contained; a slow one
    /// delays only other subscribers, and if it falls more than 1,024 transactions behind,
    /// newer events are not queued for subscribers (they are still in the trail; see
    /// [`Auth::audit_events_dropped`]). Should the OS refuse the thread, events are delivered
    /// on the committing thread instead.
    pub fn subscribe<F>(&self, callback: F) -> SubscriptionId
    where
        F: Fn(&AuditEvent) + Send + Sync + 'static,
    {
        self.inner.subscribers.add(Arc::new(callback))
    }

    /// Ends a subscription; `false` if it was not active.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut list = self.inner.subscribers.list.write();
        let before = list.len();
        list.retain(|(i, _)| *i != id.0);
        list.len() != before
    }

    /// Events that could not be queued for subscribers because they fell behind.
    pub fn audit_events_dropped(&self) -> u64 {
        self.inner.subscribers.dropped.load(Ordering::Relaxed)
    }

    /// Deletes audit rows older than `before` (retention), keeping the chain verifiable:
    /// the last deleted row's MAC becomes the anchor, and the purge itself is audited.
    /// Returns how many rows were deleted.
    pub fn purge_audit(&self, before: SystemTime) -> Result<usize> {
        self.write(|tx| {
            let through: Option<i64> =
                tx.query_row(LAST_PURGED_BEFORE, [to_millis(before)], |r| r.get(0))?;
            let Some(through) = through else { return Ok(0) };
            let mac: Vec<u8> = tx.query_row(MAC_OF, [through], |r| r.get(0))?;
            let deleted = tx.execute(PURGE, [through])?;
            let mut anchor = through.to_be_bytes().to_vec();
            anchor.extend_from_slice(&mac);
            tx.execute(WRITE_ANCHOR, [anchor])?;
            tx.audit(
                AuditKind::AuditPurged,
                Record::default().detail(format!("through={through}")),
            )?;
            Ok(deleted)
        })
    }

    /// Re-computes the whole chain. `Ok(rows checked)` if every row is as the engine wrote
    /// it; otherwise a `Storage` error naming the first row that was altered, deleted (the
    /// row after the gap) or inserted by hand. Deleting the newest rows can only be detected
    /// against an id remembered elsewhere.
    pub fn verify_audit_chain(&self) -> Result<u64> {
        let key = &self.inner.audit_key;
        self.inner.store.read(|conn| {
            let anchor = read_anchor(conn)?;
            let latest_purge: Option<Option<String>> =
                conn.query_row(LATEST_PURGE_EVENT, [], |r| r.get(0)).optional()?;
            let named =
                latest_purge.flatten().and_then(|d| d.strip_prefix("through=")?.parse().ok());
            if anchor.as_ref().map(|a| a.0) != named {
                return Err(tampered(
                    anchor.map_or(1, |a| a.0 + 1),
                    "the retention anchor does not match the purge record",
                ));
            }
            let (mut expected_id, mut prev_mac) = anchor.unwrap_or((0, vec![0; 32]));
            expected_id += 1;
            let mut stmt = conn.prepare(ALL_ROWS)?;
            let mut rows = stmt.query([])?;
            let mut checked = 0u64;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                if id != expected_id {
                    return Err(tampered(id, "rows before it are missing"));
                }
                let event =
                    AuditEvent::from_row(row).map_err(|_| tampered(id, "it is malformed"))?;
                let stored: Vec<u8> = row.get(8)?;
                let computed = chain_mac(key, &prev_mac, &event);
                if !bool::from(stored.ct_eq(&computed[..])) {
                    return Err(tampered(id, "its content or position was changed"));
                }
                prev_mac = stored;
                expected_id += 1;
                checked += 1;
            }
            Ok(checked)
        })
    }
}

fn tampered(id: i64, why: &str) -> Error {
    Error::new(ErrorKind::Storage, format!("audit trail tampered at row {id}: {why}"))
}
