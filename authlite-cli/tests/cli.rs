//! The `authlite` binary: the demo, and administering a database by hand.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_authlite");

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("AUTHLITE_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn authlite");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `authlite --db DB ARGS`, asserts success, and returns stdout.
fn ok_in(db: &str, args: &[&str], stdin: &str) -> String {
    let mut full = vec!["--db", db];
    full.extend_from_slice(args);
    let out = run(&full, stdin);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh database for one test: a file in a temp dir, or a new schema of the PostgreSQL
/// test database (`AUTHLITE_TEST_POSTGRES_URL`), dropped afterwards.
struct Db {
    /// The `--db` argument.
    arg: String,
    dir: tempfile::TempDir,
    schema: Option<String>,
}

impl Db {
    fn file(name: &str) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let arg = dir.path().join(name).to_str().unwrap().to_owned();
        Db { arg, dir, schema: None }
    }

    fn postgres() -> Db {
        let base = std::env::var("AUTHLITE_TEST_POSTGRES_URL").expect("the test database");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!("cli_{}_{nanos}", std::process::id());
        admin(&base).batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let arg = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Db { arg, dir: tempfile::tempdir().unwrap(), schema: Some(schema) }
    }
}

impl Db {
    /// Runs SQL behind the engine's back.
    fn exec(&self, sql: &str) {
        match self.schema {
            Some(_) => admin(&self.arg).batch_execute(sql).unwrap(),
            None => rusqlite::Connection::open(&self.arg).unwrap().execute_batch(sql).unwrap(),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let (Some(schema), Ok(base)) =
            (&self.schema, std::env::var("AUTHLITE_TEST_POSTGRES_URL"))
        {
            let _ = admin(&base).batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

fn admin(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect to PostgreSQL")
}

/// Instantiates backend-neutral flows, each a `fn name(db: &Db)` on a fresh database,
/// once per backend: `sqlite::<name>` and `postgres::<name>` (ignored unless
/// `AUTHLITE_TEST_POSTGRES_URL` was set at build time), as the library's suite does.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Db::file("cli.db"))
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(not(authlite_pg_tests), ignore = "needs AUTHLITE_TEST_POSTGRES_URL")]
                fn $name() {
                    super::$name(&super::Db::postgres())
                }
            )*
        }
    };
}

backend_tests!(
    person_by_hand,
    machine_credentials,
    people_credentials,
    json_output_and_exit_codes,
    passkeys_listed_renamed_and_revoked,
    identities_listed_and_unlinked,
    organizations_by_hand,
);

/// `identity list|unlink`, on identities put in place as a provider sign-in would leave
/// them: a passwordless account with two, then one (its last way in stays).
fn identities_listed_and_unlinked(database: &Db) {
    let db = database.arg.as_str();
    let ok = |args: &[&str]| ok_in(db, args, "");
    ok(&["init"]);
    ok_in(db, &["user", "add", "alice"], "a long passphrase\n");
    assert_eq!(ok(&["identity", "list", "alice"]).trim(), "no linked identities");
    for subject in ["alice-at-google", "alice-at-github"] {
        database.exec(&format!(
            "INSERT INTO identities (user_id, provider, issuer, subject, email, linked_at) \
             VALUES (1, 'google', 'https://accounts.google.com', '{subject}', 'a@example.com', 0)"
        ));
    }
    // Alice loses her password: the identities are her ways in.
    database.exec("UPDATE users SET password_hash = '!' WHERE id = 1");
    let listed = ok(&["identity", "list", "alice"]);
    assert!(listed.contains("alice-at-google") && listed.contains("never used"), "{listed}");
    let listed = json_of(db, &["identity", "list", "alice"], "", 0);
    assert_eq!(listed[1]["subject"], "alice-at-github");
    assert_eq!(json_of(db, &["identity", "unlink", "1"], "", 0)["unlinked"], 1);
    let last = json_of(db, &["identity", "unlink", "2"], "", 22);
    assert_eq!(last["error"], "conflict", "the last way in stays");
    assert_eq!(json_of(db, &["identity", "unlink", "1"], "", 21)["error"], "not_found");
}

/// `org create|list|show|delete`, `org member add|rm|roles|list`, `org invite`.
fn organizations_by_hand(database: &Db) {
    let db = database.arg.as_str();
    let ok = |args: &[&str]| ok_in(db, args, "");
    let fails = |args: &[&str]| {
        let mut full = vec!["--db", db];
        full.extend_from_slice(args);
        run(&full, "").status.code()
    };
    ok(&["init"]);
    ok_in(db, &["user", "add", "ann"], "a long passphrase\n");
    ok_in(db, &["user", "add", "bob"], "a long passphrase\n");
    ok(&["role", "create", "manager"]);
    assert!(ok(&["org", "create", "North", "North branch", "--owner", "ann"]).contains("north"));
    assert_eq!(fails(&["org", "create", "north", "again", "--owner", "ann"]), Some(22));
    ok(&["org", "member", "add", "north", "bob", "--role", "manager"]);
    assert!(ok(&["org", "member", "list", "north"]).contains("bob [manager]"));
    ok(&["org", "member", "roles", "north", "bob"]);
    assert!(ok(&["org", "show", "north"]).contains("bob []"));
    assert_eq!(fails(&["org", "member", "rm", "north", "ann"]), Some(22), "last owner");
    ok(&["org", "member", "rm", "north", "bob"]);
    let invite =
        ok(&["org", "invite", "north", "bob@example.com", "--role", "manager", "--inviter", "ann"]);
    assert!(invite.trim().starts_with("inv_"), "{invite}");
    let pending = json_of(db, &["org", "invitations", "north"], "", 0);
    assert_eq!(pending[0]["email"], "bob@example.com");
    let id = pending[0]["id"].as_str().unwrap().to_owned();
    assert!(ok(&["org", "invitations", "north"]).contains(&id));
    ok(&["org", "uninvite", "north", &id]);
    assert!(ok(&["org", "invitations", "north"]).contains("no pending invitations"));
    assert_eq!(fails(&["org", "uninvite", "north", &id]), Some(21), "not found");
    let listed = json_of(db, &["org", "list"], "", 0);
    assert_eq!(listed[0]["slug"], "north");
    ok(&["org", "delete", "north"]);
    assert!(ok(&["org", "list"]).contains("no organizations"));
    assert_ne!(fails(&["org", "show", "north"]), Some(0));
}

/// `passkey list|rename|revoke`, on passkeys put in place as a registration would leave
/// them (list, rename and revoke never read the key material).
fn passkeys_listed_renamed_and_revoked(database: &Db) {
    let db = database.arg.as_str();
    let ok = |args: &[&str], stdin: &str| ok_in(db, args, stdin);
    ok(&["init"], "");
    ok(&["user", "add", "alice"], "a long passphrase\n");
    assert_eq!(ok(&["passkey", "list", "alice"], "").trim(), "no passkeys");
    for (handle, name) in [("01", "phone"), ("02", "laptop")] {
        let blob = |hex: &str| match database.schema {
            Some(_) => format!("'\\x{hex}'::bytea"),
            None => format!("x'{hex}'"),
        };
        database.exec(&format!(
            "INSERT INTO passkeys (user_id, credential_id, user_handle, name, credential, \
             backup_eligible, backed_up, created_at) VALUES (1, {}, {}, '{name}', '{{}}', 1, 1, 0)",
            blob(handle),
            blob("00112233445566778899aabbccddeeff"),
        ));
    }
    let listed = ok(&["passkey", "list", "alice"], "");
    assert!(listed.contains("phone") && listed.contains("laptop") && listed.contains("never used"));
    ok(&["passkey", "rename", "2", "work laptop"], "");
    let listed = json_of(db, &["passkey", "list", "alice"], "", 0);
    assert_eq!(listed[1]["name"], "work laptop");
    assert_eq!(json_of(db, &["passkey", "revoke", "1"], "", 0)["revoked"], 1);
    // Alice still has her password: her last passkey can go too.
    ok(&["passkey", "revoke", "2"], "");
    let missing = json_of(db, &["passkey", "revoke", "2"], "", 21);
    assert_eq!(missing["error"], "not_found");
    assert!(!run(&["--db", db, "passkey", "rename", "x", "y"], "").status.success());
}

#[test]
fn demo_walks_the_whole_flow_and_shows_the_rejections() {
    let out = run(&["demo"], "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for expected in [
        "ok       register",
        "ok       login",
        "ok       validate",
        "ok       refresh",
        "TokenReused",
        "ok       logout",
        "validate after logout -> RevokedToken",
        "refresh after logout -> RevokedToken",
        "InactiveUser",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

fn person_by_hand(database: &Db) {
    let db = database.arg.as_str();
    let file = database.schema.is_none();
    let out = run(&["--db", db, "user", "list"], "");
    assert!(!out.status.success(), "a read-only command on a missing database fails");
    assert!(!run(&["--db", db, "status"], "").status.success());
    assert!(!std::path::Path::new(db).exists(), "and creates nothing");
    let out = run(&["--db", db, "init"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = run(&["--db", db, "init"], "");
    assert_eq!(again.status.code(), Some(22), "init never reuses a database (conflict)");
    let out = run(&["--db", db, "status"], "");
    assert!(text(&out.stdout).contains("integrity:      ok"), "{}", text(&out.stdout));
    // `user:password@` in a URL is printed as `user:***@`.
    let authority = db.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap());
    if let Some((credentials, _)) = authority.rsplit_once('@') {
        for printed in [&out.stdout, &out.stderr, &again.stdout, &again.stderr] {
            assert!(!text(printed).contains(credentials), "a URL's password is never printed");
        }
    }
    let out = run(&["--db", db, "key", "retire", "-Hx_no_such_kid"], "");
    assert!(
        text(&out.stderr).contains("NotFound"),
        "a kid may begin with '-': {}",
        text(&out.stderr)
    );
    let copy = database.dir.path().join("copy.db");
    let out = run(&["--db", db, "backup", copy.to_str().unwrap()], "");
    if file {
        assert!(out.status.success() && copy.exists(), "{}", text(&out.stderr));
        assert!(run(&["--db", copy.to_str().unwrap(), "audit", "verify"], "").status.success());
    } else {
        assert!(!out.status.success() && !copy.exists());
        assert!(text(&out.stderr).contains("pg_dump"), "{}", text(&out.stderr));
    }

    let out = run(
        &["--db", db, "user", "add", "bob", "--email", "bob@example.com"],
        "a long passphrase\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created user bob"));

    let out = run(&["--db", db, "user", "add", "weak"], "password\n");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("WeakPassword"));

    let out = run(&["--db", db, "user", "list"], "");
    assert!(text(&out.stdout).contains("bob@example.com"));

    let out = run(&["--db", db, "login", "BOB"], "a long passphrase\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("access_token:"))
        .expect("token printed")
        .trim()
        .to_owned();

    let out = run(&["--db", db, "token", "verify", &token], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid: user bob"));

    let out = run(&["--db", db, "login", "bob"], "wrong passphrase\n");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("InvalidCredentials"));
    assert!(!text(&out.stderr).contains("wrong passphrase"));

    let out = run(&["--db", db, "user", "deactivate", "bob"], "");
    assert!(out.status.success());
    let out = run(&["--db", db, "token", "verify", &token], "");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("InactiveUser"));

    let out = run(&["--db", db, "token", "verify", "garbage"], "");
    assert_eq!(out.status.code(), Some(14), "invalid_token");
    assert!(text(&out.stderr).contains("InvalidToken"));

    // Every administrative command, on either backend.
    let ok = |args: &[&str], stdin: &str| ok_in(db, args, stdin);
    ok(&["user", "activate", "bob"], "");
    ok(&["user", "passwd", "bob"], "another long passphrase\n");
    ok(&["user", "email", "bob", "robert@example.com"], "");
    assert!(ok(&["user", "show", "bob"], "").contains("robert@example.com"));
    ok(&["user", "unlock", "bob"], "");
    let login = ok(&["login", "bob", "--ip", "192.0.2.7"], "another long passphrase\n");
    let token = login.lines().find_map(|l| l.strip_prefix("access_token:")).unwrap().trim();
    assert!(ok(&["session", "list", "bob"], "").contains("192.0.2.7"));
    ok(&["token", "revoke", token], "");
    assert!(!run(&["--db", db, "token", "verify", token], "").status.success());
    ok(&["session", "revoke-all", "bob"], "");
    for args in [
        &["role", "create", "clerk"][..],
        &["role", "grant", "clerk", "orders", "read"],
        &["role", "assign", "bob", "clerk"],
        &["role", "list"],
        &["user", "list", "--role", "clerk"],
        &["role", "unassign", "bob", "clerk"],
        &["role", "revoke", "clerk", "orders", "read"],
        &["role", "delete", "clerk"],
        &["key", "list"],
        &["key", "rotate"],
        &["key", "jwks"],
        &["audit", "list", "--limit", "5"],
        &["audit", "purge", "--older-than-days", "30"],
        &["audit", "verify"],
        &["purge"],
        &["user", "delete", "bob"],
    ] {
        ok(args, "");
    }
}

#[test]
fn commands_without_a_database_explain_themselves() {
    let out = run(&["user", "list"], "");
    assert_eq!(out.status.code(), Some(31), "config");
    assert!(text(&out.stderr).contains("--db"));
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--db", dir.path().to_str().unwrap(), "status"], "");
    assert_eq!(out.status.code(), Some(23));
    assert!(text(&out.stderr).contains("is a directory"), "{}", text(&out.stderr));
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = run(&["--db", empty.to_str().unwrap(), "status"], "");
    assert_eq!(out.status.code(), Some(21), "an empty file is no database");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "and it stays empty");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not an SQLite database, not at all, no").unwrap();
    let out = run(&["--db", junk.to_str().unwrap(), "user", "list"], "");
    assert_eq!(out.status.code(), Some(30));
    assert!(text(&out.stderr).contains("not a database"), "the cause: {}", text(&out.stderr));
    let help = run(&["--help"], "");
    assert!(text(&help.stdout).contains("14  invalid_token"), "exit codes in --help");
}

/// The CLI on an application's database (EdDSA, master secret, its own issuer and
/// audience) adopts the recorded settings: it verifies the app's tokens, adds no key of
/// another algorithm, cannot retire the key that signs, and its audit rows verify in the
/// application.
#[test]
fn the_cli_on_an_applications_database_leaves_its_keys_and_chain_intact() {
    use authlite::{Auth, ClientInfo, Config, NewUser, SecretBytes, SigningAlgorithm};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let secret = "the application's master secret, 32+ bytes";
    let config = || Config {
        signing_algorithm: SigningAlgorithm::EdDsa,
        master_secret: Some(SecretBytes::new(secret.as_bytes().to_vec())),
        issuer: "till".into(),
        audience: "shop".into(),
        pbkdf2_iterations: 1_000,
        ..Config::new(&path)
    };
    let app = Auth::open_with(config()).unwrap();
    app.register(NewUser::new("alice", "a long passphrase")).unwrap();
    let token =
        app.login("alice", "a long passphrase", &ClientInfo::default()).unwrap().access_token;
    let kid = app.signing_keys().unwrap()[0].kid.clone();
    let db = path.to_str().unwrap();

    let without = run(&["--db", db, "key", "list"], "");
    assert!(!without.status.success(), "no master secret: refused at open");
    assert!(text(&without.stderr).contains("master_secret"), "{}", text(&without.stderr));

    let with_secret = |args: &[&str]| {
        let mut full = vec!["--db", db];
        full.extend_from_slice(args);
        let mut child = Command::new(BIN)
            .args(&full)
            .env_remove("AUTHLITE_DB")
            .env("AUTHLITE_MASTER_SECRET", secret)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take();
        child.wait_with_output().unwrap()
    };
    for args in [
        &["key", "list"][..],
        &["key", "jwks"],
        &["user", "list"],
        &["token", "verify", &token],
        &["role", "create", "auditor"],
        &["key", "rotate"],
    ] {
        let out = with_secret(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    assert!(
        !with_secret(&["key", "retire", &app.signing_keys().unwrap()[1].kid]).status.success(),
        "the signing key stays"
    );
    let out = with_secret(&["key", "retire", &kid]);
    assert!(out.status.success(), "an older key may go: {}", text(&out.stderr));
    assert!(app.signing_keys().unwrap().iter().all(|k| k.alg == "EdDSA"));
    app.verify_audit_chain().expect("the CLI's audit rows verify in the application");
    let next = app.login("alice", "a long passphrase", &ClientInfo::default()).unwrap();
    app.validate(&next.access_token).unwrap();
}

/// Service accounts, API keys, service tokens and scoped tokens by hand.
fn machine_credentials(db: &Db) {
    let db = db.arg.as_str();
    let ok = |args: &[&str], stdin: &str| ok_in(db, args, stdin);
    ok(&["init"], "");
    assert!(ok(&["service", "create", "billing"], "").contains("created service account billing"));
    let created = ok(&["apikey", "create", "billing", "prod", "--scope", "orders:read"], "");
    let secret = created.lines().find(|l| l.starts_with("alk_")).expect("the secret").to_owned();
    let listed = ok(&["apikey", "list", "billing"], "");
    assert!(listed.contains("live") && listed.contains("orders:read"), "{listed}");
    assert!(!listed.contains(&secret), "the list never shows the secret");
    let minted = ok(&["token", "mint"], &format!("{secret}\n"));
    let token = minted.lines().next().unwrap().trim_start_matches("access_token: ").to_owned();
    assert!(ok(&["token", "verify", &token], "").contains("valid: user billing"));
    ok(&["apikey", "revoke", "1"], "");
    assert!(
        !run(&["--db", db, "token", "verify", &token], "").status.success(),
        "dies with its key"
    );
    assert!(!run(&["--db", db, "token", "mint"], &format!("{secret}\n")).status.success());

    let qr = ok(&["scoped", "issue", "table", "42"], "").trim().to_owned();
    assert!(ok(&["scoped", "verify", "table", &qr], "").contains("valid: table 42"));
    assert!(!run(&["--db", db, "scoped", "verify", "room", &qr], "").status.success());
    ok(&["scoped", "revoke", "table", "42"], "");
    assert!(!run(&["--db", db, "scoped", "verify", "table", &qr], "").status.success());
}

/// Reset and verification links, attributes, and TOTP enrolment with its QR code.
fn people_credentials(db: &Db) {
    use std::io::{BufRead, BufReader};
    let db = db.arg.as_str();
    let ok = |args: &[&str], stdin: &str| ok_in(db, args, stdin);
    ok(&["init"], "");
    ok(&["user", "add", "carol", "--email", "carol@example.com"], "a long passphrase\n");
    assert!(ok(&["user", "reset-link", "carol"], "").starts_with("rst_"));
    assert!(!run(&["--db", db, "user", "reset-link", "nobody"], "").status.success());
    assert!(ok(&["user", "verify-link", "carol"], "").starts_with("evt_"));
    ok(&["user", "attr", "set", "carol", "tier", "gold"], "");
    assert_eq!(ok(&["user", "attr", "list", "carol"], "").trim(), "tier=gold");
    ok(&["user", "attr", "rm", "carol", "tier"], "");
    assert_eq!(ok(&["user", "attr", "list", "carol"], "").trim(), "");

    let mut child = Command::new(BIN)
        .args(["--db", db, "mfa", "enroll", "carol"])
        .env_remove("AUTHLITE_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let secret = line.trim().strip_prefix("secret: ").expect("the secret first").to_owned();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let code = totp.generate(now.as_secs()).to_string();
    child.stdin.take().unwrap().write_all(format!("{code}\n").as_bytes()).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("otpauth://totp/authlite:carol?"), "{rest}");
    assert!(rest.contains('█') || rest.contains('▀') || rest.contains('▄'), "a QR code drawn");
    assert_eq!(
        rest.lines().filter(|l| l.trim().len() == 19 && l.matches('-').count() == 3).count(),
        10
    );

    let out = run(&["--db", db, "login", "carol"], "a long passphrase\n");
    assert!(
        !out.status.success() && text(&out.stderr).contains("MfaRequired"),
        "{}",
        text(&out.stderr)
    );
    ok(&["mfa", "disable", "carol"], "");
    ok(&["login", "carol"], "a long passphrase\n");
}

/// Runs `authlite --db DB --json ARGS` and parses stdout; asserts the exit code.
fn json_of(db: &str, args: &[&str], stdin: &str, code: i32) -> serde_json::Value {
    let mut full = vec!["--db", db];
    full.extend_from_slice(args);
    full.push("--json"); // accepted anywhere on the line
    let out = run(&full, stdin);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
    if code == 0 {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stdout)))
    } else {
        assert!(out.stdout.is_empty());
        serde_json::from_slice(&out.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stderr)))
    }
}

/// Every command's `--json` document, and the exit code of each error kind a script meets.
fn json_output_and_exit_codes(database: &Db) {
    let db = database.arg.as_str();
    let location = authlite::Config::new(db).location();
    assert_eq!(json_of(db, &["init"], "", 0)["created"], location.as_str());
    let status = json_of(db, &["status"], "", 0);
    for field in [
        "schema_version",
        "users",
        "live_sessions",
        "api_keys",
        "signing_keys",
        "audit_rows",
        "db_bytes",
        "wal_bytes",
    ] {
        assert!(status[field].is_u64(), "status.{field}: {status}");
    }
    assert_eq!(status["integrity"], "ok");
    let user =
        json_of(db, &["user", "add", "alice", "--email", "a@x.io"], "a long passphrase\n", 0);
    assert_eq!((user["username"].as_str(), user["kind"].as_str()), (Some("alice"), Some("person")));
    json_of(db, &["user", "add", "bob"], "another long passphrase\n", 0);
    let page = json_of(db, &["user", "list", "--limit", "1", "--offset", "1"], "", 0);
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["username"], "bob");
    assert_eq!(json_of(db, &["user", "show", "ALICE"], "", 0)["email"], "a@x.io");
    json_of(db, &["user", "email", "bob", "bob@x.io"], "", 0);
    assert_eq!(json_of(db, &["user", "show", "bob"], "", 0)["email"], "bob@x.io");
    json_of(db, &["user", "email", "bob", "--clear"], "", 0);

    let login = json_of(db, &["login", "alice"], "a long passphrase\n", 0);
    let token = login["access_token"].as_str().unwrap().to_owned();
    assert_eq!(login["user"]["username"], "alice");
    let who = json_of(db, &["token", "verify", &token], "", 0);
    assert_eq!((who["username"].as_str(), who["kind"].as_str()), (Some("alice"), Some("person")));
    let sessions = json_of(db, &["session", "list", "alice"], "", 0);
    assert_eq!(sessions[0]["id"], login["session"]["id"]);
    let keys = json_of(db, &["key", "list"], "", 0);
    assert_eq!(keys[0]["signing"], true);
    json_of(db, &["role", "create", "clerk"], "", 0);
    json_of(db, &["role", "grant", "clerk", "orders", "refund"], "", 0);
    assert_eq!(json_of(db, &["role", "list"], "", 0)[0]["permissions"][0][1], "refund");
    let events = json_of(db, &["audit", "list", "--kind", "login.succeeded"], "", 0);
    assert_eq!(events[0]["kind"], "login.succeeded");
    assert!(json_of(db, &["audit", "verify"], "", 0)["rows"].as_u64().unwrap() > 5);
    assert_eq!(json_of(db, &["audit", "purge", "--older-than-days", "30"], "", 0)["deleted"], 0);
    assert_eq!(json_of(db, &["session", "revoke-all", "alice"], "", 0)["revoked"], 1);

    // Errors: JSON on stderr with the kind, and the kind's exit code.
    let e = json_of(db, &["token", "verify", &token], "", 16);
    assert_eq!(e["error"], "revoked_token");
    assert_eq!(json_of(db, &["user", "show", "nobody"], "", 21)["error"], "not_found");
    assert_eq!(json_of(db, &["role", "create", "clerk"], "", 22)["error"], "conflict");
    assert_eq!(json_of(db, &["user", "add", "carol"], "password\n", 24)["error"], "weak_password");
    assert_eq!(json_of(db, &["role", "create", "no spaces"], "", 23)["error"], "invalid_input");
    for _ in 0..9 {
        json_of(db, &["login", "bob"], "wrong\n", 10);
    }
    json_of(db, &["login", "bob"], "wrong\n", 10); // the tenth locks
    let locked = json_of(db, &["login", "bob"], "another long passphrase\n", 11);
    assert_eq!(locked["error"], "account_locked");
    assert!(locked["retry_after"].as_u64().unwrap() > 0, "says for how long: {locked}");
    let out = run(&["--db", db, "login", "bob"], "another long passphrase\n");
    assert!(text(&out.stderr).contains("try again in"), "{}", text(&out.stderr));
    let help = run(&["audit", "list", "--help"], "");
    assert!(text(&help.stdout).contains("login.succeeded"), "kinds listed in --help");
}
