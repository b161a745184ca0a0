//! PostgreSQL in production (DESIGN §10): the staleness-bounded cache across engines and
//! processes, its faults (a killed listener, lost notifications), stalled networks, calls
//! from async code, and TLS against a private server started with `ssl=on`.
//!
//! All of these need a real PostgreSQL (`AUTHLITE_TEST_POSTGRES_URL` at build time);
//! without it they are reported ignored.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authlite::{Auth, ClientInfo, Config, ErrorKind};

use crate::common::{Backend, Env, PASSWORD, config_for, login, user};

const BOUND: Duration = Duration::from_millis(250);

macro_rules! pg_test {
    ($(fn $name:ident() $body:block)*) => {
        $(
            #[test]
            #[cfg_attr(
                not(authlite_pg_tests),
                ignore = "needs AUTHLITE_TEST_POSTGRES_URL (and the postgres feature)"
            )]
            fn $name() $body
        )*
    };
}

fn fresh_config(env: &Env) -> Config {
    Config { postgres_staleness: Some(BOUND), ..config_for(&env.path, &env.clock) }
}

/// Runs `sql` in `psql`: another process, behind every engine's back.
fn psql(env: &Env, sql: &str) {
    let url = env.path.to_str().expect("URL");
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql runs (postgresql-client)");
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn revoke_all_by_sql(env: &Env) {
    psql(env, "UPDATE sessions SET revoked_at = 1");
}

const UNTRIGGERED: &str = "SELECT t.tablename::text FROM pg_tables t \
     WHERE t.schemaname = current_schema() AND t.tablename <> 'change_counter' \
     AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgname = 'authlite_changed' \
     AND g.tgrelid = (quote_ident(t.schemaname) || '.' || quote_ident(t.tablename))::regclass)";

pg_test! {
    fn a_version_9_database_gets_its_change_counter() {
        let env = Env::on(Backend::Postgres);
        let auth = Auth::open_with(config_for(&env.path, &env.clock)).unwrap();
        user(&auth, "ada");
        let session = login(&auth, "ada");
        drop(auth);
        env.exec(
            "DROP TABLE oidc_flows; DROP TABLE identities; \
             DO $$ DECLARE t TEXT; BEGIN FOR t IN SELECT tablename FROM pg_tables \
             WHERE schemaname = current_schema() AND tablename <> 'change_counter' LOOP \
             EXECUTE format('DROP TRIGGER authlite_changed ON %I', t); END LOOP; END $$; \
             DROP TABLE change_counter; DROP FUNCTION authlite_changed(); \
             UPDATE schema_version SET version = 9",
        );
        let auth = Auth::open_with(fresh_config(&env)).unwrap();
        assert_eq!(env.int("SELECT max(version) FROM schema_version"), 11);
        assert!(env.texts(UNTRIGGERED).is_empty());
        auth.validate(&session.access_token).unwrap();
        revoke_all_by_sql(&env);
        std::thread::sleep(BOUND);
        assert_eq!(
            auth.validate(&session.access_token).unwrap_err().kind(),
            ErrorKind::RevokedToken
        );
    }

    fn every_table_advances_the_change_counter() {
        let env = Env::on(Backend::Postgres);
        drop(Auth::open_with(config_for(&env.path, &env.clock)).unwrap());
        let untriggered = env.texts(UNTRIGGERED);
        assert!(untriggered.is_empty(), "tables without the change trigger: {untriggered:?}");
        let before = env.int("SELECT n FROM change_counter");
        psql(&env, "UPDATE users SET id = id WHERE false");
        let after = env.int("SELECT n FROM change_counter");
        assert_eq!(after, before + 1, "raw SQL advanced it too");
        psql(
            &env,
            "BEGIN; UPDATE users SET id = id WHERE false; \
             DELETE FROM sessions WHERE false; COMMIT",
        );
        assert_eq!(env.int("SELECT n FROM change_counter"), after + 1, "once per transaction");
    }

    fn a_revocation_by_another_engine_is_refused_once_the_call_returns() {
        let env = Env::on(Backend::Postgres);
        let a = Auth::open_with(fresh_config(&env)).unwrap();
        let b = Auth::open_with(fresh_config(&env)).unwrap();
        user(&a, "ada");
        let session = login(&a, "ada");
        for _ in 0..3 {
            a.validate(&session.access_token).unwrap();
        }
        let started = Instant::now();
        b.logout(&session.access_token).unwrap();
        assert!(started.elapsed() >= BOUND, "a revoking call returns only after the bound");
        let e = a.validate(&session.access_token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevokedToken, "{e}");
        // And the revoking engine itself at once.
        assert_eq!(b.validate(&session.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    }

    fn revoking_calls_wait_out_the_bound_side_by_side() {
        // The wait is after the commit, outside the process's writer queue: two logouts at
        // once take one bound, not two. A long bound keeps the margin between one and two
        // bounds far above what a loaded CI machine adds to two logouts.
        const LONG: Duration = Duration::from_secs(3);
        let env = Env::on(Backend::Postgres);
        let config = Config { postgres_staleness: Some(LONG), ..config_for(&env.path, &env.clock) };
        let auth = Auth::open_with(config).unwrap();
        user(&auth, "ada");
        let sessions = [login(&auth, "ada"), login(&auth, "ada")];
        let started = Instant::now();
        std::thread::scope(|scope| {
            for session in &sessions {
                let auth = &auth;
                scope.spawn(move || auth.logout(&session.access_token).unwrap());
            }
        });
        let took = started.elapsed();
        assert!(took >= LONG && took < 2 * LONG, "two logouts took {took:?}");
    }

    fn the_cache_serves_until_the_counter_moves() {
        // With the trigger off, a raw revocation leaves the counter alone: the engine keeps
        // answering from its cache (proof that hits are served), one without the cache
        // refuses, and the next counted change drops the entry.
        let env = Env::on(Backend::Postgres);
        let cached = Auth::open_with(fresh_config(&env)).unwrap();
        let reading = Auth::open_with(config_for(&env.path, &env.clock)).unwrap();
        user(&cached, "ada");
        let session = login(&cached, "ada");
        // Let the listener's poll catch up with that commit (it may report the counter
        // from before it once more, which drops what was cached in between).
        std::thread::sleep(BOUND);
        cached.validate(&session.access_token).unwrap();
        cached.validate(&session.access_token).unwrap();
        psql(
            &env,
            "ALTER TABLE sessions DISABLE TRIGGER authlite_changed; \
             UPDATE sessions SET revoked_at = 1; \
             ALTER TABLE sessions ENABLE TRIGGER authlite_changed",
        );
        std::thread::sleep(BOUND);
        cached.validate(&session.access_token).expect("served from the cache");
        assert_eq!(
            reading.validate(&session.access_token).unwrap_err().kind(),
            ErrorKind::RevokedToken
        );
        psql(&env, "UPDATE users SET id = id WHERE false");
        std::thread::sleep(BOUND);
        assert_eq!(
            cached.validate(&session.access_token).unwrap_err().kind(),
            ErrorKind::RevokedToken
        );
    }

    fn a_revocation_by_raw_sql_in_another_process_is_refused_within_the_bound() {
        let env = Env::on(Backend::Postgres);
        let auth = Auth::open_with(fresh_config(&env)).unwrap();
        user(&auth, "ada");
        let session = login(&auth, "ada");
        auth.validate(&session.access_token).unwrap();
        auth.validate(&session.access_token).unwrap();
        revoke_all_by_sql(&env);
        std::thread::sleep(BOUND);
        let e = auth.validate(&session.access_token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevokedToken, "{e}");
    }

    fn a_killed_listener_costs_reads_never_stale_answers() {
        let env = Env::on(Backend::Postgres);
        let auth = Auth::open_with(fresh_config(&env)).unwrap();
        user(&auth, "ada");
        let session = login(&auth, "ada");
        auth.validate(&session.access_token).unwrap();
        let killed = env.int(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'authlite-freshness' \
             AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())",
        );
        assert!(killed >= 1, "the listener was found and killed");
        revoke_all_by_sql(&env);
        std::thread::sleep(BOUND);
        let e = auth.validate(&session.access_token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevokedToken, "{e}");
        // The listener comes back: a fresh session is served again, and a revocation seen.
        let again = login(&auth, "ada");
        auth.validate(&again.access_token).unwrap();
        auth.logout(&again.access_token).unwrap();
        assert_eq!(auth.validate(&again.access_token).unwrap_err().kind(), ErrorKind::RevokedToken);
    }

    fn lost_notifications_still_leave_answers_bounded() {
        // A proxy that drops every NotificationResponse: what a pooler that breaks LISTEN
        // does. The poll alone keeps the bound.
        let env = Env::on(Backend::Postgres);
        let proxy = Proxy::start(env.path.to_str().unwrap());
        proxy.drop_notifications.store(true, Ordering::SeqCst);
        let auth = Auth::open_with(Config {
            postgres_staleness: Some(BOUND),
            ..config_for(Path::new(&proxy.url), &env.clock)
        })
        .unwrap();
        user(&auth, "ada");
        let session = login(&auth, "ada");
        auth.validate(&session.access_token).unwrap();
        revoke_all_by_sql(&env);
        std::thread::sleep(BOUND);
        let e = auth.validate(&session.access_token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevokedToken, "{e}");
        assert!(proxy.dropped.load(Ordering::SeqCst), "notifications were sent and dropped");
    }

    fn a_stalled_server_fails_calls_with_storage_in_time_and_the_pool_recovers() {
        // On a private server: the shared test database's advisory lock is held by other
        // tests' migrations often enough to trip a 1 s deadline on its own.
        let cluster = Cluster::start(Tls::Off);
        let env = Env::on(Backend::Sqlite); // for its clock
        let proxy =
            Proxy::start(&format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port));
        let auth = Auth::open_with(Config {
            postgres_timeout: Duration::from_secs(1),
            ..config_for(Path::new(&proxy.url), &env.clock)
        })
        .unwrap();
        user(&auth, "ada");
        let session = login(&auth, "ada");
        auth.validate(&session.access_token).unwrap();
        proxy.stalled.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let e = auth.validate(&session.access_token).unwrap_err();
        let waited = started.elapsed();
        assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
        assert!(e.to_string().contains("postgres_timeout"), "{e}");
        assert!(waited < Duration::from_secs(6), "bounded by postgres_timeout: {waited:?}");
        let e = auth.login("ada", PASSWORD, &ClientInfo::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Storage, "writes fail closed too: {e}");
        proxy.stalled.store(false, Ordering::SeqCst);
        auth.validate(&session.access_token).expect("the pool replaced the stalled connections");
        login(&auth, "ada");
    }

    fn refresh_and_logout_take_at_most_three_round_trips() {
        // Counted on the wire by the proxy, on a warm connection (its statements prepared
        // by an earlier call, as in steady state).
        let env = Env::on(Backend::Postgres);
        let proxy = Proxy::start(env.path.to_str().unwrap());
        let auth = Auth::open_with(Config {
            pool_size: 1,
            ..config_for(Path::new(&proxy.url), &env.clock)
        })
        .unwrap();
        user(&auth, "ada");
        let warm = login(&auth, "ada");
        let warm = auth.refresh(&warm.refresh_token).unwrap();
        auth.validate(&warm.access_token).unwrap();
        auth.logout(&warm.access_token).unwrap();
        let session = login(&auth, "ada");
        let count = |what: &str, call: &dyn Fn()| {
            let before = proxy.round_trips.load(Ordering::SeqCst);
            call();
            let trips = proxy.round_trips.load(Ordering::SeqCst) - before;
            eprintln!("round trips: {what} {trips}");
            trips
        };
        let next = std::cell::RefCell::new(None);
        let refresh = count("refresh", &|| {
            *next.borrow_mut() = Some(auth.refresh(&session.refresh_token).unwrap());
        });
        let next = next.into_inner().unwrap();
        let validate = count("validate", &|| drop(auth.validate(&next.access_token).unwrap()));
        let logout = count("logout", &|| auth.logout(&next.access_token).unwrap());
        let login_trips = count("login", &|| drop(login(&auth, "ada")));
        assert!(refresh <= 3, "refresh took {refresh} round trips");
        assert!(logout <= 3, "logout took {logout} round trips");
        assert_eq!(validate, 1, "an uncached validate is one read");
        // Login is not there yet (a snapshot of the pipeline's checks, then a write with
        // several reads): held where it is so it only gets better.
        assert!(login_trips <= 14, "login took {login_trips} round trips");
    }

    fn the_engine_opens_and_answers_inside_async_runtimes() {
        let env = Env::on(Backend::Postgres);
        let work = || {
            let auth = Auth::open_with(config_for(&env.path, &env.clock)).unwrap();
            if auth.find_user("ada").is_err() {
                user(&auth, "ada");
            }
            let session = login(&auth, "ada");
            auth.validate(&session.access_token).unwrap();
        };
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(async { work() });
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async { work() });
    }

    fn tls_is_verified_and_each_failure_names_its_cause() {
        let cluster = Cluster::start(Tls::On);
        let ca = cluster.dir.join("ca.pem").display().to_string();
        let other_ca = cluster.dir.join("other-ca.pem").display().to_string();
        let port = cluster.port;
        let open = |url: String| {
            let config = Config { pbkdf2_iterations: 1_000, ..Config::postgres(url) };
            Auth::open_with(config)
        };
        open(format!("postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"))
            .expect("verify-full with the server's CA");
        // No sslmode off loopback: TLS verified, host name included.
        open(format!(
            "postgres://postgres@pg.authlite.test:{port}/postgres?hostaddr=127.0.0.1&sslrootcert={ca}"
        ))
        .expect("TLS by default off loopback");
        let e = open(format!(
            "postgres://postgres@pg.authlite.test:{port}/postgres?hostaddr=127.0.0.1&sslrootcert={other_ca}"
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
        assert!(e.to_string().contains("not signed by a trusted CA"), "{e}");
        let e = open(format!(
            "postgres://postgres@pg.authlite.test:{port}/postgres?hostaddr=127.0.0.1&sslmode=verify-full"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not signed by a trusted CA"), "system roots: {e}");
        let wrong_host = format!(
            "postgres://postgres@wrong.authlite.test:{port}/postgres?hostaddr=127.0.0.1&sslrootcert={ca}"
        );
        let e = open(format!("{wrong_host}&sslmode=verify-full")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
        assert!(e.to_string().contains("does not name the host"), "{e}");
        open(format!("{wrong_host}&sslmode=verify-ca")).expect("verify-ca checks the chain only");
        // The server refuses plaintext (hostnossl reject): disable gets no silent success.
        let e = open(format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
        // prefer is require: against the private CA without sslrootcert it fails, never
        // falling back to plaintext.
        let e = open(format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=prefer"))
            .unwrap_err();
        assert!(e.to_string().contains("over TLS"), "{e}");
    }
}

/// A TCP proxy in front of the test database that can stall (forward nothing, hold the
/// sockets open: what a dead network path looks like to the client) and drop the server's
/// `NotificationResponse` messages (what a pooler that breaks `LISTEN` does).
struct Proxy {
    url: String,
    stalled: Arc<AtomicBool>,
    drop_notifications: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
    /// Round trips: each time a client sends while it has no request unanswered (a simple
    /// query `Q` or a `Sync` `S` is answered by `ReadyForQuery` `Z`). Requests pipelined
    /// behind one another count once.
    round_trips: Arc<AtomicU64>,
}

impl Proxy {
    /// A proxy in front of the server at `url`; connect to its own `url`.
    fn start(url: &str) -> Proxy {
        let mut url = url::Url::parse(url).unwrap();
        let upstream: SocketAddr =
            format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
                .parse()
                .expect("the test database is reached by IP address");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        url.set_port(Some(listener.local_addr().unwrap().port())).unwrap();
        let proxy = Proxy {
            url: url.to_string(),
            stalled: Arc::default(),
            drop_notifications: Arc::default(),
            dropped: Arc::default(),
            round_trips: Arc::default(),
        };
        let (stalled, drop_notes, dropped, trips) = (
            proxy.stalled.clone(),
            proxy.drop_notifications.clone(),
            proxy.dropped.clone(),
            proxy.round_trips.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(upstream) else { continue };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let waiting = Arc::new(AtomicU64::new(0));
                let (st, trips, w) = (stalled.clone(), trips.clone(), waiting.clone());
                std::thread::spawn(move || pump_requests(client, server, &st, &trips, &w));
                let (st, dn, dr) = (stalled.clone(), drop_notes.clone(), dropped.clone());
                std::thread::spawn(move || pump_messages(s2, c2, &st, &dn, &dr, &waiting));
            }
        });
        proxy
    }
}

fn wait_while(stalled: &AtomicBool) {
    while stalled.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Client to server: the startup message (a length, no type), then whole messages; counts
/// round trips (see [`Proxy::round_trips`]) with `waiting`, the requests unanswered.
fn pump_requests(
    mut from: TcpStream,
    mut to: TcpStream,
    stalled: &AtomicBool,
    trips: &AtomicU64,
    waiting: &AtomicU64,
) {
    let mut in_burst = false;
    let mut first = true;
    loop {
        let mut head = vec![0u8; if first { 4 } else { 5 }];
        if from.read_exact(&mut head).is_err() {
            break;
        }
        let at = head.len() - 4;
        let len = u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        let mut body = vec![0u8; (len as usize).saturating_sub(4)];
        if from.read_exact(&mut body).is_err() {
            break;
        }
        wait_while(stalled);
        if !first {
            if waiting.load(Ordering::SeqCst) == 0 && !in_burst {
                trips.fetch_add(1, Ordering::SeqCst);
                in_burst = true;
            }
            if matches!(head[0], b'Q' | b'S') {
                waiting.fetch_add(1, Ordering::SeqCst);
                in_burst = false;
            }
        }
        first = false;
        if to.write_all(&head).and_then(|()| to.write_all(&body)).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// Server to client: whole messages (a type byte and a length), notifications dropped on
/// request.
fn pump_messages(
    mut from: TcpStream,
    mut to: TcpStream,
    stalled: &AtomicBool,
    drop_notifications: &AtomicBool,
    dropped: &AtomicBool,
    waiting: &AtomicU64,
) {
    loop {
        let mut head = [0u8; 5];
        if from.read_exact(&mut head).is_err() {
            break;
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        if from.read_exact(&mut body).is_err() {
            break;
        }
        wait_while(stalled);
        if head[0] == b'Z' {
            let _ = waiting.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
        if head[0] == b'A' && drop_notifications.load(Ordering::SeqCst) {
            dropped.store(true, Ordering::SeqCst);
            continue;
        }
        if to.write_all(&head).and_then(|()| to.write_all(&body)).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

#[derive(Clone, Copy)]
enum Tls {
    On,
    Off,
}

/// A private PostgreSQL server in a temp dir. With [`Tls::On`]: `ssl=on` with a certificate for `localhost`,
/// `pg.authlite.test` and 127.0.0.1 signed by a CA made here (`ca.pem`; `other-ca.pem` is
/// a CA that signed nothing), plaintext refused. Stopped when dropped.
struct Cluster {
    _temp: tempfile::TempDir,
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl Cluster {
    fn start(tls: Tls) -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                let mut bins: Vec<PathBuf> = versions
                    .filter_map(|v| Some(v.ok()?.path().join("bin")))
                    .filter(|b| b.join("initdb").exists())
                    .collect();
                bins.sort();
                bins.pop()
            })
            .expect("PostgreSQL's server binaries (initdb, pg_ctl) under /usr/lib/postgresql");
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let data = dir.join("data");
        write_certificates(&dir);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { _temp: temp, dir, port, bin };
        cluster.give_to_postgres();
        cluster.run("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres"]);
        let dir = cluster.dir.display();
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
             fsync = off\n"
        );
        let hba = match tls {
            Tls::On => {
                conf += &format!(
                    "ssl = on\nssl_cert_file = '{dir}/server.pem'\n\
                     ssl_key_file = '{dir}/server.key'\n"
                );
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n"
            }
            Tls::Off => "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        };
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        let log = cluster.dir.join("server.log");
        cluster.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-w", "start"],
        );
        cluster
    }

    /// Runs a server binary to success.
    fn run(&self, program: &str, args: &[&str]) {
        let status = self.server_command(program).args(args).status().expect("runs");
        assert!(status.success(), "{program} {args:?} failed");
    }

    /// A server binary, run as the `postgres` user when this is root (the server refuses
    /// to run as root).
    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if rustix::process::geteuid().is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// As root, hands the temp dir to the `postgres` user who will run the server.
    fn give_to_postgres(&self) {
        if rustix::process::geteuid().is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status()
                .expect("runs");
            assert!(status.success(), "chown failed");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let args = ["-D", data.to_str().unwrap(), "-m", "immediate", "stop"];
        let _ = self.server_command("pg_ctl").args(args).status();
    }
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn write_certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        (cert, Issuer::new(params, key))
    };
    let (ca_cert, issuer) = ca("authlite test CA");
    let (other_cert, _) = ca("another CA");
    let key = KeyPair::generate().unwrap();
    let names = ["localhost", "pg.authlite.test", "127.0.0.1"].map(String::from).to_vec();
    let server = CertificateParams::new(names).unwrap().signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("other-ca.pem"), other_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    let key_path = dir.join("server.key");
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
