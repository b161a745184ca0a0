//! `authlite passkey ...`: an account's passkeys (registering one needs a browser: see
//! authlite-axum's `passkey_routes`).

use authlite::{Auth, PasskeyId, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum PasskeyCommand {
    /// List an account's passkeys (username or email).
    List { user: String },
    /// Rename a passkey.
    Rename { id: PasskeyId, name: String },
    /// Revoke a passkey: it no longer signs in, and the sessions it started end. Refused
    /// when it is the account's last way to sign in.
    Revoke { id: PasskeyId },
}

pub(super) fn run(auth: &Auth, cmd: PasskeyCommand) -> Result<Out> {
    match cmd {
        PasskeyCommand::List { user } => {
            let user = auth.find_user(&user)?;
            let passkeys = auth.passkeys(user.id)?;
            let lines: Vec<String> = passkeys
                .iter()
                .map(|p| {
                    let used = p
                        .last_used_at
                        .map_or("never used".to_owned(), |t| format!("last used {}", timestamp(t)));
                    let synced = if p.backed_up { "synced" } else { "device-bound" };
                    format!("{:>5}  {}  ({used}, {synced})", p.id, p.name)
                })
                .collect();
            let text = if lines.is_empty() { "no passkeys".to_owned() } else { lines.join("\n") };
            out(&passkeys, text)
        }
        PasskeyCommand::Rename { id, name } => {
            auth.rename_passkey(id, &name)?;
            done(json!({ "renamed": id, "name": name }), format!("passkey {id} renamed"))
        }
        PasskeyCommand::Revoke { id } => {
            auth.revoke_passkey(id)?;
            done(json!({ "revoked": id }), format!("passkey {id} revoked; its sessions ended"))
        }
    }
}
