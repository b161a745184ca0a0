//! `authlite demo`: the whole flow on a throw-away database, one line per step.

use std::path::Path;
use std::time::Instant;

use authlite::{Auth, ClientInfo, Error, ErrorKind, NewUser, Result};

const PASSWORD: &str = "correct horse battery staple";

pub(crate) fn run() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::new(ErrorKind::Storage, format!("cannot create a temp dir: {e}")))?;
    let path = dir.path().join("demo.db");
    walk(&path)
}

fn walk(path: &Path) -> Result<()> {
    let started = Instant::now();
    let auth = Auth::open(path)?;
    step("open", format!("created {} (schema, WAL, signing key)", path.display()));

    let alice = auth.register(NewUser::new("Alice", PASSWORD).email("alice@example.com"))?;
    step(
        "register",
        format!("user {:?} id {} (PBKDF2-SHA256, 600k iterations)", alice.username, alice.id),
    );

    refused("register ALICE again", auth.register(NewUser::new("ALICE", PASSWORD)))?;
    refused(
        "register with password \"password1\"",
        auth.register(NewUser::new("bob", "password1")),
    )?;
    refused("login with a wrong password", auth.login("alice", "wrong password", &client()))?;

    let login = auth.login("ALICE", PASSWORD, &client())?;
    step(
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
        "validate",
        format!("user {} ({:?}): signature and database agree", who.user_id, who.session_id),
    );

    let pair = auth.refresh(&login.refresh_token)?;
    step(
        "refresh",
        format!(
            "rotated: new access {}, new refresh {}",
            short(&pair.access_token),
            short(&pair.refresh_token)
        ),
    );
    auth.validate(&pair.access_token)?;
    step("validate", "the new access token is accepted");

    refused("refresh with the spent token (theft signal)", auth.refresh(&login.refresh_token))?;
    refused("validate the newest token after reuse", auth.validate(&pair.access_token))?;

    let second = auth.login("alice@example.com", PASSWORD, &client())?;
    step("login", format!("by email: session {}", second.session.id));
    auth.logout(&second.access_token)?;
    step("logout", format!("session {} ended", second.session.id));
    refused("validate after logout", auth.validate(&second.access_token))?;
    refused("refresh after logout", auth.refresh(&second.refresh_token))?;

    let third = auth.login("alice", PASSWORD, &client())?;
    auth.deactivate_user(alice.id)?;
    step("deactivate", "alice deactivated");
    refused("validate a deactivated user's token", auth.validate(&third.access_token))?;
    refused("login as a deactivated user", auth.login("alice", PASSWORD, &client()))?;

    step("done", format!("{:.2?} in all (most of it is PBKDF2, on purpose)", started.elapsed()));
    Ok(())
}

fn client() -> ClientInfo {
    ClientInfo { ip: Some("127.0.0.1".into()), user_agent: Some("authlite-demo".into()) }
}

fn step(name: &str, outcome: impl std::fmt::Display) {
    say!("  ok       {name}: {outcome}");
}

/// Prints an expected refusal; a success where a refusal belongs is an error.
fn refused<T>(what: &str, result: Result<T>) -> Result<()> {
    match result {
        Err(e) => {
            say!("  refused  {what} -> {:?} ({e})", e.kind());
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
