//! Sequences of account, session and token operations, each against an empty engine,
//! checked against a small model of what must be alive. One engine serves every input:
//! after each, its accounts are deleted (their sessions and tokens with them), the audit
//! trail purged and the clock set back, so the next input starts from the same empty state
//! at a fraction of the cost of opening an engine. The key invariant: a token the model says
//! is dead (session ended, user deactivated or deleted, password changed, expired) never
//! validates or refreshes; where the contract names the error kind, the kind is checked too.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use authlite::{Auth, ClientInfo, ErrorKind, ManualClock, NewUser, Result, SessionId, UserId};
use libfuzzer_sys::fuzz_target;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const ACCESS_TTL: i64 = 5 * MINUTE;
const IDLE_TIMEOUT: i64 = HOUR;
const LIFETIME: i64 = 3 * HOUR;
/// Half a second past a whole second, so the truncation of `exp` to seconds matters.
const START: i64 = 1_700_000_000_500;
/// Longer inputs are cut.
const MAX_OPS: usize = 64;

/// The accounts the operations pick from (index modulo their number); unicode on purpose.
const USERNAMES: [&str; 4] = ["alice", "Bob", "Zoë", "Straße"];
const WRONG_PASSWORD: &str = "wrong horse battery";

/// One step. Indices pick modulo the number of accounts, sessions or tokens so far.
#[derive(Arbitrary, Debug)]
enum Op {
    Register(u8),
    /// Logs in by the upper-cased username, with the right (`true`) or a wrong password.
    Login(u8, bool),
    Validate(u8),
    Refresh(u8),
    Logout(u8),
    RevokeSession(u8),
    RevokeAll(u8),
    /// Changes the password, giving the right (`true`) or a wrong old one.
    ChangePassword(u8, bool),
    Deactivate(u8),
    Activate(u8),
    Delete(u8),
    /// Seconds, modulo four days.
    AdvanceClock(u32),
}

/// The model's view of one registration.
struct User {
    id: UserId,
    deleted: bool,
    active: bool,
    /// Bumped by every password change: picks the current password.
    password: u32,
    /// Bumped whenever the engine must kill every older token (password, activation).
    version: u32,
}

struct Session {
    id: SessionId,
    /// Index into `Harness::users`.
    user: usize,
    /// Set by logout, revocation, reuse detection, password change or deactivation.
    revoked: bool,
    idle_expires_at: i64,
    expires_at: i64,
}

struct Access {
    token: String,
    session: usize,
    /// The `exp` claim, in milliseconds.
    expires_at: i64,
    version: u32,
}

struct Refresh {
    token: String,
    session: usize,
    spent: bool,
}

/// The engine under test and the model it must agree with.
struct Harness {
    auth: Auth,
    clock: ManualClock,
    now: i64,
    /// Every registration, in order.
    users: Vec<User>,
    /// Each username's latest registration (kept after deletion: its id gives `NotFound`).
    slots: [Option<usize>; USERNAMES.len()],
    sessions: Vec<Session>,
    access: Vec<Access>,
    refresh: Vec<Refresh>,
}

/// Milliseconds since the Unix epoch as a time.
fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms as u64)
}

fn password(version: u32) -> String {
    format!("correct horse battery staple {version}")
}

/// Asserts the outcome: success if `reasons` is empty, else an error of one of their kinds
/// (several reasons can hold at once; the engine may name any of them).
fn expect<T>(op: &str, result: Result<T>, reasons: &[ErrorKind]) -> Option<T> {
    match result {
        Ok(value) => {
            assert!(reasons.is_empty(), "{op}: succeeded, the model expects {reasons:?}");
            Some(value)
        }
        Err(e) => {
            let kind = e.kind();
            assert!(reasons.contains(&kind), "{op}: {kind:?} ({e}), the model expects {reasons:?}");
            None
        }
    }
}

/// `index` modulo the number of `items`; `None` if there are none yet.
fn pick<T>(items: &[T], index: u8) -> Option<usize> {
    (!items.is_empty()).then(|| usize::from(index) % items.len())
}

/// The one engine of the process, and its clock.
fn engine() -> &'static (Auth, ManualClock) {
    static ENGINE: std::sync::OnceLock<(Auth, ManualClock)> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        // Every login, registration and password change still hashes and verifies through
        // the same code, at one PBKDF2 round instead of 1,000: SHA-256 (and its comparison
        // tracing) took about 70% of this target's time.
        authlite::fuzzing::cheap_password_hashing();
        let clock = ManualClock::at(time(START));
        let config = authlite::Config {
            access_token_ttl: Duration::from_millis(ACCESS_TTL as u64),
            session_idle_timeout: Duration::from_millis(IDLE_TIMEOUT as u64),
            session_lifetime: Duration::from_millis(LIFETIME as u64),
            lockout_threshold: 0,
            address_max_failures: 0,
            ..authlite_fuzz::config(&clock)
        };
        (Auth::open_with(config).expect("open"), clock)
    })
}

impl Harness {
    /// The shared engine, empty, at the start time.
    fn new() -> Harness {
        let (auth, clock) = engine();
        clock.set(time(START));
        Harness {
            auth: auth.clone(),
            clock: clock.clone(),
            now: START,
            users: Vec::new(),
            slots: [None; USERNAMES.len()],
            sessions: Vec::new(),
            access: Vec::new(),
            refresh: Vec::new(),
        }
    }

    fn run(&mut self, op: &Op) {
        let slot = |i: &u8| usize::from(*i) % USERNAMES.len();
        match op {
            Op::Register(i) => self.register(slot(i)),
            Op::Login(i, right) => self.login(slot(i), *right),
            Op::Validate(i) => self.validate(*i),
            Op::Refresh(i) => self.refresh(*i),
            Op::Logout(i) => self.logout(*i),
            Op::RevokeSession(i) => self.revoke_session(*i),
            Op::RevokeAll(i) => self.revoke_all(slot(i)),
            Op::ChangePassword(i, right) => self.change_password(slot(i), *right),
            Op::Deactivate(i) => self.set_active(slot(i), false),
            Op::Activate(i) => self.set_active(slot(i), true),
            Op::Delete(i) => self.delete(slot(i)),
            Op::AdvanceClock(secs) => {
                let secs = i64::from(*secs) % (4 * DAY / SECOND);
                self.clock.advance(Duration::from_secs(secs as u64));
                self.now += secs * SECOND;
            }
        }
        self.check_users();
    }

    /// The slot's user if it exists now.
    fn present(&self, slot: usize) -> Option<usize> {
        self.slots[slot].filter(|&u| !self.users[u].deleted)
    }

    fn register(&mut self, slot: usize) {
        let reasons: &[ErrorKind] =
            if self.present(slot).is_some() { &[ErrorKind::Conflict] } else { &[] };
        let new = NewUser::new(USERNAMES[slot], password(0));
        let Some(user) = expect("register", self.auth.register(new), reasons) else { return };
        assert!(self.users.iter().all(|u| u.id != user.id), "user id {} reused", user.id);
        self.slots[slot] = Some(self.users.len());
        let id = user.id;
        self.users.push(User { id, deleted: false, active: true, password: 0, version: 0 });
    }

    fn login(&mut self, slot: usize, right: bool) {
        let present = self.present(slot);
        let given = match present {
            Some(u) if right => password(self.users[u].password),
            _ => WRONG_PASSWORD.to_owned(),
        };
        let reasons: &[ErrorKind] = match present {
            Some(u) if right && !self.users[u].active => &[ErrorKind::InactiveUser],
            Some(_) if right => &[],
            _ => &[ErrorKind::InvalidCredentials],
        };
        let name = USERNAMES[slot].to_uppercase();
        let result = self.auth.login(&name, &given, &ClientInfo::default());
        let (Some(login), Some(user)) = (expect("login", result, reasons), present) else {
            return;
        };
        assert_eq!(login.user.id, self.users[user].id);
        let expires_at = self.now + LIFETIME;
        let idle_expires_at = (self.now + IDLE_TIMEOUT).min(expires_at);
        assert_eq!(login.session.expires_at, time(expires_at));
        assert_eq!(login.session.idle_expires_at, time(idle_expires_at));
        let id = login.session.id;
        self.sessions.push(Session { id, user, revoked: false, idle_expires_at, expires_at });
        let session = self.sessions.len() - 1;
        self.issued(session, login.access_token, login.access_expires_at, login.refresh_token);
    }

    /// Records a new token pair of `session` and checks the access token's expiry.
    fn issued(&mut self, session: usize, access: String, expiry: SystemTime, refresh: String) {
        // `exp` is whole seconds, never past the session's end.
        let expires_at = (self.now + ACCESS_TTL).min(self.sessions[session].expires_at);
        let expires_at = expires_at / SECOND * SECOND;
        assert_eq!(expiry, time(expires_at), "access token expiry");
        let version = self.users[self.sessions[session].user].version;
        self.access.push(Access { token: access, session, expires_at, version });
        self.refresh.push(Refresh { token: refresh, session, spent: false });
    }

    /// Why a session is dead now (empty if alive) for a token of user `version`.
    fn dead(&self, session: usize, version: u32) -> Vec<ErrorKind> {
        let s = &self.sessions[session];
        let user = &self.users[s.user];
        let mut reasons = Vec::new();
        if user.deleted {
            // The session went with the user: nothing else can be known about it.
            return vec![ErrorKind::RevokedToken];
        }
        if !user.active {
            reasons.push(ErrorKind::InactiveUser);
        }
        if s.revoked || version != user.version {
            reasons.push(ErrorKind::RevokedToken);
        }
        if self.now >= s.idle_expires_at || self.now >= s.expires_at {
            reasons.push(ErrorKind::ExpiredToken);
        }
        reasons
    }

    fn validate(&self, index: u8) {
        let Some(a) = pick(&self.access, index) else { return };
        let access = &self.access[a];
        let mut reasons = self.dead(access.session, access.version);
        if self.now >= access.expires_at {
            reasons.push(ErrorKind::ExpiredToken);
        }
        if let Some(who) = expect("validate", self.auth.validate(&access.token), &reasons) {
            let session = &self.sessions[access.session];
            assert_eq!(
                (who.user_id, who.session_id),
                (self.users[session.user].id, Some(session.id))
            );
        }
    }

    fn refresh(&mut self, index: u8) {
        let Some(r) = pick(&self.refresh, index) else { return };
        let session = self.refresh[r].session;
        let user = &self.users[self.sessions[session].user];
        let reasons = if user.deleted {
            vec![ErrorKind::InvalidToken] // its rows went with the user
        } else if self.refresh[r].spent {
            vec![ErrorKind::TokenReused]
        } else {
            self.dead(session, user.version) // refresh tokens carry no version
        };
        let result = self.auth.refresh(&self.refresh[r].token);
        let Some(pair) = expect("refresh", result, &reasons) else {
            if reasons == [ErrorKind::TokenReused] {
                self.sessions[session].revoked = true;
            }
            return;
        };
        self.refresh[r].spent = true;
        let s = &mut self.sessions[session];
        s.idle_expires_at = (self.now + IDLE_TIMEOUT).min(s.expires_at);
        self.issued(session, pair.access_token, pair.access_expires_at, pair.refresh_token);
    }

    /// Logout takes any genuine token, even expired, and is not an error on ended sessions.
    fn logout(&mut self, index: u8) {
        let Some(a) = pick(&self.access, index) else { return };
        expect("logout", self.auth.logout(&self.access[a].token), &[]);
        self.sessions[self.access[a].session].revoked = true;
    }

    fn revoke_session(&mut self, index: u8) {
        let Some(s) = pick(&self.sessions, index) else { return };
        let reasons: &[ErrorKind] =
            if self.users[self.sessions[s].user].deleted { &[ErrorKind::NotFound] } else { &[] };
        expect("revoke_session", self.auth.revoke_session(self.sessions[s].id), reasons);
        self.sessions[s].revoked = true;
    }

    /// The slot's latest registration, for the operations that take a user id, and what
    /// they must answer for it when nothing else is wrong: `NotFound` once it is deleted.
    fn by_id(&self, slot: usize) -> Option<(usize, &'static [ErrorKind])> {
        let user = self.slots[slot]?;
        Some((user, if self.users[user].deleted { &[ErrorKind::NotFound] } else { &[] }))
    }

    fn revoke_all(&mut self, slot: usize) {
        let Some((user, reasons)) = self.by_id(slot) else { return };
        let result = self.auth.revoke_all_sessions(self.users[user].id);
        let Some(ended) = expect("revoke_all_sessions", result, reasons) else { return };
        // "How many were live": expired sessions are already over and do not count.
        let live = self.sessions.iter().filter(|s| {
            s.user == user && !s.revoked && self.now < s.idle_expires_at.min(s.expires_at)
        });
        assert_eq!(live.count(), ended, "revoke_all_sessions count");
        self.end_sessions(user);
    }

    fn change_password(&mut self, slot: usize, right: bool) {
        let Some((user, mut reasons)) = self.by_id(slot) else { return };
        let (id, current) = (self.users[user].id, self.users[user].password);
        let old = if right { password(current) } else { WRONG_PASSWORD.to_owned() };
        if !right && reasons.is_empty() {
            reasons = &[ErrorKind::InvalidCredentials];
        }
        let result = self.auth.change_password(id, &old, &password(current + 1));
        if expect("change_password", result, reasons).is_some() {
            self.users[user].password += 1;
            self.users[user].version += 1;
            self.end_sessions(user);
        }
    }

    fn set_active(&mut self, slot: usize, active: bool) {
        let Some((user, reasons)) = self.by_id(slot) else { return };
        let id = self.users[user].id;
        let result =
            if active { self.auth.activate_user(id) } else { self.auth.deactivate_user(id) };
        // Idempotent: only a change of state bumps the version (and deactivation ends sessions).
        if expect("set_active", result, reasons).is_none() || self.users[user].active == active {
            return;
        }
        self.users[user].active = active;
        self.users[user].version += 1;
        if !active {
            self.end_sessions(user);
        }
    }

    fn delete(&mut self, slot: usize) {
        let Some((user, reasons)) = self.by_id(slot) else { return };
        if expect("delete_user", self.auth.delete_user(self.users[user].id), reasons).is_some() {
            self.users[user].deleted = true;
        }
    }

    fn end_sessions(&mut self, user: usize) {
        self.sessions.iter_mut().filter(|s| s.user == user).for_each(|s| s.revoked = true);
    }

    /// Every user the engine ever had: there or not, active or not, and exactly the live
    /// sessions the model expects, newest first.
    fn check_users(&self) {
        for (index, user) in self.users.iter().enumerate() {
            let reasons: &[ErrorKind] = if user.deleted { &[ErrorKind::NotFound] } else { &[] };
            if let Some(found) = expect("user", self.auth.user(user.id), reasons) {
                assert_eq!(found.active, user.active, "active flag of user {}", user.id);
            }
            let listed: Vec<SessionId> =
                self.auth.sessions(user.id).expect("sessions").iter().map(|s| s.id).collect();
            let live: Vec<SessionId> = (self.sessions.iter().rev())
                .filter(|s| s.user == index && !user.deleted && !s.revoked)
                .filter(|s| self.now < s.idle_expires_at && self.now < s.expires_at)
                .map(|s| s.id)
                .collect();
            assert_eq!(listed, live, "live sessions of user {}", user.id);
        }
    }
}

impl Harness {
    /// Empties the engine for the next input: every account this input registered is
    /// deleted (sessions, refresh tokens and roles go with them), then ended sessions,
    /// revocations and the audit trail are purged.
    fn reset(self) {
        for user in self.users.iter().filter(|u| !u.deleted) {
            self.auth.delete_user(user.id).expect("reset: delete");
        }
        assert!(self.auth.list_users(&Default::default()).expect("list").is_empty());
        self.clock.set(time(START + 30 * DAY));
        self.auth.purge_expired().expect("reset: purge");
        self.auth.purge_audit(time(START + 60 * DAY)).expect("reset: audit");
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut harness = Harness::new();
    for op in ops.iter().take(MAX_OPS) {
        harness.run(op);
    }
    harness.reset();
});
