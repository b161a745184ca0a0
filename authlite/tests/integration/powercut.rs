//! Revocations survive a power cut (DESIGN §4). A child process, with an LD_PRELOAD shim
//! (`tests/powercut/shim.c`) that copies each file at every fsync/fdatasync, makes every
//! call that takes access away and then dies (`abort`: no close, no checkpoint). The
//! parent then rebuilds each file as of its last sync — what a disk holds after losing
//! power — and reopens: every acknowledged revocation must still be there.
//!
//! Controls: with the shim swallowing every sync (no write reaches the disk: what
//! `synchronous=OFF` amounts to) the same calls are all lost, so the harness can see a lost
//! write; and in the real run an ordinary write made last (a registration, not a
//! revocation) is lost, as `synchronous=NORMAL` allows.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use authlite::{ApiKeySpec, Auth, ClientInfo, Config, ErrorKind, NewUser, Synchronous};
use serde_json::{Value, json};

use crate::common::*;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The revoking calls, in the order the child makes them.
const CALLS: &[&str] = &[
    "logout",
    "revoke_token",
    "revoke_session",
    "revoke_all_sessions",
    "change_password",
    "deactivate_user",
    "delete_user",
    "retire_signing_key",
    "revoke_api_key",
    "revoke_scoped",
    "unassign_role",
    "revoke_grant",
    "reset_password",
    "disable_totp",
    "logout_with_refresh_token",
];

fn config(path: &Path) -> Config {
    Config { pbkdf2_iterations: 1_000, synchronous: Synchronous::Normal, ..Config::new(path) }
}

/// Users, sessions and credentials for each call to take away; what the child needs.
fn set_up(path: &Path) -> Value {
    let auth = Auth::open_with(config(path)).unwrap();
    let client = ClientInfo::default();
    let mut people = Vec::new();
    for i in 0..12 {
        let name = format!("user{i}");
        auth.register(NewUser::new(name.as_str(), PASSWORD).email(format!("{name}@example.com")))
            .unwrap();
        people.push(auth.login(&name, PASSWORD, &client).unwrap());
    }
    let old_kid = auth.signing_keys().unwrap().into_iter().find(|k| k.signing).unwrap().kid;
    auth.rotate_signing_key().unwrap();
    let service = auth.create_service_account("billing").unwrap();
    let key = auth.create_api_key(service.id, ApiKeySpec::new("prod")).unwrap();
    let scoped = auth.issue_scoped("table", "42", Duration::from_secs(3600)).unwrap();
    auth.declare_role("clerk", &[("orders", "refund")]).unwrap();
    auth.assign_role(people[8].user.id, "clerk").unwrap();
    let reset = auth.request_password_reset("user11").unwrap().unwrap();
    let enrollment = auth.enroll_totp(people[9].user.id).unwrap();
    let secret = totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    auth.confirm_totp(people[9].user.id, &totp.generate(now).to_string()).unwrap();
    json!({
        "access": people.iter().map(|l| l.access_token.clone()).collect::<Vec<_>>(),
        "refresh": people.iter().map(|l| l.refresh_token.clone()).collect::<Vec<_>>(),
        "session": people.iter().map(|l| l.session.id.0).collect::<Vec<_>>(),
        "user": people.iter().map(|l| l.user.id.0).collect::<Vec<_>>(),
        "old_kid": old_kid,
        "api_key": key.secret,
        "api_key_id": key.info.id.0,
        "scoped": scoped,
        "reset": reset,
    })
    // Dropping the engine closes every connection: the last one checkpoints, so the file
    // holds everything, and the parent records it as synced.
}

/// The child: every revoking call, each acknowledged on stdout once it returned, then an
/// ordinary write, then death without a clean shutdown.
fn child(path: &Path, data: &Value) -> ! {
    let auth = Auth::open_with(config(path)).unwrap();
    let (access, refresh) = (&data["access"], &data["refresh"]);
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let user = |i: usize| authlite::UserId(data["user"][i].as_i64().unwrap());
    for &call in CALLS {
        let done = match call {
            "logout" => auth.logout(&text(&access[0])),
            "revoke_token" => auth.revoke_token(&text(&access[1])),
            "revoke_session" => {
                auth.revoke_session(authlite::SessionId(data["session"][2].as_i64().unwrap()))
            }
            "revoke_all_sessions" => auth.revoke_all_sessions(user(3)).map(drop),
            "change_password" => auth.change_password(user(4), PASSWORD, NEW_PASSWORD),
            "deactivate_user" => auth.deactivate_user(user(5)),
            "delete_user" => auth.delete_user(user(6)),
            "retire_signing_key" => auth.retire_signing_key(&text(&data["old_kid"])),
            "revoke_api_key" => {
                auth.revoke_api_key(authlite::ApiKeyId(data["api_key_id"].as_i64().unwrap()))
            }
            "revoke_scoped" => auth.revoke_scoped("table", "42"),
            "unassign_role" => auth.unassign_role(user(8), "clerk"),
            "revoke_grant" => auth.revoke_grant("clerk", "orders", "refund"),
            "reset_password" => auth.reset_password(&text(&data["reset"]), NEW_PASSWORD),
            "disable_totp" => auth.disable_totp(user(9)),
            "logout_with_refresh_token" => auth.logout_with_refresh_token(&text(&refresh[10])),
            other => panic!("unknown call {other}"),
        };
        done.unwrap_or_else(|e| panic!("{call}: {e}"));
        println!("acknowledged: {call}");
    }
    auth.register(NewUser::new("late", PASSWORD)).unwrap();
    println!("acknowledged: an ordinary write (registering late)");
    std::process::abort();
}

/// Which of the calls' effects the reopened database shows.
fn survived(path: &Path, data: &Value) -> Vec<(&'static str, bool)> {
    let auth = Auth::open_with(config(path)).unwrap();
    let (access, refresh) = (&data["access"], &data["refresh"]);
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let dead = |r: authlite::Result<authlite::Principal>| r.is_err();
    let user = |i: usize| authlite::UserId(data["user"][i].as_i64().unwrap());
    let client = ClientInfo::default();
    CALLS
        .iter()
        .map(|&call| {
            let present = match call {
                "logout" => dead(auth.validate(&text(&access[0]))),
                "revoke_token" => dead(auth.validate(&text(&access[1]))),
                "revoke_session" => dead(auth.validate(&text(&access[2]))),
                "revoke_all_sessions" => dead(auth.validate(&text(&access[3]))),
                "change_password" => auth.login("user4", PASSWORD, &client).is_err(),
                "deactivate_user" => !auth.user(user(5)).unwrap().active,
                "delete_user" => auth.user(user(6)).is_err(),
                "retire_signing_key" => dead(auth.validate(&text(&access[7]))),
                "revoke_api_key" => auth.validate_api_key(&text(&data["api_key"])).is_err(),
                "revoke_scoped" => auth.verify_scoped(&text(&data["scoped"]), "table").is_err(),
                "unassign_role" => auth.user_roles(user(8)).unwrap().is_empty(),
                "revoke_grant" => auth.role_permissions("clerk").unwrap().is_empty(),
                "reset_password" => {
                    let again =
                        auth.reset_password(&text(&data["reset"]), "yet another passphrase");
                    again.is_err_and(|e| e.kind() == ErrorKind::InvalidToken)
                }
                "disable_totp" => auth.login("user9", PASSWORD, &client).is_ok(),
                "logout_with_refresh_token" => auth.refresh(&text(&refresh[10])).is_err(),
                other => panic!("unknown call {other}"),
            };
            (call, present)
        })
        .collect()
}

/// Sets up, runs the child under the shim (`swallow`: no sync reaches the disk), cuts the
/// power, and returns the child's acknowledgements, the effects that survived, and whether
/// the ordinary write survived.
fn run(swallow: bool) -> (Vec<String>, Vec<(&'static str, bool)>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("auth.db");
    let data = set_up(&db);
    let state = dir.path().join("state.json");
    std::fs::write(&state, data.to_string()).unwrap();
    std::fs::copy(&db, with_suffix(&db, ".synced")).unwrap(); // the set-up is on disk
    let shim = build_shim(dir.path());
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "powercut::power_cut_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AUTHLITE_POWERCUT_STATE", &state)
        .env("AUTHLITE_POWERCUT_DIR", dir.path())
        .env("LD_PRELOAD", &shim);
    if swallow {
        child.env("AUTHLITE_POWERCUT_SWALLOW", "1");
    }
    let out = child.output().unwrap();
    assert!(!out.status.success(), "the child dies without a clean shutdown");
    let acknowledged: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once("acknowledged: ").map(|(_, call)| call.to_owned()))
        .collect();
    let said = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(acknowledged.len(), CALLS.len() + 1, "{}\n{}", said(&out.stdout), said(&out.stderr));
    cut_power(&db);
    let effects = survived(&db, &data);
    let auth = Auth::open_with(config(&db)).unwrap();
    let late = auth.find_user("late").is_ok();
    (acknowledged, effects, late)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Each file as of its last sync; a file never synced since it was made is empty. The
/// `-shm` index is memory, rebuilt on open.
fn cut_power(db: &Path) {
    for file in [db.to_owned(), with_suffix(db, "-wal")] {
        let synced = with_suffix(&file, ".synced");
        if synced.exists() {
            std::fs::rename(&synced, &file).unwrap();
        } else if file.exists() {
            std::fs::write(&file, b"").unwrap();
        }
    }
    let _ = std::fs::remove_file(with_suffix(db, "-shm"));
}

fn build_shim(dir: &Path) -> PathBuf {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/powercut/shim.c");
    let shim = dir.join("shim.so");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&shim)
        .arg(source)
        .arg("-ldl")
        .status()
        .expect("run cc");
    assert!(built.success(), "the shim compiles");
    shim
}

#[test]
#[cfg_attr(not(authlite_powercut_tests), ignore = "needs Linux and a C compiler (cc) on PATH")]
fn every_acknowledged_revocation_survives_a_power_cut() {
    // Control: nothing synced, everything lost — the harness sees a lost write.
    let (acknowledged, effects, late) = run(true);
    println!("control (no sync reaches the disk): {} calls acknowledged", acknowledged.len());
    for (call, present) in &effects {
        println!("  {call:<26} {}", if *present { "survived" } else { "LOST" });
    }
    assert!(effects.iter().all(|(_, present)| !present), "the control loses every write");
    assert!(!late);

    // The real run: every revocation is back, the ordinary write last is not.
    let (acknowledged, effects, late) = run(false);
    println!("synchronous=NORMAL: {} calls acknowledged", acknowledged.len());
    for (call, present) in &effects {
        println!("  {call:<26} {}", if *present { "survived" } else { "LOST" });
    }
    println!("  {:<26} {}", "ordinary write (late)", if late { "survived" } else { "lost" });
    let lost: Vec<_> = effects.iter().filter(|(_, present)| !present).map(|(c, _)| *c).collect();
    assert!(lost.is_empty(), "acknowledged but lost in the power cut: {lost:?}");
    assert!(!late, "an ordinary write under NORMAL is not synced: the harness would see loss");
}

/// The child process of the test above (run by it, with the shim preloaded).
#[test]
#[ignore = "the child process of every_acknowledged_revocation_survives_a_power_cut"]
fn power_cut_child() {
    let Some(state) = std::env::var_os("AUTHLITE_POWERCUT_STATE") else { return };
    let data: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let db = Path::new(&state).with_file_name("auth.db");
    child(&db, &data);
}
