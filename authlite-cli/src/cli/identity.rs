//! `authlite identity ...`: the identities at OpenID Connect providers linked to an account
//! (linking one needs a browser: see authlite-axum's `oidc_routes`).

use authlite::{Auth, IdentityId, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum IdentityCommand {
    /// List an account's linked identities (username or email).
    List { user: String },
    /// Unlink an identity: it no longer signs in, and the sessions its provider started
    /// end. Refused when it is the account's last way to sign in.
    Unlink { id: IdentityId },
}

pub(super) fn run(auth: &Auth, cmd: IdentityCommand) -> Result<Out> {
    match cmd {
        IdentityCommand::List { user } => {
            let user = auth.find_user(&user)?;
            let identities = auth.identities(user.id)?;
            let lines: Vec<String> = identities
                .iter()
                .map(|i| {
                    let used = i
                        .last_used_at
                        .map_or("never used".to_owned(), |t| format!("last used {}", timestamp(t)));
                    let email = i.email.as_deref().unwrap_or("no email");
                    format!(
                        "{:>5}  {}  {} at {}  ({email}, {used})",
                        i.id, i.provider, i.subject, i.issuer
                    )
                })
                .collect();
            let text =
                if lines.is_empty() { "no linked identities".to_owned() } else { lines.join("\n") };
            out(&identities, text)
        }
        IdentityCommand::Unlink { id } => {
            auth.unlink_identity(id)?;
            let text = format!("identity {id} unlinked; the sessions its provider started ended");
            done(json!({ "unlinked": id }), text)
        }
    }
}
