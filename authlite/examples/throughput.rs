//! Validation throughput: N threads validating access tokens for S seconds against one
//! engine on one database file; prints ops/s and latency percentiles, then the same for
//! one thread, so scaling can be read off one run.
//!
//! ```sh
//! cargo run --release --example throughput -- [THREADS=2] [SECONDS=5] [SESSIONS=1000]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use authlite::{Auth, ClientInfo, Config, NewUser};

const PASSWORD: &str = "correct horse battery staple";

fn main() -> authlite::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let threads = args.next().unwrap_or(2);
    let seconds = args.next().unwrap_or(5) as u64;
    let sessions = args.next().unwrap_or(1000);

    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config { pbkdf2_iterations: 1_000, ..Config::new(dir.path().join("tp.db")) };
    let auth = Auth::open_with(config)?;
    let users = sessions.div_ceil(10);
    for u in 0..users {
        auth.register(NewUser::new(format!("user{u}"), PASSWORD))?;
    }
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..sessions)
            .map(|i| {
                let name = format!("user{}", i % users);
                auth.login(&name, PASSWORD, &ClientInfo::default()).map(|l| l.access_token)
            })
            .collect::<authlite::Result<_>>()?,
    );
    println!("{sessions} sessions, {seconds} s per run");
    let mut single = None;
    for n in [1, threads] {
        let (ops, p50, p99) = run(&auth, &tokens, n, Duration::from_secs(seconds));
        let rate = ops as f64 / seconds as f64;
        let scale = single.map(|s| format!("  ({:.2}x one thread)", rate / s)).unwrap_or_default();
        println!("{n} thread(s): {rate:>10.0} validations/s  p50 {p50:?}  p99 {p99:?}{scale}");
        single.get_or_insert(rate);
    }
    Ok(())
}

/// Runs `threads` validating loops for `time`; returns total ops and p50/p99 latency.
fn run(
    auth: &Auth,
    tokens: &Arc<Vec<String>>,
    threads: usize,
    time: Duration,
) -> (u64, Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (auth, tokens, stop) = (auth.clone(), tokens.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(1 << 20);
                let mut i = t * 7919;
                while !stop.load(Ordering::Relaxed) {
                    i = (i + 1) % tokens.len();
                    let start = Instant::now();
                    auth.validate(&tokens[i]).expect("valid");
                    latencies.push(start.elapsed());
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(time);
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> =
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (all.len() as u64, pick(0.50), pick(0.99))
}
