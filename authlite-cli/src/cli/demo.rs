//! `authlite demo`: the whole flow on a throw-away database, one line per step.

use std::path::Path;
use std::time::Instant;

use authlite::{Auth, ClientInfo, Error, ErrorKind, NewUser, Result};
use serde_json::json;

use super::Out;

const PASSWORD: &str = "correct horse battery staple";

pub(crate) fn run() -> Result<Out> {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::new(ErrorKind::Storage, format!("cannot create a temp dir: {e}")))?;
    let path = dir.path().join("demo.db");
    let mut log = Vec::new();
    walk(&path, &mut log)?;
    Ok(Out { json: json!({ "steps": log }), text: log.join("\n") })
}

fn walk(path: &Path, log: &mut Vec<String>) -> Result<()> {
    let started = Instant::now();
    let auth = Auth::open(path)?;
    step(log, "open", format!("created {} (schema, WAL, signing key)", path.display()));

    let alice = auth.register(NewUser::new("Alice", PASSWORD).email("alice@example.com"))?;
    step(
        log,
        "register",
        format!("user {:?} id {} (PBKDF2-SHA256, 600k iterations)", alice.username, alice.id),
    );

    refused(log, "register ALICE again", auth.register(NewUser::new("ALICE", PASSWORD)))?;
    refused(
        log,
        "register with password \"password1\"",
        auth.register(NewUser::new("bob", "password1")),
    )?;
    refused(log, "login with a wrong password", auth.login("alice", "wrong password", &client()))?;

    let login = auth.login("ALICE", PASSWORD, &client())?;
    step(
        log,
        "login",
        format!(
            "session {} for {:?}; access token {}; refresh token {}",
            login.session.id,
            login.user.username,
            short(&login.access_token),
            short(&login.refresh_token)
        ),
    );

    let who = auth.validate(&login.access_token)?;
    step(
        log,
        "validate",
        format!("user {} ({:?}): signature and database agree", who.user_id, who.session_id),
    );

    let pair = auth.refresh(&login.refresh_token)?;
    step(
        log,
        "refresh",
        format!(
            "rotated: new access {}, new refresh {}",
            short(&pair.access_token),
            short(&pair.refresh_token)
        ),
    );
    auth.validate(&pair.access_token)?;
    step(log, "validate", "the new access token is accepted");

    refused(
        log,
        "refresh with the spent token (theft signal)",
        auth.refresh(&login.refresh_token),
    )?;
    refused(log, "validate the newest token after reuse", auth.validate(&pair.access_token))?;

    let second = auth.login("alice@example.com", PASSWORD, &client())?;
    step(log, "login", format!("by email: session {}", second.session.id));
    auth.logout(&second.access_token)?;
    step(log, "logout", format!("session {} ended", second.session.id));
    refused(log, "validate after logout", auth.validate(&second.access_token))?;
    refused(log, "refresh after logout", auth.refresh(&second.refresh_token))?;

    let third = auth.login("alice", PASSWORD, &client())?;
    auth.deactivate_user(alice.id)?;
    step(log, "deactivate", "alice deactivated");
    refused(log, "validate a deactivated user's token", auth.validate(&third.access_token))?;
    refused(log, "login as a deactivated user", auth.login("alice", PASSWORD, &client()))?;

    step(
        log,
        "done",
        format!("{:.2?} in all (most of it is PBKDF2, on purpose)", started.elapsed()),
    );
    Ok(())
}

fn client() -> ClientInfo {
    ClientInfo { ip: Some("127.0.0.1".into()), user_agent: Some("authlite-demo".into()) }
}

fn step(log: &mut Vec<String>, name: &str, outcome: impl std::fmt::Display) {
    log.push(format!("  ok       {name}: {outcome}"));
}

/// Prints an expected refusal; a success where a refusal belongs is an error.
fn refused<T>(log: &mut Vec<String>, what: &str, result: Result<T>) -> Result<()> {
    match result {
        Err(e) => {
            log.push(format!("  refused  {what} -> {:?} ({e})", e.kind()));
            Ok(())
        }
        Ok(_) => {
            Err(Error::new(ErrorKind::Internal, format!("demo: \"{what}\" should have failed")))
        }
    }
}

fn short(token: &str) -> String {
    format!("{}…({} chars)", &token[..token.len().min(12)], token.len())
}
