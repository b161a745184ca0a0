//! Concurrency stress (DESIGN §1 promises 2 and 4, §4): threads AND processes on one file.
//! No `Storage` error (a leaked `SQLITE_BUSY`) ever reaches a caller under plain
//! concurrency; a session revoked by `revoke_session`, `logout` or `revoke_all_sessions`
//! never validates once the call has returned, when the validating engine is in another
//! process too; and of threads and processes redeeming one refresh token at once exactly
//! one wins while every other gets `TokenReused`. One more test drops one of two engines of
//! a process and checks the other's revocations still reach other processes.
//!
//! Child processes are this test binary run again (`current_exe`) with only `stress_child`
//! selected and `CHILD_ENV` naming the role; without the variable that test returns at once.
//! Parent and children talk in lines over the children's stdin and stdout. A revocation's
//! marker line is written only after the revoking call returned; a validator requires
//! `RevokedToken` only if it had seen the marker before its `validate` call began, and
//! success only if the revocation had not even been asked for when the call ended.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::common::*;
use authlite::{Auth, ClientInfo, ErrorKind, ManualClock, NewUser, SessionId, UserId};

const CHILD_ENV: &str = "AUTHLITE_STRESS_CHILD";
const DB_ENV: &str = "AUTHLITE_STRESS_DB";
const ARGS_ENV: &str = "AUTHLITE_STRESS_ARGS";
/// The parent's clock (ms since the epoch): children share it, so a token one process
/// issues is never "issued in the future" for another.
const CLOCK_ENV: &str = "AUTHLITE_STRESS_CLOCK";
/// Longest wait for any one line from a child; reaching it means something hangs.
const LINE_LIMIT: Duration = Duration::from_secs(120);
/// Validations of a revoked session each validator must make after seeing its marker.
const CHECKS_AFTER: usize = 20;

/// How hard the tests push: the default runs in CI, `HEAVY` behind `#[ignore]`.
#[derive(Clone, Copy)]
struct Scale {
    processes: usize,
    threads: usize,
    iterations: usize,
    targets: usize,
    rounds: usize,
}

const LIGHT: Scale = Scale { processes: 2, threads: 2, iterations: 20, targets: 12, rounds: 16 };
const HEAVY: Scale = Scale { processes: 3, threads: 4, iterations: 120, targets: 90, rounds: 120 };

fn threads_and_processes_mixing_every_operation_never_see_a_storage_error(b: Backend) {
    mixed_operations(b, LIGHT);
}

#[test]
#[ignore = "heavy; run with --ignored"]
fn heavy_threads_and_processes_mixing_every_operation_never_see_a_storage_error() {
    mixed_operations(Backend::Sqlite, HEAVY);
}

fn a_revocation_in_another_process_is_seen_by_the_very_next_validate(b: Backend) {
    revoked_elsewhere_never_validates(b, LIGHT);
}

#[test]
#[ignore = "heavy; run with --ignored"]
fn heavy_a_revocation_in_another_process_is_seen_by_the_very_next_validate() {
    revoked_elsewhere_never_validates(Backend::Sqlite, HEAVY);
}

fn revocations_here_are_seen_at_once_by_validators_in_other_processes(b: Backend) {
    validators_elsewhere_see_revocations(b, LIGHT);
}

#[test]
#[ignore = "heavy; run with --ignored"]
fn heavy_revocations_here_are_seen_at_once_by_validators_in_other_processes() {
    validators_elsewhere_see_revocations(Backend::Sqlite, HEAVY);
}

fn one_refresh_token_redeemed_at_once_by_threads_in_several_processes_has_one_winner(b: Backend) {
    one_winner_per_refresh_token(b, LIGHT);
}

#[test]
#[ignore = "heavy; run with --ignored"]
fn heavy_one_refresh_token_redeemed_at_once_by_threads_in_several_processes_has_one_winner() {
    one_winner_per_refresh_token(Backend::Sqlite, HEAVY);
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// xorshift64*: cheap, deterministic per worker, no extra crates.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).max(1))
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// The value of an `Ok`, or a panic saying what failed; a `Storage` error is named as the
/// leak it is.
fn must<T>(what: &str, result: authlite::Result<T>) -> T {
    result.unwrap_or_else(|e| match e.kind() {
        ErrorKind::Storage => panic!(
            "{what}: a Storage error reached the caller: {e} (cause: {:?})",
            std::error::Error::source(&e).map(ToString::to_string)
        ),
        kind => panic!("{what}: unexpected {kind:?}: {e}"),
    })
}

fn must_fail<T>(what: &str, result: authlite::Result<T>, expected: ErrorKind) {
    match result {
        Ok(_) => panic!("{what}: succeeded, expected {expected:?}"),
        Err(e) if e.kind() == expected => {}
        Err(e) => {
            let _: T = must(&format!("{what} (expected {expected:?})"), Err(e));
        }
    }
}

/// How a target session is ended.
fn revoke(auth: &Auth, target: &Target) {
    match target.index % 3 {
        0 => must("revoke_session", auth.revoke_session(target.session)),
        1 => must("logout", auth.logout(&target.access)),
        _ => {
            let ended = must("revoke_all_sessions", auth.revoke_all_sessions(target.user));
            assert_eq!(ended, 1, "target {}: one live session", target.index);
        }
    }
}

/// One user with one live session, to be revoked.
#[derive(Clone)]
struct Target {
    index: usize,
    user: UserId,
    session: SessionId,
    access: String,
}

impl Target {
    fn create(auth: &Auth, index: usize) -> Target {
        let name = format!("target{index}");
        user(auth, &name);
        let login = login(auth, &name);
        Target { index, user: login.user.id, session: login.session.id, access: login.access_token }
    }

    fn to_line(&self) -> String {
        format!("TARGET {} {} {} {}", self.index, self.user, self.session, self.access)
    }

    fn from_line(line: &str) -> Target {
        let words: Vec<&str> = line.split(' ').collect();
        let [_, index, user, session, access] = words[..] else { panic!("bad line {line}") };
        Target {
            index: index.parse().unwrap(),
            user: user.parse().unwrap(),
            session: session.parse().unwrap(),
            access: access.to_owned(),
        }
    }
}

/// What validators share: per target, whether its revocation may have started (`asked`)
/// and whether it has returned (`revoked`, set only once the marker arrived), and how many
/// checks were made after that; a stop flag and a count of all validations.
struct Board {
    asked: Vec<AtomicBool>,
    revoked: Vec<AtomicBool>,
    checked: Vec<AtomicUsize>,
    stop: AtomicBool,
    total: AtomicUsize,
}

impl Board {
    fn new(targets: usize) -> Arc<Board> {
        Arc::new(Board {
            asked: (0..targets).map(|_| AtomicBool::new(false)).collect(),
            revoked: (0..targets).map(|_| AtomicBool::new(false)).collect(),
            checked: (0..targets).map(|_| AtomicUsize::new(0)).collect(),
            stop: AtomicBool::new(false),
            total: AtomicUsize::new(0),
        })
    }

    fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    fn checked(&self, index: usize) -> usize {
        self.checked[index].load(Ordering::SeqCst)
    }
}

/// Validates every target over and over until told to stop. A target whose revocation had
/// returned before the call began must come back `RevokedToken`; one whose revocation was
/// not yet asked for when the call ended must validate; in between either answer is right.
fn validate_loop(
    auth: Auth,
    targets: Arc<Vec<Target>>,
    board: Arc<Board>,
    whoami: String,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !board.stop.load(Ordering::SeqCst) {
            for target in targets.iter() {
                let i = target.index;
                let after = board.revoked[i].load(Ordering::SeqCst);
                let result = auth.validate(&target.access);
                // Not asked for even once the call was over: it cannot have happened.
                let before = !board.asked[i].load(Ordering::SeqCst);
                let what = format!("{whoami}: validate of target {i}");
                if after {
                    must_fail(
                        &format!("{what} after its revocation"),
                        result,
                        ErrorKind::RevokedToken,
                    );
                    board.checked[i].fetch_add(1, Ordering::SeqCst);
                } else if before {
                    must(&format!("{what} before its revocation"), result);
                } else if let Err(e) = result {
                    must_fail(&what, Err::<(), _>(e), ErrorKind::RevokedToken);
                }
                board.total.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
}

/// Waits until `done()` while watching the threads: a panicked thread ends the wait.
fn wait_until(what: &str, threads: &[JoinHandle<()>], done: impl Fn() -> bool) {
    let deadline = Instant::now() + LINE_LIMIT;
    while !done() {
        assert!(!threads.iter().any(JoinHandle::is_finished), "a validator thread died: {what}");
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

// ---------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------

/// A child process speaking lines; killed if a failing assertion unwinds past it.
struct ChildProc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl ChildProc {
    fn spawn(env: &Env, role: &str, args: &str, name: String) -> ChildProc {
        let stderr = env.dir.path().join(format!("{name}.stderr"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "stress::stress_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, role)
            .env(DB_ENV, &env.path)
            .env(
                CLOCK_ENV,
                authlite::Clock::now(&env.clock)
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    .to_string(),
            )
            .env(ARGS_ENV, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("re-run the test binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ChildProc { name, stdin: child.stdin.take(), child, lines, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        if writeln!(stdin, "{line}").and_then(|()| stdin.flush()).is_err() {
            let status = self.child.wait().ok();
            panic!("{} is gone ({status:?}); stderr:\n{}", self.name, self.stderr());
        }
    }

    /// The words of the next line that starts with `word`, skipping libtest's own lines.
    fn expect(&mut self, word: &str) -> Vec<String> {
        let deadline = Instant::now() + LINE_LIMIT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(wait) {
                Ok(line) if line.split(' ').next() == Some(word) => {
                    return line.split(' ').skip(1).map(str::to_owned).collect();
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = self.child.kill();
                    let status = self.child.wait().ok();
                    panic!(
                        "{}: no {word} line ({e:?}, {status:?}); stderr:\n{}",
                        self.name,
                        self.stderr()
                    );
                }
            }
        }
    }

    /// Closes stdin, waits for the child, and requires that it succeeded.
    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{} failed ({status}); stderr:\n{}", self.name, self.stderr());
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Not a test of its own: the body of every child process (a no-op in a normal run).
#[test]
fn stress_child() {
    let Ok(role) = std::env::var(CHILD_ENV) else { return };
    // Any panic on any thread ends the child at once, so the parent never waits on it.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{info}");
        std::process::exit(101);
    }));
    let path = PathBuf::from(std::env::var_os(DB_ENV).unwrap());
    let args = std::env::var(ARGS_ENV).unwrap();
    let args: Vec<&str> = args.split(' ').collect();
    // libtest may already have written "test stress_child ... " without a newline.
    println!();
    let parent_ms: u64 = std::env::var(CLOCK_ENV).unwrap().parse().unwrap();
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_millis(parent_ms));
    let open = || Auth::open_with(config_for(&path, &clock)).unwrap();
    let engines = [open(), open()];
    let mut stdin = std::io::stdin().lock().lines().map(Result::unwrap);
    match role.as_str() {
        "mixed" => {
            let (tag, threads, iterations) = (args[0], num(args[1]), num(args[2]));
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (auth, checker) = (engines[t % 2].clone(), engines[(t + 1) % 2].clone());
                    let tag = format!("{tag}t{t}");
                    std::thread::spawn(move || mixed_worker(&auth, &checker, &tag, iterations))
                })
                .collect();
            let ops: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
            println!("DONE {ops}");
        }
        "revoker" => {
            let mut targets = Vec::new();
            for line in stdin {
                let words: Vec<&str> = line.split(' ').collect();
                match words[..] {
                    ["TARGET", ..] => targets.push(Target::from_line(&line)),
                    ["REVOKE", index] => {
                        let target: &Target = &targets[num(index)];
                        revoke(&engines[target.index % 2], target);
                        println!("REVOKED {index}"); // only after the call returned
                    }
                    _ => break,
                }
            }
        }
        "validator" => {
            let mut targets = Vec::new();
            for line in stdin.by_ref() {
                match line.strip_prefix("TARGET ") {
                    Some(_) => targets.push(Target::from_line(&line)),
                    None => break, // START
                }
            }
            let targets = Arc::new(targets);
            let board = Board::new(targets.len());
            let threads: Vec<_> = (0..num(args[0]))
                .map(|t| {
                    let whoami = format!("validator process {}, thread {t}", std::process::id());
                    validate_loop(engines[t % 2].clone(), targets.clone(), board.clone(), whoami)
                })
                .collect();
            println!("STARTED");
            for line in stdin {
                let words: Vec<&str> = line.split(' ').collect();
                match words[..] {
                    ["ASKED", index] => {
                        board.asked[num(index)].store(true, Ordering::SeqCst);
                        println!("ASKED {index}");
                    }
                    ["REVOKED", index] => {
                        let index = num(index);
                        board.revoked[index].store(true, Ordering::SeqCst);
                        let enough = CHECKS_AFTER * threads.len();
                        wait_until(&format!("checks of target {index}"), &threads, || {
                            board.checked(index) >= enough
                        });
                        println!("CHECKED {index}");
                    }
                    _ => break,
                }
            }
            board.stop.store(true, Ordering::SeqCst);
            for t in threads {
                t.join().unwrap();
            }
            println!("DONE {}", board.total());
        }
        "validate-once" => {
            println!("RESULT {}", outcome(engines[0].validate(args[0])));
        }
        "redeemer" => {
            let threads = num(args[0]);
            let barrier = Arc::new(Barrier::new(threads));
            let (senders, workers): (Vec<_>, Vec<_>) = (0..threads)
                .map(|t| {
                    let (tx, rx) = mpsc::channel::<(String, String)>();
                    let (auth, barrier) = (engines[t % 2].clone(), barrier.clone());
                    let worker = std::thread::spawn(move || {
                        for (round, token) in rx {
                            barrier.wait();
                            println!("RESULT {round} {}", outcome(auth.refresh(&token)));
                        }
                    });
                    (tx, worker)
                })
                .unzip();
            println!("STARTED");
            for line in stdin {
                let words: Vec<&str> = line.split(' ').collect();
                let ["TOKEN", round, token] = words[..] else { break };
                for tx in &senders {
                    tx.send((round.to_owned(), token.to_owned())).unwrap();
                }
            }
            drop(senders);
            for w in workers {
                w.join().unwrap();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

fn num(word: &str) -> usize {
    word.parse().unwrap_or_else(|_| panic!("not a number: {word}"))
}

/// `ok`, or the error kind of a failed refresh.
fn outcome<T>(result: authlite::Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

// ---------------------------------------------------------------------------------------
// 1. Mixed operations
// ---------------------------------------------------------------------------------------

/// One worker's share, on users of its own: register, login, validate (also through a
/// second engine), refresh, list sessions, then end the session one of four ways (logout,
/// revoke_session, revoke_all_sessions, replaying the spent refresh token) and check that
/// nothing of it works any more. Any unexpected result panics, a Storage error above all.
/// Returns the number of calls made.
fn mixed_worker(auth: &Auth, checker: &Auth, tag: &str, iterations: usize) -> usize {
    let mut rng = Rng::new(tag.bytes().fold(7, |h, b| h * 31 + u64::from(b)));
    let mut names: Vec<String> = Vec::new();
    let mut calls = 0;
    for i in 0..iterations {
        if i % 4 == 0 {
            let name = format!("{tag}u{i}");
            must("register", auth.register(NewUser::new(&name, PASSWORD)));
            names.push(name);
            calls += 1;
        }
        let name = &names[rng.below(names.len())];
        let login = must("login", auth.login(name, PASSWORD, &ClientInfo::default()));
        must("validate", checker.validate(&login.access_token));
        let pair = must("refresh", auth.refresh(&login.refresh_token));
        let who = must("validate", auth.validate(&pair.access_token));
        assert_eq!(who.session_id, Some(login.session.id));
        must("validate on the other engine", checker.validate(&pair.access_token));
        let live = must("sessions", checker.sessions(login.user.id));
        assert!(live.iter().any(|s| s.id == login.session.id), "{tag}: session listed");
        let (ender, expected) = match rng.below(4) {
            0 => (checker, ErrorKind::RevokedToken),
            _ => (auth, ErrorKind::RevokedToken),
        };
        match rng.below(4) {
            0 => must("logout", ender.logout(&pair.access_token)),
            1 => must("revoke_session", ender.revoke_session(login.session.id)),
            2 => {
                must("revoke_all_sessions", ender.revoke_all_sessions(login.user.id));
            }
            _ => must_fail("replay", ender.refresh(&login.refresh_token), ErrorKind::TokenReused),
        }
        for (engine, token) in [(auth, &pair.access_token), (checker, &login.access_token)] {
            must_fail("validate after the end", engine.validate(token), expected);
        }
        must_fail("refresh after the end", checker.refresh(&pair.refresh_token), expected);
        calls += 10;
    }
    calls
}

fn mixed_operations(b: Backend, scale: Scale) {
    let env = Env::on(b);
    let engines = [env.open(), env.open()];
    let children: Vec<ChildProc> = (0..scale.processes)
        .map(|p| {
            let args = format!("p{p} {} {}", scale.threads, scale.iterations);
            ChildProc::spawn(&env, "mixed", &args, format!("mixed child {p}"))
        })
        .collect();
    let threads: Vec<_> = (0..scale.threads)
        .map(|t| {
            let (auth, checker) = (engines[t % 2].clone(), engines[(t + 1) % 2].clone());
            std::thread::spawn(move || {
                mixed_worker(&auth, &checker, &format!("pt{t}"), scale.iterations)
            })
        })
        .collect();
    let mut calls: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    for mut child in children {
        calls += num(&child.expect("DONE")[0]);
        child.finish();
    }
    let workers = (scale.processes + 1) * scale.threads;
    assert_eq!(calls, workers * (10 * scale.iterations + scale.iterations.div_ceil(4)));

    let count = |sql: &str| env.int(sql);
    assert_eq!(
        count("SELECT count(*) FROM users") as usize,
        workers * scale.iterations.div_ceil(4)
    );
    assert_eq!(count("SELECT count(*) FROM sessions") as usize, workers * scale.iterations);
    assert_eq!(count("SELECT count(*) FROM sessions WHERE revoked_at IS NULL"), 0);
    assert_eq!(
        count("SELECT count(*) FROM refresh_tokens WHERE spent_at IS NOT NULL") as usize,
        workers * scale.iterations,
        "exactly one rotation per session"
    );
    if b == Backend::Sqlite {
        assert_eq!(env.text("PRAGMA integrity_check"), "ok");
    }
    must("verify_audit_chain", engines[0].verify_audit_chain());
}

// ---------------------------------------------------------------------------------------
// 2. Revocation across processes
// ---------------------------------------------------------------------------------------

/// Another process revokes; validator threads here (two engines, warm caches) must refuse
/// each session from the moment the revoker's marker line arrived.
fn revoked_elsewhere_never_validates(b: Backend, scale: Scale) {
    let env = Env::on(b);
    let setup = env.open();
    let targets: Arc<Vec<Target>> =
        Arc::new((0..scale.targets).map(|i| Target::create(&setup, i)).collect());
    let mut revoker = ChildProc::spawn(&env, "revoker", "", "revoker".into());
    for target in targets.iter() {
        revoker.send(&target.to_line());
    }
    let board = Board::new(targets.len());
    let engines = [env.open(), env.open()];
    let threads: Vec<_> = (0..scale.threads)
        .map(|t| {
            let whoami = format!("validator thread {t}");
            validate_loop(engines[t % 2].clone(), targets.clone(), board.clone(), whoami)
        })
        .collect();
    for target in targets.iter() {
        // Let every validator see the session live (and cache it) before it is revoked.
        let before = board.total();
        wait_until("warm-up", &threads, || board.total() >= before + 2 * targets.len());
        board.asked[target.index].store(true, Ordering::SeqCst);
        revoker.send(&format!("REVOKE {}", target.index));
        let index = num(&revoker.expect("REVOKED")[0]);
        assert_eq!(index, target.index);
        board.revoked[index].store(true, Ordering::SeqCst);
        let enough = CHECKS_AFTER * threads.len();
        wait_until(&format!("checks of target {index}"), &threads, || {
            board.checked(index) >= enough
        });
    }
    board.stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    revoker.send("END");
    revoker.finish();
    for target in targets.iter() {
        must_fail("validate afterwards", setup.validate(&target.access), ErrorKind::RevokedToken);
    }
}

/// This process revokes; validator processes (two engines each, warm caches) must refuse
/// each session from the moment its marker line reached them.
fn validators_elsewhere_see_revocations(b: Backend, scale: Scale) {
    let env = Env::on(b);
    let engines = [env.open(), env.open()];
    let targets: Vec<Target> = (0..scale.targets).map(|i| Target::create(&engines[0], i)).collect();
    let mut validators: Vec<ChildProc> = (0..scale.processes)
        .map(|p| {
            ChildProc::spawn(
                &env,
                "validator",
                &scale.threads.to_string(),
                format!("validator {p}"),
            )
        })
        .collect();
    for v in &mut validators {
        for target in &targets {
            v.send(&target.to_line());
        }
        v.send("START");
        v.expect("STARTED");
    }
    for target in &targets {
        for v in &mut validators {
            v.send(&format!("ASKED {}", target.index));
        }
        for v in &mut validators {
            assert_eq!(num(&v.expect("ASKED")[0]), target.index);
        }
        revoke(&engines[target.index % 2], target);
        // The call has returned: from now on no validator anywhere may accept the session.
        for v in &mut validators {
            v.send(&format!("REVOKED {}", target.index));
        }
        for v in &mut validators {
            assert_eq!(num(&v.expect("CHECKED")[0]), target.index);
        }
    }
    for mut v in validators {
        v.send("END");
        let total = num(&v.expect("DONE")[0]);
        assert!(total >= scale.targets * CHECKS_AFTER, "{}: only {total} validations", v.name);
        v.finish();
    }
}

/// Two engines in this process; the first is dropped; another process comes and goes. The
/// second engine's revocation must still reach other processes. (Closing any descriptor of
/// a file drops all of the process's POSIX locks on it, SQLite's included: howtocorrupt.html
/// §2.2. Without its locks another process's last connection believes it is alone, and
/// deletes the WAL and WAL index the second engine still writes to.)
#[test]
fn dropping_one_engine_leaves_another_engines_revocations_visible_to_other_processes() {
    let env = Env::new();
    let first = env.open();
    let second = env.open();
    user(&second, "alice");
    let login = login(&second, "alice");
    drop(first);
    let mut visitor =
        ChildProc::spawn(&env, "validate-once", &login.access_token, "visitor".into());
    assert_eq!(visitor.expect("RESULT")[0], "ok", "the session is live");
    visitor.finish();

    second.revoke_session(login.session.id).unwrap();
    must_fail("this engine", second.validate(&login.access_token), ErrorKind::RevokedToken);
    let mut checker =
        ChildProc::spawn(&env, "validate-once", &login.access_token, "checker".into());
    assert_eq!(
        checker.expect("RESULT")[0],
        "RevokedToken",
        "another process still accepts a session whose revocation returned Ok here"
    );
    checker.finish();
}

// ---------------------------------------------------------------------------------------
// 3. One refresh token, many redeemers
// ---------------------------------------------------------------------------------------

fn one_winner_per_refresh_token(b: Backend, scale: Scale) {
    let env = Env::on(b);
    let engines = [env.open(), env.open()];
    user(&engines[0], "alice");
    let mut children: Vec<ChildProc> = (0..scale.processes)
        .map(|p| {
            ChildProc::spawn(&env, "redeemer", &scale.threads.to_string(), format!("redeemer {p}"))
        })
        .collect();
    for child in &mut children {
        child.expect("STARTED");
    }
    let barrier = Arc::new(Barrier::new(scale.threads));
    let (results_tx, results) = mpsc::channel::<String>();
    let (senders, threads): (Vec<_>, Vec<_>) = (0..scale.threads)
        .map(|t| {
            let (tx, rx) = mpsc::channel::<String>();
            let (auth, barrier, results) =
                (engines[t % 2].clone(), barrier.clone(), results_tx.clone());
            let thread = std::thread::spawn(move || {
                for token in rx {
                    barrier.wait();
                    results.send(outcome(auth.refresh(&token))).unwrap();
                }
            });
            (tx, thread)
        })
        .unzip();
    let redeemers = (scale.processes + 1) * scale.threads;
    for round in 0..scale.rounds {
        let login = login(&engines[round % 2], "alice");
        for child in &mut children {
            child.send(&format!("TOKEN {round} {}", login.refresh_token));
        }
        for tx in &senders {
            tx.send(login.refresh_token.clone()).unwrap();
        }
        let mut outcomes: Vec<String> =
            (0..scale.threads).map(|_| results.recv().unwrap()).collect();
        for child in &mut children {
            for _ in 0..scale.threads {
                let words = child.expect("RESULT");
                assert_eq!(num(&words[0]), round, "{}: result of another round", child.name);
                outcomes.push(words[1].clone());
            }
        }
        let winners = outcomes.iter().filter(|o| *o == "ok").count();
        let reused = outcomes.iter().filter(|o| *o == "TokenReused").count();
        assert_eq!(
            (winners, reused),
            (1, redeemers - 1),
            "round {round}: {redeemers} redeemers got {outcomes:?}"
        );
        // The losers' replays revoked the session, the winner's new tokens with it.
        let session = must("session", engines[0].session(login.session.id));
        assert!(session.revoked_at.is_some(), "round {round}: reuse revoked the session");
    }
    drop(senders);
    for t in threads {
        t.join().unwrap();
    }
    for mut child in children {
        child.send("END");
        child.finish();
    }
}

backend_tests!(
    threads_and_processes_mixing_every_operation_never_see_a_storage_error,
    a_revocation_in_another_process_is_seen_by_the_very_next_validate,
    revocations_here_are_seen_at_once_by_validators_in_other_processes,
    one_refresh_token_redeemed_at_once_by_threads_in_several_processes_has_one_winner,
);
