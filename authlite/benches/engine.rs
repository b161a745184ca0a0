//! Hot paths of the engine, and "the floor" (DESIGN §7) measured in the same run: the bare
//! work any stateful validator must do — jsonwebtoken HS256 decode plus one prepared,
//! indexed SQLite read joining session and user state — so engine/floor is a real ratio.
//!
//! `cargo bench --bench engine` runs everything; filter with e.g. `-- validate/1000000`.
//! `-- backends` compares SQLite and PostgreSQL (see [`backends`]).
//! Session counts come from `AUTHLITE_BENCH_SIZES` (default `1000,1000000`). Each database
//! is built once under the workspace's `target/bench-data/` and reused by later runs.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authlite::{ApiKeySpec, Auth, ClientInfo, Config, NewUser};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};

const PASSWORD: &str = "correct horse battery staple";
/// Distinct tokens each validate benchmark cycles through, spread over all sessions.
const TOKENS: usize = 1000;
const USERS_PER_SESSION: usize = 10;

fn sizes() -> Vec<usize> {
    std::env::var("AUTHLITE_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn config(path: &Path) -> Config {
    Config { pbkdf2_iterations: 1_000, ..Config::new(path) }
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A tiny deterministic generator, so every run samples the same sessions.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Two threads each make `iters` calls side by side, `call(t, i)` on thread `t`; the time
/// is the slower thread's, so a figure equal to the one-thread one means they scaled.
fn two_threads(iters: u64, call: impl Fn(usize, usize) + Sync) -> Duration {
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let (call, start) = (&call, &start);
                s.spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    (0..iters as usize).for_each(|i| call(t, i));
                    began.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    })
}

/// A database with `n` live sessions over `n / 10` users, built with bulk SQL once and
/// kept under target/bench-data for later runs.
fn database(n: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("sessions-{n}.db"));
    let complete = || -> Option<i64> {
        let conn = rusqlite::Connection::open(&path).ok()?;
        conn.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0)).ok()
    };
    if path.exists() && complete() == Some(n as i64) {
        return path;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    // The engine creates the schema, the signing key and one user whose hash is reused.
    Auth::open_with(config(&path)).unwrap().register(NewUser::new("template", PASSWORD)).unwrap();
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    let now = now_secs() * 1000;
    let far = now + 3650 * 86_400_000;
    {
        let hash: String =
            tx.query_row("SELECT password_hash FROM users WHERE id = 1", [], |r| r.get(0)).unwrap();
        let mut user = tx
            .prepare(
                "INSERT INTO users (username, username_key, password_hash, created_at, updated_at) \
                 VALUES (?1, ?1, ?2, ?3, ?3)",
            )
            .unwrap();
        for u in 0..(n / USERS_PER_SESSION).max(1) {
            user.execute(rusqlite::params![format!("user{u}"), hash, now]).unwrap();
        }
        let mut session = tx
            .prepare(
                "INSERT INTO sessions (user_id, created_at, last_refreshed_at, idle_expires_at, \
                 expires_at) VALUES (?1, ?2, ?2, ?3, ?3)",
            )
            .unwrap();
        let users = (n / USERS_PER_SESSION).max(1) as i64;
        for s in 0..n as i64 {
            session.execute(rusqlite::params![2 + s % users, now, far]).unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;").unwrap();
    path
}

/// Puts every session of the database in one organization whose members (every account)
/// hold the role `clerk` there (`on`), or takes it all away again.
fn in_organization(path: &Path, on: bool) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let sql = if on {
        "BEGIN;
         INSERT INTO roles (name, created_at) VALUES ('clerk', 0) ON CONFLICT DO NOTHING;
         INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'bench', 'Bench', 0);
         INSERT INTO memberships (org_id, user_id, joined_at) SELECT 1, id, 0 FROM users;
         INSERT INTO member_roles (org_id, user_id, role_id)
             SELECT 1, id, (SELECT id FROM roles WHERE name = 'clerk') FROM users;
         UPDATE sessions SET organization_id = 1;
         COMMIT;"
    } else {
        "BEGIN; UPDATE sessions SET organization_id = NULL;
         DELETE FROM organizations; DELETE FROM roles WHERE name = 'clerk'; COMMIT;"
    };
    conn.execute_batch(sql).unwrap();
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    sid: String,
    jti: String,
    iat: i64,
    exp: i64,
    ver: i64,
    iid: String,
}

/// Access tokens for `TOKENS` sessions sampled across the whole table, signed with the
/// database's key exactly as the engine signs them.
fn tokens(path: &Path, n: usize) -> Vec<String> {
    drop(Auth::open_with(config(path)).unwrap()); // records the instance id of an older file
    let conn = rusqlite::Connection::open(path).unwrap();
    let iid: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'instance_id'", [], |r| r.get(0))
        .unwrap();
    let iid = String::from_utf8(iid).unwrap();
    let (kid, secret): (String, Vec<u8>) = conn
        .query_row("SELECT kid, secret FROM signing_keys WHERE retired_at IS NULL", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let key = jsonwebtoken::EncodingKey::from_secret(&secret);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let max_session: i64 =
        conn.query_row("SELECT max(id) FROM sessions", [], |r| r.get(0)).unwrap();
    (0..TOKENS)
        .map(|i| {
            let sid = 1 + rng.below(n.min(max_session as usize)) as i64;
            let sub: i64 = conn
                .query_row("SELECT user_id FROM sessions WHERE id = ?1", [sid], |r| r.get(0))
                .unwrap();
            let claims = Claims {
                iss: "authlite".into(),
                aud: "authlite".into(),
                sub: sub.to_string(),
                sid: sid.to_string(),
                jti: format!("bench-{i:06}-{sid}"),
                iat: now_secs(),
                exp: now_secs() + 3600,
                ver: 0,
                iid: iid.clone(),
            };
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        })
        .collect()
}

const FLOOR_QUERY: &str = "SELECT s.user_id, s.revoked_at, s.idle_expires_at, s.expires_at, \
     u.active, u.token_version FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1";

fn validate(c: &mut Criterion) {
    for n in sizes() {
        let path = database(n);
        let tokens = tokens(&path, n);
        let auth = Auth::open_with(config(&path)).unwrap();
        for t in &tokens {
            auth.validate(t).expect("bench tokens are genuine");
        }
        let mut group = c.benchmark_group(format!("validate/{n}"));
        let mut i = 0;
        let mut next = || {
            i = (i + 1) % tokens.len();
            &tokens[i]
        };
        group.bench_function("engine", |b| b.iter(|| black_box(auth.validate(next()).unwrap())));
        // The same tokens with an active organization in which their accounts hold a role
        // (DESIGN §14: read in the same validation read), then back to none.
        in_organization(&path, true);
        assert!(auth.validate(&tokens[0]).unwrap().organization_id.is_some());
        group
            .bench_function("engine_org", |b| b.iter(|| black_box(auth.validate(next()).unwrap())));
        in_organization(&path, false);
        // Thread t cycles through its own half of the tokens.
        let half = |t: usize, i: usize| &tokens[t * tokens.len() / 2 + i % (tokens.len() / 2)];
        group.bench_function("engine_2threads", |b| {
            b.iter_custom(|n| {
                two_threads(n, |t, i| {
                    black_box(auth.validate(half(t, i)).unwrap());
                })
            })
        });
        group.bench_function("stateless_2threads", |b| {
            b.iter_custom(|n| {
                two_threads(n, |t, i| {
                    black_box(auth.validate_stateless(half(t, i)).unwrap());
                })
            })
        });

        let uncached =
            Auth::open_with(Config { validate_cache_capacity: 0, ..config(&path) }).unwrap();
        group.bench_function("engine_uncached", |b| {
            b.iter(|| black_box(uncached.validate(next()).unwrap()))
        });
        group.bench_function("stateless", |b| {
            b.iter(|| black_box(auth.validate_stateless(next()).unwrap()))
        });

        // The other credentials on the same database, each on a cache hit, beside the bare
        // cryptography they cannot avoid (their "stateless part").
        let svc = auth.create_service_account(&format!("bench-svc-{}", now_secs())).unwrap();
        let key = auth.create_api_key(svc.id, ApiKeySpec::new("bench")).unwrap().secret;
        group.bench_function("api_key", |b| {
            b.iter(|| black_box(auth.validate_api_key(&key).unwrap()))
        });
        group.bench_function("api_key_2threads", |b| {
            b.iter_custom(|n| {
                two_threads(n, |_, _| {
                    black_box(auth.validate_api_key(&key).unwrap());
                })
            })
        });
        group.bench_function("api_key_crypto", |b| {
            b.iter(|| {
                let (body, _) = key.rsplit_once('.').unwrap();
                black_box(crc32fast::hash(body.as_bytes()));
                black_box(<sha2::Sha256 as sha2::Digest>::digest(&body.as_bytes()[27..]))
            })
        });
        let service = auth.issue_service_token(&key).unwrap().access_token;
        group.bench_function("service_token", |b| {
            b.iter(|| black_box(auth.validate(&service).unwrap()))
        });
        let qr = auth.issue_scoped("table", "42", Duration::from_secs(86_400)).unwrap();
        group.bench_function("scoped", |b| {
            b.iter(|| black_box(auth.verify_scoped(&qr, "table").unwrap()))
        });
        group.bench_function("scoped_2threads", |b| {
            b.iter_custom(|n| {
                two_threads(n, |_, _| {
                    black_box(auth.verify_scoped(&qr, "table").unwrap());
                })
            })
        });
        group.bench_function("scoped_crypto", |b| {
            use hmac::{KeyInit, Mac};
            b.iter(|| {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[7u8; 32]).unwrap();
                mac.update(qr.as_bytes());
                black_box(mac.finalize())
            })
        });

        // The floor: a raw connection, a prepared statement, jsonwebtoken's own checks.
        let conn = rusqlite::Connection::open(&path).unwrap();
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
                let data = jsonwebtoken::decode::<Claims>(next(), &key, &validation).unwrap();
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
        // A refresh rotation on the same (large) database.
        let mut refresh =
            auth.login("template", PASSWORD, &ClientInfo::default()).unwrap().refresh_token;
        group.bench_function("refresh", |b| {
            b.iter(|| refresh = auth.refresh(&refresh).unwrap().refresh_token)
        });
        group.finish();
    }
}

fn writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open_with(config(&dir.path().join("writes.db"))).unwrap();
    for u in 0..3 {
        auth.register(NewUser::new(format!("user{u}"), PASSWORD)).unwrap();
    }
    let mut group = c.benchmark_group("write");
    let mut refresh_token =
        auth.login("user0", PASSWORD, &ClientInfo::default()).unwrap().refresh_token;
    group.bench_function("refresh", |b| {
        b.iter(|| refresh_token = auth.refresh(&refresh_token).unwrap().refresh_token)
    });
    group.bench_function("login_1k_iterations", |b| {
        b.iter(|| black_box(auth.login("user1", PASSWORD, &ClientInfo::default()).unwrap()))
    });
    group.bench_function("logout", |b| {
        b.iter_batched(
            || auth.login("user2", PASSWORD, &ClientInfo::default()).unwrap().access_token,
            |token| auth.logout(&token).unwrap(),
            BatchSize::SmallInput,
        )
    });
    bare_writes(&mut group, &dir.path().join("writes.db"));
    let mut n = 0u64;
    group.bench_function("register_1k_iterations", |b| {
        b.iter(|| {
            n += 1;
            black_box(auth.register(NewUser::new(format!("new{n}"), PASSWORD)).unwrap());
        })
    });
    group.finish();
}

/// The same rows `logout` and `refresh` write, as bare SQL transactions on a raw connection
/// with the engine's pragmas (WAL, synchronous=NORMAL, secure_delete): what any engine must
/// pay, so write/bare is a real ratio. Logout: the session row and an audit row. Refresh:
/// spend the token, slide the session, insert the next token, an audit row.
fn bare_writes(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    path: &Path,
) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON;",
    )
    .unwrap();
    let now = now_secs() * 1000;
    let far = now + 86_400_000;
    let new_session = |conn: &rusqlite::Connection| -> i64 {
        conn.prepare_cached(
            "INSERT INTO sessions (user_id, created_at, last_refreshed_at, idle_expires_at, \
             expires_at) VALUES (1, ?1, ?1, ?2, ?2)",
        )
        .unwrap()
        .execute([now, far])
        .unwrap();
        conn.last_insert_rowid()
    };
    let audit = |conn: &rusqlite::Connection, session: i64| {
        let id: i64 = conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM audit_log", [], |r| r.get(0))
            .unwrap();
        conn.prepare_cached(
            "INSERT INTO audit_log (id, at, kind, user_id, session_id, mac) \
             VALUES (?1, ?2, 'logout', 1, ?3, zeroblob(32))",
        )
        .unwrap()
        .execute(rusqlite::params![id, now, session])
        .unwrap();
    };
    group.bench_function("bare_logout_tx", |b| {
        b.iter_batched(
            || new_session(&conn),
            |session| {
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                conn.prepare_cached(
                    "UPDATE sessions SET revoked_at = ?2, revoke_reason = 'logout' \
                     WHERE id = ?1 AND revoked_at IS NULL",
                )
                .unwrap()
                .execute([session, now])
                .unwrap();
                audit(&conn, session);
                conn.execute_batch("COMMIT").unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    let session = new_session(&conn);
    let mut selector = 0u64;
    conn.execute(
        "INSERT INTO refresh_tokens (selector, session_id, secret_hash, created_at) \
         VALUES ('bare-0', ?1, zeroblob(32), ?2)",
        [session, now],
    )
    .unwrap();
    group.bench_function("bare_refresh_tx", |b| {
        b.iter(|| {
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            conn.prepare_cached(
                "UPDATE refresh_tokens SET spent_at = ?2 WHERE selector = ?1 AND spent_at IS NULL",
            )
            .unwrap()
            .execute(rusqlite::params![format!("bare-{selector}"), now])
            .unwrap();
            conn.prepare_cached(
                "UPDATE sessions SET last_refreshed_at = ?2, idle_expires_at = ?3 WHERE id = ?1",
            )
            .unwrap()
            .execute([session, now, far])
            .unwrap();
            selector += 1;
            conn.prepare_cached(
                "INSERT INTO refresh_tokens (selector, session_id, secret_hash, created_at) \
                 VALUES (?1, ?2, zeroblob(32), ?3)",
            )
            .unwrap()
            .execute(rusqlite::params![format!("bare-{selector}"), session, now])
            .unwrap();
            audit(&conn, session);
            conn.execute_batch("COMMIT").unwrap();
        })
    });
}

/// Login at the default 600,000 iterations next to the same PBKDF2 call alone: the
/// difference is the engine's own work (the budget is < 2% of the total).
fn login_default(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open(dir.path().join("login.db")).unwrap();
    auth.register(NewUser::new("alice", PASSWORD)).unwrap();
    let mut group = c.benchmark_group("login_600k");
    group.sample_size(20).measurement_time(Duration::from_secs(15));
    group.bench_function("login", |b| {
        b.iter(|| black_box(auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap()))
    });
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

/// A wrong password for an unknown name and for an account imported at a cheaper cost
/// (passlib-era 29,000 rounds) at the default 600,000: the medians must match (within 5%),
/// or imported accounts that never logged in could be enumerated by timing.
fn login_timing(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // No lockout or address throttling: every attempt must reach the hash.
    let config = Config {
        lockout_threshold: 0,
        address_max_failures: 0,
        ..Config::new(dir.path().join("timing.db"))
    };
    let auth = Auth::open_with(config).unwrap();
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSWORD.as_bytes(), b"oldsalt", 29_000, &mut hash);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
    auth.import_user("imported", format!("pbkdf2_sha256$29000$oldsalt${b64}")).unwrap();
    let mut group = c.benchmark_group("wrong_password_600k");
    group.sample_size(20).measurement_time(Duration::from_secs(15));
    for name in ["unknown", "imported"] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let e = auth.login(name, "not the password", &ClientInfo::default()).unwrap_err();
                black_box(e)
            })
        });
    }
    group.finish();
}

/// A password-reset request for a known and for an unknown name: the same work (a secret
/// and one audited write transaction), so the medians must agree.
fn reset_timing(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let auth = Auth::open_with(config(&dir.path().join("reset.db"))).unwrap();
    auth.register(NewUser::new("alice", PASSWORD)).unwrap();
    let mut group = c.benchmark_group("password_reset_request");
    for name in ["alice", "nobody"] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(auth.request_password_reset(name).unwrap()))
        });
    }
    group.finish();
}

/// The same hot paths on each backend in one run (`-- backends`): SQLite on a temp file, and
/// PostgreSQL (feature `postgres`) on a fresh schema of the database named by
/// `AUTHLITE_BENCH_POSTGRES_URL` when set. Login runs at 1,000 iterations beside PBKDF2 at
/// 1,000 alone, so login − pbkdf2 is the engine's own work.
fn backends(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    let mut targets = vec![("sqlite", dir.path().join("backends.db").to_str().unwrap().to_owned())];
    #[cfg(feature = "postgres")]
    let _schema = std::env::var("AUTHLITE_BENCH_POSTGRES_URL").ok().map(|base| {
        let schema = format!("bench_{}", std::process::id());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        targets.push(("postgres", format!("{base}{sep}options=-csearch_path%3D{schema}")));
        DropSchema(base, schema)
    });
    let mut group = c.benchmark_group("backends");
    for (name, target) in &targets {
        let auth = Auth::open_with(config(Path::new(target))).unwrap();
        for u in 0..3 {
            auth.register(NewUser::new(format!("user{u}"), PASSWORD)).unwrap();
        }
        let client = ClientInfo::default();
        let tokens: Vec<String> =
            (0..64).map(|_| auth.login("user0", PASSWORD, &client).unwrap().access_token).collect();
        let mut i = 0;
        group.bench_function(format!("{name}/validate"), |b| {
            b.iter(|| {
                i = (i + 1) % tokens.len();
                black_box(auth.validate(&tokens[i]).unwrap())
            })
        });
        // @staleness (a PostgreSQL engine with `postgres_staleness`: validate from its cache)
        #[cfg(feature = "postgres")]
        if *name == "postgres" {
            let bound = Some(std::time::Duration::from_secs(1));
            let cached =
                Auth::open_with(Config { postgres_staleness: bound, ..config(Path::new(target)) })
                    .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300)); // the first poll
            group.bench_function("postgres_staleness/validate", |b| {
                b.iter(|| {
                    i = (i + 1) % tokens.len();
                    black_box(cached.validate(&tokens[i]).unwrap())
                })
            });
        }
        // @end staleness
        let mut refresh_token = auth.login("user1", PASSWORD, &client).unwrap().refresh_token;
        group.bench_function(format!("{name}/refresh"), |b| {
            b.iter(|| refresh_token = auth.refresh(&refresh_token).unwrap().refresh_token)
        });
        group.bench_function(format!("{name}/login_1k_iterations"), |b| {
            b.iter(|| black_box(auth.login("user2", PASSWORD, &client).unwrap()))
        });
        group.bench_function(format!("{name}/logout"), |b| {
            b.iter_batched(
                || auth.login("user2", PASSWORD, &client).unwrap().access_token,
                |token| auth.logout(&token).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    let pbkdf2 =
        pbkdf2::Pbkdf2::new(pbkdf2::Algorithm::Pbkdf2Sha256, pbkdf2::Params::new(1_000).unwrap());
    group.bench_function("pbkdf2_1k_alone", |b| {
        b.iter(|| {
            use pbkdf2::password_hash::PasswordHasher;
            black_box(pbkdf2.hash_password_with_salt(PASSWORD.as_bytes(), &[7u8; 16]).unwrap());
        })
    });
    group.finish();
}

/// Drops the bench's PostgreSQL schema at the end of the run.
#[cfg(feature = "postgres")]
struct DropSchema(String, String);

#[cfg(feature = "postgres")]
impl Drop for DropSchema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.0, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.1));
        }
    }
}

criterion_group!(benches, validate, writes, backends, login_default, login_timing, reset_timing);
criterion_main!(benches);
