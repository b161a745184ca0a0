//! Crash safety (DESIGN §1, promise 4): a child process streams writes (register, login,
//! refresh rotations, logout, revocations) on a database file and acknowledges each one on
//! its stdout after the call returned `Ok`; the parent kills it with SIGKILL at random
//! moments and reopens the file every time. After each kill: the file passes
//! `integrity_check`, no acknowledged write is missing, nothing unacknowledged was committed
//! except the one operation in flight, which is there wholly or not at all, no refresh
//! rotation is half done, every change has its audit row, and the audit chain verifies.
//! A second scenario kills a child whose other engine on the same file had been dropped.
//!
//! The child is this test binary run again (`current_exe`) with only `crash_child` selected
//! and `CHILD_ENV` set; without the variable that test returns at once. Set
//! `AUTHLITE_CRASH_SEED` to replay a failing seed (every failure message prints it).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use authlite::{Auth, ClientInfo, ErrorKind, ManualClock, NewUser, SessionId, UserId};

const CHILD_ENV: &str = "AUTHLITE_CRASH_CHILD_DB";
const CHILD_SEED_ENV: &str = "AUTHLITE_CRASH_CHILD_SEED";
const CHILD_RUN_ENV: &str = "AUTHLITE_CRASH_CHILD_RUN";
const SEED_ENV: &str = "AUTHLITE_CRASH_SEED";
/// Makes the child run [`two_engines_child`] instead of the stream of writes.
const TWO_ENGINES_ENV: &str = "AUTHLITE_CRASH_CHILD_TWO_ENGINES";
/// A child that has not said READY by then is stuck.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);
/// A child outliving its parent stops by itself (its stdout also breaks when the parent dies).
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

#[test]
fn twenty_random_kills_lose_no_acknowledged_write_and_leave_nothing_half_done() {
    kill_repeatedly(20);
}

#[test]
#[ignore = "long: 200 kills; run with --ignored"]
fn two_hundred_random_kills_lose_no_acknowledged_write_and_leave_nothing_half_done() {
    kill_repeatedly(200);
}

/// An engine of a process may be dropped while another engine of the same process goes on
/// (or the application's own SQLite connection to the file). Closing any descriptor of a
/// file drops all of the process's POSIX locks on it, SQLite's included (howtocorrupt.html
/// §2.2); without them another process's last connection believes it is alone and deletes
/// the WAL the surviving engine still commits to. Its acknowledged writes must survive a kill.
#[test]
fn an_acknowledged_revocation_survives_a_kill_after_another_engine_was_dropped() {
    let env = Env::new();
    drop(env.open());
    let stderr = env.dir.path().join("two-engines.stderr");
    let vars = [(CHILD_ENV, env.path.display().to_string()), (TWO_ENGINES_ENV, "1".into())];
    let (mut child, lines) = spawn_child(&vars, &stderr);
    let next = |lines: &mpsc::Receiver<String>, prefix: &str| loop {
        let line = lines.recv_timeout(STARTUP_LIMIT).unwrap_or_else(|_| {
            panic!("no {prefix} line; stderr:\n{}", std::fs::read_to_string(&stderr).unwrap())
        });
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest.split(' ').map(str::to_owned).collect::<Vec<_>>();
        }
    };
    let acked = next(&lines, "ACK LOGIN ");
    let (session, access): (i64, &str) = (acked[0].parse().unwrap(), &acked[1]);
    // Another process (this one) uses the file and leaves: its last connection closes.
    let visitor = raw(&env.path);
    let live: i64 = visitor.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0)).unwrap();
    assert_eq!(live, 1);
    drop(visitor);
    let stdin = child.0.stdin.as_mut().unwrap();
    writeln!(stdin, "GO").and_then(|()| stdin.flush()).unwrap();
    assert_eq!(next(&lines, "ACK REVOKE "), [session.to_string()]);
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let auth = open_now(&env.path).unwrap();
    let stored = auth.session(SessionId(session)).expect("the acknowledged session");
    assert!(stored.revoked_at.is_some(), "the acknowledged revocation was lost in the kill");
    assert_eq!(auth.validate(access).unwrap_err().kind(), ErrorKind::RevokedToken);
}

/// An engine on `path` whose clock starts now, after every process that used the file
/// before: tokens they issued must not look issued in the future here (leeway is 0).
fn open_now(path: &Path) -> Result<Auth, authlite::Error> {
    Auth::open_with(config_for(path, &ManualClock::new()))
}

/// xorshift64*: deterministic from a printed seed, no extra crates.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(seed) => seed.parse().expect("AUTHLITE_CRASH_SEED must be a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 ^ u64::from(std::process::id())),
    }
}

// ---------------------------------------------------------------------------------------
// The child: writes forever, announcing each operation before the call (`OP ...`) and
// acknowledging it after the call returned `Ok` (`ACK ...`), flushed line by line.
// ---------------------------------------------------------------------------------------

/// Not a test of its own: the body of the child process (a no-op in a normal run).
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    if std::env::var_os(TWO_ENGINES_ENV).is_some() {
        return two_engines_child(Path::new(&path));
    }
    let seed: u64 = std::env::var(CHILD_SEED_ENV).unwrap().parse().unwrap();
    let run: u64 = std::env::var(CHILD_RUN_ENV).unwrap().parse().unwrap();
    // libtest may already have written "test crash_child ... " without a newline.
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| writeln!(out, "{line}").and_then(|()| out.flush()).is_ok();
    say(String::new());
    let auth = open_now(Path::new(&path)).unwrap();
    say("READY".into());

    struct Live {
        session: i64,
        user: i64,
        refresh: String,
        access: String,
    }
    let mut rng = Rng::new(seed);
    let mut users: Vec<(i64, String)> = Vec::new();
    let mut live: Vec<Live> = Vec::new();
    let started = Instant::now();
    for i in 0.. {
        if started.elapsed() > CHILD_LIFETIME {
            break;
        }
        let roll = rng.below(100);
        let ok = if users.is_empty() || roll < 8 {
            let name = format!("r{run}u{i}");
            say(format!("OP REG {name}"));
            let user = auth.register(NewUser::new(&name, PASSWORD)).unwrap();
            users.push((user.id.get(), name.clone()));
            say(format!("ACK REG {name} {}", user.id))
        } else if live.len() < 2 || roll < 25 {
            let (user, name) = users[rng.below(users.len() as u64) as usize].clone();
            say(format!("OP LOGIN {user}"));
            let login = auth.login(&name, PASSWORD, &ClientInfo::default()).unwrap();
            let (session, refresh, access) =
                (login.session.id.get(), login.refresh_token, login.access_token);
            let ok = say(format!("ACK LOGIN {user} {session} {refresh} {access}"));
            live.push(Live { session, user, refresh, access });
            ok
        } else if roll < 75 {
            let pick = rng.below(live.len() as u64) as usize;
            let s = &mut live[pick];
            say(format!("OP REFRESH {} {}", s.session, s.refresh));
            let pair = auth.refresh(&s.refresh).unwrap();
            (s.refresh, s.access) = (pair.refresh_token, pair.access_token);
            say(format!("ACK REFRESH {} {} {}", s.session, s.refresh, s.access))
        } else if roll < 95 {
            let s = live.swap_remove(rng.below(live.len() as u64) as usize);
            if roll < 85 {
                say(format!("OP LOGOUT {}", s.session));
                auth.logout(&s.access).unwrap();
                say(format!("ACK LOGOUT {}", s.session))
            } else {
                say(format!("OP REVOKE {}", s.session));
                auth.revoke_session(SessionId(s.session)).unwrap();
                say(format!("ACK REVOKE {}", s.session))
            }
        } else {
            let user = live[rng.below(live.len() as u64) as usize].user;
            say(format!("OP REVOKEALL {user}"));
            auth.revoke_all_sessions(UserId(user)).unwrap();
            live.retain(|s| s.user != user);
            say(format!("ACK REVOKEALL {user}"))
        };
        if !ok {
            break; // the parent is gone
        }
    }
}

/// The child of [`an_acknowledged_revocation_survives_a_kill_after_another_engine_was_dropped`]:
/// two engines on the file, the first dropped; once the parent has used the file and left,
/// the second revokes the session and acknowledges; then it waits to be killed.
fn two_engines_child(path: &Path) {
    let mut out = std::io::stdout().lock();
    let mut stdin = std::io::stdin().lock();
    let open = || open_now(path).unwrap();
    let (first, second) = (open(), open());
    second.register(NewUser::new("alice", PASSWORD)).unwrap();
    let login = second.login("alice", PASSWORD, &ClientInfo::default()).unwrap();
    drop(first);
    writeln!(out, "\nACK LOGIN {} {}", login.session.id, login.access_token).unwrap();
    out.flush().unwrap();
    stdin.read_line(&mut String::new()).unwrap();
    second.revoke_session(login.session.id).unwrap();
    writeln!(out, "ACK REVOKE {}", login.session.id).unwrap();
    out.flush().unwrap();
    stdin.read_line(&mut String::new()).unwrap(); // until killed (or the parent is gone)
}

// ---------------------------------------------------------------------------------------
// The parent: what it was told, replayed into a model of what the database must hold.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Register { name: String },
    Login { user: i64 },
    Refresh { session: i64, presented: String },
    Logout { session: i64 },
    Revoke { session: i64 },
    RevokeAll { user: i64 },
}

#[derive(Debug)]
struct SessionModel {
    user: i64,
    /// Refresh tokens we know, oldest first; every one but the last must be spent.
    known: Vec<String>,
    /// Tokens issued after the last known one whose secrets we never learned (a rotation
    /// or login committed by the killed child before it could acknowledge): 0 or 1.
    unknown: usize,
    /// The newest access token we know.
    access: Option<String>,
    revoked: bool,
    /// The run (kill number) that last changed it.
    touched: usize,
}

#[derive(Debug, Default)]
struct Model {
    users: HashMap<String, i64>,
    sessions: HashMap<i64, SessionModel>,
}

/// Applies the child's complete lines to the model; returns the operation that was in
/// flight (announced, not acknowledged) when the child died.
fn replay(model: &mut Model, lines: &[String], run: usize, ctx: &str) -> Option<Op> {
    let mut pending: Option<Op> = None;
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["OP", "REG", name] => pending = Some(Op::Register { name: name.to_string() }),
            ["OP", "LOGIN", user] => pending = Some(Op::Login { user: num(user) }),
            ["OP", "REFRESH", session, token] => {
                pending = Some(Op::Refresh { session: num(session), presented: token.to_string() })
            }
            ["OP", "LOGOUT", session] => pending = Some(Op::Logout { session: num(session) }),
            ["OP", "REVOKE", session] => pending = Some(Op::Revoke { session: num(session) }),
            ["OP", "REVOKEALL", user] => pending = Some(Op::RevokeAll { user: num(user) }),
            ["ACK", rest @ ..] => {
                let op = pending.take().unwrap_or_else(|| panic!("{ctx}: ACK without OP: {line}"));
                acknowledge(model, op, rest, run, ctx);
            }
            _ => {} // libtest's own lines, READY
        }
    }
    pending
}

fn num(word: &str) -> i64 {
    word.parse().unwrap_or_else(|_| panic!("not a number in the child's output: {word}"))
}

fn acknowledge(model: &mut Model, op: Op, ack: &[&str], run: usize, ctx: &str) {
    match (&op, ack) {
        (Op::Register { name }, ["REG", acked, id]) if acked == name => {
            model.users.insert(name.clone(), num(id));
        }
        (Op::Login { user }, ["LOGIN", acked, session, refresh, access]) if num(acked) == *user => {
            let fresh = SessionModel {
                user: *user,
                known: vec![refresh.to_string()],
                unknown: 0,
                access: Some(access.to_string()),
                revoked: false,
                touched: run,
            };
            let old = model.sessions.insert(num(session), fresh);
            assert!(old.is_none(), "{ctx}: session {session} was handed out twice");
        }
        (Op::Refresh { session, presented }, ["REFRESH", acked, refresh, access])
            if num(acked) == *session =>
        {
            let s = model_session(model, *session, ctx);
            assert_eq!(s.known.last(), Some(presented), "{ctx}: session {session} out of step");
            s.known.push(refresh.to_string());
            s.access = Some(access.to_string());
            s.touched = run;
        }
        (Op::Logout { session }, ["LOGOUT", acked])
        | (Op::Revoke { session }, ["REVOKE", acked])
            if num(acked) == *session =>
        {
            let s = model_session(model, *session, ctx);
            s.revoked = true;
            s.touched = run;
        }
        (Op::RevokeAll { user }, ["REVOKEALL", acked]) if num(acked) == *user => {
            for s in model.sessions.values_mut().filter(|s| s.user == *user && !s.revoked) {
                s.revoked = true;
                s.touched = run;
            }
        }
        _ => panic!("{ctx}: acknowledgement {ack:?} does not match {op:?}"),
    }
}

fn model_session<'m>(model: &'m mut Model, session: i64, ctx: &str) -> &'m mut SessionModel {
    model.sessions.get_mut(&session).unwrap_or_else(|| panic!("{ctx}: unknown session {session}"))
}

/// The lookup half of a refresh token, as stored in `refresh_tokens.selector`.
fn selector(token: &str) -> &str {
    token.split_once('.').expect("refresh tokens are <selector>.<secret>").0
}

/// What the file holds, read with a raw connection.
#[derive(Default)]
struct Db {
    /// id -> (username, has a last login time)
    users: HashMap<i64, (String, bool)>,
    /// id -> (user id, revoked)
    sessions: HashMap<i64, (i64, bool)>,
    /// selector -> (session id, spent)
    tokens: HashMap<String, (i64, bool)>,
    /// session id -> (refresh tokens, live ones)
    tokens_of: HashMap<i64, (usize, usize)>,
    /// (audit kind, session id) -> rows
    audit_by_session: HashMap<(String, i64), usize>,
    /// (audit kind, user id) -> rows
    audit_by_user: HashMap<(String, i64), usize>,
}

impl Db {
    fn load(conn: &rusqlite::Connection) -> Db {
        let mut db = Db::default();
        let mut stmt =
            conn.prepare("SELECT id, username, last_login_at IS NOT NULL FROM users").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap();
        db.users = rows.map(Result::unwrap).collect();
        let mut stmt =
            conn.prepare("SELECT id, user_id, revoked_at IS NOT NULL FROM sessions").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap();
        db.sessions = rows.map(Result::unwrap).collect();
        let mut stmt = conn
            .prepare("SELECT selector, session_id, spent_at IS NOT NULL FROM refresh_tokens")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap();
        db.tokens = rows.map(Result::unwrap).collect();
        for (session, spent) in db.tokens.values() {
            let counts = db.tokens_of.entry(*session).or_default();
            counts.0 += 1;
            counts.1 += usize::from(!spent);
        }
        let mut stmt = conn.prepare("SELECT kind, session_id, user_id FROM audit_log").unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (kind, session, user) = row.unwrap();
            if let Some(session) = session {
                *db.audit_by_session.entry((kind.clone(), session)).or_default() += 1;
            }
            if let Some(user) = user {
                *db.audit_by_user.entry((kind, user)).or_default() += 1;
            }
        }
        db
    }

    fn audited(&self, kind: &str, session: i64) -> usize {
        self.audit_by_session.get(&(kind.to_owned(), session)).copied().unwrap_or(0)
    }

    fn audited_user(&self, kind: &str, user: i64) -> usize {
        self.audit_by_user.get(&(kind.to_owned(), user)).copied().unwrap_or(0)
    }
}

/// Decides what became of the operation in flight at the kill and records it in the model.
/// Either outcome is allowed; the model and invariant checks then prove it is not a half.
/// Returns whether it had committed.
fn resolve(model: &mut Model, db: &Db, op: Op, run: usize, ctx: &str) -> bool {
    match op {
        Op::Register { name } => {
            let found = db.users.iter().find(|(_, (n, _))| *n == name).map(|(id, _)| *id);
            if let Some(id) = found {
                model.users.insert(name, id);
            }
            found.is_some()
        }
        Op::Login { user } => {
            let new: Vec<i64> = db
                .sessions
                .iter()
                .filter(|(id, (u, _))| *u == user && !model.sessions.contains_key(id))
                .map(|(id, _)| *id)
                .collect();
            assert!(new.len() <= 1, "{ctx}: one login of user {user} made sessions {new:?}");
            for id in &new {
                let fresh = SessionModel {
                    user,
                    known: Vec::new(),
                    unknown: 1,
                    access: None,
                    revoked: db.sessions[id].1,
                    touched: run,
                };
                model.sessions.insert(*id, fresh);
            }
            !new.is_empty()
        }
        Op::Refresh { session, presented } => {
            let s = model_session(model, session, ctx);
            assert_eq!(s.known.last(), Some(&presented), "{ctx}: session {session} out of step");
            let (_, spent) = db.tokens.get(selector(&presented)).unwrap_or_else(|| {
                panic!("{ctx}: the refresh token being redeemed in session {session} vanished")
            });
            if *spent {
                s.unknown = 1;
                s.touched = run;
            }
            *spent
        }
        Op::Logout { session } | Op::Revoke { session } => {
            let revoked = db.sessions.get(&session).is_some_and(|s| s.1);
            let s = model_session(model, session, ctx);
            if revoked {
                s.revoked = true;
                s.touched = run;
            }
            revoked
        }
        Op::RevokeAll { user } => {
            let targets: Vec<i64> = model
                .sessions
                .iter()
                .filter(|(_, s)| s.user == user && !s.revoked)
                .map(|(id, _)| *id)
                .collect();
            let ended: HashSet<bool> =
                targets.iter().map(|id| db.sessions.get(id).is_some_and(|s| s.1)).collect();
            assert!(
                ended.len() <= 1,
                "{ctx}: revoke_all_sessions of user {user} ended only some of {targets:?}"
            );
            let done = ended.contains(&true);
            for id in targets.iter().filter(|_| done) {
                let s = model_session(model, *id, ctx);
                s.revoked = true;
                s.touched = run;
            }
            done
        }
    }
}

/// Everything acknowledged is in the file, and nothing else is (but the resolved op).
fn check_model(model: &Model, db: &Db, ctx: &str) {
    for (name, id) in &model.users {
        let stored = db.users.get(id).map(|u| u.0.as_str());
        assert_eq!(stored, Some(name.as_str()), "{ctx}: acknowledged user {name} ({id}) lost");
    }
    assert_eq!(db.users.len(), model.users.len(), "{ctx}: users in the file vs acknowledged");
    for (id, s) in &model.sessions {
        let (user, revoked) =
            db.sessions.get(id).unwrap_or_else(|| panic!("{ctx}: acknowledged session {id} lost"));
        assert_eq!(*user, s.user, "{ctx}: session {id} changed owner");
        assert_eq!(
            *revoked, s.revoked,
            "{ctx}: session {id} is revoked in the file: {revoked}; acknowledged: {}",
            s.revoked
        );
        let (total, _) = db.tokens_of.get(id).copied().unwrap_or_default();
        assert_eq!(
            total,
            s.known.len() + s.unknown,
            "{ctx}: session {id}: refresh tokens in the file vs acknowledged (+ in flight)"
        );
        for (i, token) in s.known.iter().enumerate() {
            let (session, spent) = db.tokens.get(selector(token)).unwrap_or_else(|| {
                panic!("{ctx}: acknowledged refresh token #{i} of session {id} lost")
            });
            assert_eq!(session, id, "{ctx}: refresh token #{i} moved to another session");
            let expected = i + 1 < s.known.len() || s.unknown > 0;
            assert_eq!(
                *spent,
                expected,
                "{ctx}: session {id}: refresh token #{i} of {} spent: {spent}",
                s.known.len()
            );
        }
    }
    assert_eq!(db.sessions.len(), model.sessions.len(), "{ctx}: sessions in file vs acknowledged");
}

/// What must hold of any file the engine wrote, acknowledged or not.
fn check_invariants(db: &Db, ctx: &str) {
    for (selector, (session, _)) in &db.tokens {
        assert!(db.sessions.contains_key(session), "{ctx}: token {selector} has no session");
    }
    for (&id, &(user, revoked)) in &db.sessions {
        let (total, live) = db.tokens_of.get(&id).copied().unwrap_or_default();
        assert!(live <= 1, "{ctx}: session {id} has {live} live refresh tokens");
        if !revoked {
            assert_eq!(
                live, 1,
                "{ctx}: live session {id} has no live refresh token (half rotation)"
            );
        }
        assert_eq!(
            total,
            1 + db.audited("token.refreshed", id),
            "{ctx}: session {id}: every rotation adds exactly one token and one audit row"
        );
        assert_eq!(db.audited("login.succeeded", id), 1, "{ctx}: session {id}: login audit row");
        let ended = db.audited("logout", id) + db.audited("session.revoked", id);
        if revoked {
            let why =
                ended + db.audited("token.reused", id) + db.audited_user("sessions.revoked", user);
            assert!(why > 0, "{ctx}: session {id} is revoked with no audit row saying why");
        } else {
            assert_eq!(ended, 0, "{ctx}: session {id} audited as ended but live");
        }
        assert!(
            db.users.get(&user).is_some_and(|u| u.1),
            "{ctx}: session {id}: user {user} missing or without a last login time"
        );
    }
    for id in db.users.keys() {
        let rows = db.audited_user("user.registered", *id);
        assert_eq!(rows, 1, "{ctx}: user {id} has {rows} registration audit rows");
    }
    let registrations: usize =
        db.audit_by_user.iter().filter(|((kind, _), _)| kind == "user.registered").count();
    assert_eq!(registrations, db.users.len(), "{ctx}: registration rows for missing users");
}

/// Through the engine: the newest acknowledged tokens of the sessions this run touched work
/// (or are refused as revoked), and redeeming the newest refresh token rotates it.
fn exercise(auth: &Auth, model: &mut Model, run: usize, ctx: &str) {
    for (id, s) in model.sessions.iter_mut().filter(|(_, s)| s.touched == run) {
        if let Some(access) = &s.access {
            match (auth.validate(access), s.revoked) {
                (Ok(who), false) => assert_eq!(who.session_id, Some(SessionId(*id))),
                (Err(e), true) if e.kind() == ErrorKind::RevokedToken => {}
                (result, revoked) => panic!(
                    "{ctx}: session {id} (revoked: {revoked}) validates as {:?}",
                    result.map(|who| who.session_id)
                ),
            }
        }
        let Some(newest) = s.known.last().filter(|_| s.unknown == 0) else { continue };
        match auth.refresh(newest) {
            Ok(pair) if !s.revoked => {
                s.known.push(pair.refresh_token);
                s.access = Some(pair.access_token);
            }
            Err(e) if s.revoked && e.kind() == ErrorKind::RevokedToken => {}
            result => panic!(
                "{ctx}: redeeming the newest refresh token of session {id} (revoked: {}): {:?}",
                s.revoked,
                result.map(|_| ()).map_err(|e| e.kind())
            ),
        }
    }
}

/// Reopens the file after a kill and checks everything; returns whether the operation in
/// flight (if any) had committed.
fn check_after_kill(
    env: &Env,
    model: &mut Model,
    pending: Option<Op>,
    run: usize,
    ctx: &str,
) -> Option<bool> {
    let auth = open_now(&env.path)
        .unwrap_or_else(|e| panic!("{ctx}: reopening after the kill failed: {e}"));
    let conn = raw(&env.path);
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "{ctx}: integrity_check");
    let dangling: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(dangling, 0, "{ctx}: foreign_key_check");
    let db = Db::load(&conn);
    let committed = pending.map(|op| resolve(model, &db, op, run, ctx));
    check_model(model, &db, ctx);
    check_invariants(&db, ctx);
    auth.verify_audit_chain().unwrap_or_else(|e| panic!("{ctx}: audit chain: {e}"));
    exercise(&auth, model, run, ctx);
    committed
}

/// Kills the child (SIGKILL) if a failing assertion unwinds past it.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the child with `vars` set; its complete stdout lines arrive on the receiver (a
/// line cut off by the kill is dropped: it was never acknowledged).
fn spawn_child(vars: &[(&str, String)], stderr: &Path) -> (Killed, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::crash_child", "--nocapture", "--test-threads=1"])
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .expect("re-run the test binary");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) && line.ends_with('\n') {
            if tx.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });
    (Killed(child), rx)
}

fn kill_repeatedly(kills: usize) {
    use std::os::unix::process::ExitStatusExt;

    let seed = seed();
    let mut rng = Rng::new(seed);
    let env = Env::new();
    let mut model = Model::default();
    let (mut acknowledged, mut committed, mut rolled_back) = (0, 0, 0);
    for run in 0..kills {
        let ctx = format!("seed {seed}, kill {run}");
        let stderr: PathBuf = env.dir.path().join(format!("child-{run}.stderr"));
        let vars = [
            (CHILD_ENV, env.path.display().to_string()),
            (CHILD_SEED_ENV, rng.next().to_string()),
            (CHILD_RUN_ENV, run.to_string()),
        ];
        let (mut child, lines) = spawn_child(&vars, &stderr);
        let mut seen = Vec::new();
        if rng.below(6) == 0 {
            // Now and then while it is still opening: creating, migrating, recovering the WAL.
            std::thread::sleep(Duration::from_millis(rng.below(40)));
        } else {
            let deadline = Instant::now() + STARTUP_LIMIT;
            while seen.last().is_none_or(|l| l != "READY") {
                let wait = deadline.saturating_duration_since(Instant::now());
                match lines.recv_timeout(wait) {
                    Ok(line) => seen.push(line),
                    Err(_) => panic!(
                        "{ctx}: the child never got ready; stderr:\n{}",
                        std::fs::read_to_string(&stderr).unwrap_or_default()
                    ),
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(100_000)));
        }
        child.0.kill().unwrap();
        let status = child.0.wait().unwrap();
        seen.extend(lines.iter());
        assert_eq!(
            status.signal(),
            Some(9),
            "{ctx}: the child ended by itself ({status}); stderr:\n{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        acknowledged += seen.iter().filter(|l| l.starts_with("ACK ")).count();
        let pending = replay(&mut model, &seen, run, &ctx);
        match check_after_kill(&env, &mut model, pending, run, &ctx) {
            Some(true) => committed += 1,
            Some(false) => rolled_back += 1,
            None => {}
        }
    }
    println!(
        "seed {seed}: {kills} kills, {acknowledged} acknowledged operations, in flight at the \
         kill: {committed} committed, {rolled_back} not"
    );
    assert!(acknowledged > kills, "seed {seed}: the children hardly did anything");

    // Finally: a spent predecessor of each live session's newest token is reuse.
    let ctx = format!("seed {seed}, after the kills");
    let auth = open_now(&env.path).unwrap();
    let mut replayed = 0;
    for (id, s) in model.sessions.iter_mut() {
        if s.revoked || s.unknown > 0 || s.known.len() < 2 || replayed >= 20 {
            continue;
        }
        let spent = &s.known[s.known.len() - 2];
        assert_eq!(auth.refresh(spent).unwrap_err().kind(), ErrorKind::TokenReused, "{ctx}: {id}");
        let newest = s.known.last().unwrap();
        assert_eq!(auth.refresh(newest).unwrap_err().kind(), ErrorKind::RevokedToken, "{ctx}");
        let access = s.access.as_ref().unwrap();
        assert_eq!(auth.validate(access).unwrap_err().kind(), ErrorKind::RevokedToken, "{ctx}");
        s.revoked = true;
        replayed += 1;
    }
    assert!(replayed > 0, "{ctx}: no live session left to replay a token of");
    let db = Db::load(&raw(&env.path));
    check_model(&model, &db, &ctx);
    check_invariants(&db, &ctx);
    auth.verify_audit_chain().unwrap();
}
