//! `authlite session ...`: listing and revoking sessions.

use authlite::{Auth, Result, SessionId};
use clap::Subcommand;
use serde_json::json;

use super::{Out, Page, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum SessionCommand {
    /// List a user's live sessions, newest first.
    List {
        name: String,
        #[command(flatten)]
        page: Page,
    },
    /// Revoke one session by id.
    Revoke { id: SessionId },
    /// Revoke every live session of a user.
    RevokeAll { name: String },
}

pub(super) fn run(auth: &Auth, cmd: SessionCommand) -> Result<Out> {
    match cmd {
        SessionCommand::List { name, page } => {
            let user = auth.find_user(&name)?;
            let sessions = page.of(auth.sessions(user.id)?);
            let lines: Vec<String> = sessions
                .iter()
                .map(|s| {
                    format!(
                        "{:>6}  created {}  idle until {}  ip {}",
                        s.id,
                        timestamp(s.created_at),
                        timestamp(s.idle_expires_at),
                        s.ip.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            let text =
                if lines.is_empty() { "no live sessions".to_owned() } else { lines.join("\n") };
            out(&sessions, text)
        }
        SessionCommand::Revoke { id } => {
            auth.revoke_session(id)?;
            done(json!({ "revoked": id }), format!("session {id} revoked"))
        }
        SessionCommand::RevokeAll { name } => {
            let user = auth.find_user(&name)?;
            let ended = auth.revoke_all_sessions(user.id)?;
            done(json!({ "revoked": ended }), format!("{ended} sessions of {name} revoked"))
        }
    }
}
