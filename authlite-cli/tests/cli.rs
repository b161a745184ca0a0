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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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

#[test]
fn a_person_can_add_list_log_in_and_verify_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let db = db.to_str().unwrap();

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
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("InvalidToken"));
}

#[test]
fn commands_without_a_database_explain_themselves() {
    let out = run(&["user", "list"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--db"));
}
