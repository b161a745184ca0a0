//! Memory under sustained load: peak RSS (VmHWM) after warming up, and again after N
//! validations round-robin over S sessions. The caches are bounded, so the peak must not
//! grow with N.
//!
//! ```sh
//! cargo run --release --example memory -- [VALIDATIONS=10000000] [SESSIONS=20000]
//! ```

use authlite::{Auth, ClientInfo, Config, NewUser};

const PASSWORD: &str = "correct horse battery staple";

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> authlite::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let validations = args.next().unwrap_or(10_000_000);
    let sessions = args.next().unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config { pbkdf2_iterations: 1_000, ..Config::new(dir.path().join("m.db")) };
    let auth = Auth::open_with(config)?;
    let users = sessions.div_ceil(10);
    for u in 0..users {
        auth.register(NewUser::new(format!("user{u}"), PASSWORD))?;
    }
    let tokens: Vec<String> = (0..sessions)
        .map(|i| {
            let name = format!("user{}", i % users);
            auth.login(&name, PASSWORD, &ClientInfo::default()).map(|l| l.access_token)
        })
        .collect::<authlite::Result<_>>()?;
    for t in &tokens {
        auth.validate(t)?;
    }
    let warm = peak_rss_kib();
    let started = std::time::Instant::now();
    for i in 0..validations {
        std::hint::black_box(auth.validate(&tokens[i % tokens.len()])?);
    }
    let after = peak_rss_kib();
    println!(
        "{sessions} sessions: peak RSS {warm} KiB after warm-up, {after} KiB after \
         {validations} validations ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
