//! Hot paths of the engine, and "the floor" (DESIGN §7) measured in the same run: the bare
//! work any stateful validator must do — jsonwebtoken HS256 decode plus one prepared,
//! indexed SQLite read joining session and user state — so engine/floor is a real ratio.
//!
//! `cargo bench --bench engine` (add `-- validate` to filter). Sizes via
//! `AUTHLITE_BENCH_SESSIONS` (default 1000).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use authlite::{Auth, ClientInfo, Config, NewUser};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde::Deserialize;

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    auth: Auth,
    tokens: Vec<String>,
}

fn sessions() -> usize {
    std::env::var("AUTHLITE_BENCH_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}

fn config(path: &Path) -> Config {
    Config { pbkdf2_iterations: 1_000, ..Config::new(path) }
}

/// `n` sessions over `n / 10 + 1` users; keeps the access tokens.
fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let auth = Auth::open_with(config(&path)).unwrap();
    let users = n / 10 + 1;
    for u in 0..users {
        auth.register(NewUser::new(format!("user{u}"), PASSWORD)).unwrap();
    }
    let tokens = (0..n)
        .map(|i| {
            auth.login(&format!("user{}", i % users), PASSWORD, &ClientInfo::default())
                .unwrap()
                .access_token
        })
        .collect();
    Fixture { _dir: dir, path, auth, tokens }
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorClaims {
    sub: String,
    sid: String,
    jti: String,
    exp: i64,
    ver: i64,
}

const FLOOR_QUERY: &str = "SELECT s.user_id, s.revoked_at, s.idle_expires_at, s.expires_at, \
     u.active, u.token_version FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1";

fn validate(c: &mut Criterion) {
    let n = sessions();
    let f = fixture(n);
    let mut group = c.benchmark_group(format!("validate/{n}"));
    let mut i = 0;
    group.bench_function("engine", |b| {
        b.iter(|| {
            i = (i + 1) % f.tokens.len();
            black_box(f.auth.validate(&f.tokens[i]).unwrap());
        })
    });

    let uncached =
        Auth::open_with(Config { validate_cache_capacity: 0, ..config(&f.path) }).unwrap();
    group.bench_function("engine_uncached", |b| {
        b.iter(|| {
            i = (i + 1) % f.tokens.len();
            black_box(uncached.validate(&f.tokens[i]).unwrap());
        })
    });

    group.bench_function("stateless", |b| {
        b.iter(|| {
            i = (i + 1) % f.tokens.len();
            black_box(f.auth.validate_stateless(&f.tokens[i]).unwrap());
        })
    });

    // The floor: a raw connection with the same pragmas and a prepared statement.
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
    let secret: Vec<u8> = conn
        .query_row("SELECT secret FROM signing_keys WHERE retired_at IS NULL", [], |r| r.get(0))
        .unwrap();
    let key = jsonwebtoken::DecodingKey::from_secret(&secret);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["authlite"]);
    validation.set_issuer(&["authlite"]);
    let mut stmt = conn.prepare(FLOOR_QUERY).unwrap();
    group.bench_function("floor", |b| {
        b.iter(|| {
            i = (i + 1) % f.tokens.len();
            let data =
                jsonwebtoken::decode::<FloorClaims>(&f.tokens[i], &key, &validation).unwrap();
            let sid: i64 = data.claims.sid.parse().unwrap();
            let row = stmt
                .query_row([sid], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .unwrap();
            black_box(row);
        })
    });
    group.finish();
}

fn writes(c: &mut Criterion) {
    let f = fixture(100);
    let mut group = c.benchmark_group("write");
    let mut refresh_token =
        f.auth.login("user0", PASSWORD, &ClientInfo::default()).unwrap().refresh_token;
    group.bench_function("refresh", |b| {
        b.iter(|| {
            refresh_token = f.auth.refresh(&refresh_token).unwrap().refresh_token;
        })
    });
    group.bench_function("login_1k_iterations", |b| {
        b.iter(|| black_box(f.auth.login("user1", PASSWORD, &ClientInfo::default()).unwrap()))
    });
    group.bench_function("logout", |b| {
        b.iter_batched(
            || f.auth.login("user2", PASSWORD, &ClientInfo::default()).unwrap().access_token,
            |token| f.auth.logout(&token).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let mut n = 0u64;
    group.bench_function("register_1k_iterations", |b| {
        b.iter(|| {
            n += 1;
            black_box(f.auth.register(NewUser::new(format!("new{n}"), PASSWORD)).unwrap());
        })
    });
    group.finish();
}

/// Login at the default 600,000 iterations next to PBKDF2 alone: the difference is the
/// engine's own work (the budget is < 2%).
fn login_default(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let auth = Auth::open(&path).unwrap();
    auth.register(NewUser::new("alice", PASSWORD)).unwrap();
    let mut group = c.benchmark_group("login_600k");
    group.sample_size(20).measurement_time(Duration::from_secs(15));
    group.bench_function("login", |b| {
        b.iter(|| black_box(auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap()))
    });
    // The same PBKDF2 call login's verification makes, alone.
    let pbkdf2 =
        pbkdf2::Pbkdf2::new(pbkdf2::Algorithm::Pbkdf2Sha256, pbkdf2::Params::new(600_000).unwrap());
    group.bench_function("pbkdf2_alone", |b| {
        b.iter(|| {
            use pbkdf2::password_hash::PasswordHasher;
            black_box(pbkdf2.hash_password_with_salt(PASSWORD.as_bytes(), &[7u8; 16]).unwrap());
        })
    });
    group.finish();
}

criterion_group!(benches, validate, writes, login_default);
criterion_main!(benches);
