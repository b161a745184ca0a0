//! `authlite token ...`: verifying, minting and revoking access tokens.

use authlite::{Auth, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, done, ms, out, read_password, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Validate an access token statefully and print who it belongs to.
    Verify {
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Mint a service token from an API key (read from stdin) and print it.
    Mint,
    /// Revoke one access token (its session stays).
    Revoke {
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
}

pub(super) fn run(auth: &Auth, cmd: TokenCommand) -> Result<Out> {
    match cmd {
        TokenCommand::Verify { token } => {
            let who = auth.validate(token.trim())?;
            let mut text = format!("valid: user {} (id {})", who.username, who.user_id);
            if let Some(session) = who.session_id {
                text.push_str(&format!("\nsession: {session}"));
            }
            if let Some(key) = who.api_key_id {
                text.push_str(&format!("\napi key: {key}"));
            }
            text.push_str(&format!("\nroles:   {}", who.roles.join(", ")));
            if let Some(claims) = &who.claims {
                text.push_str(&format!("\nexpires: {}", timestamp(claims.expires_at())));
            }
            out(&who, text)
        }
        TokenCommand::Mint => {
            let key = read_password("API key: ")?;
            let token = auth.issue_service_token(key.trim())?;
            let json =
                json!({ "access_token": token.access_token, "expires_at": ms(token.expires_at) });
            let text = format!(
                "access_token: {}\nexpires:      {}",
                token.access_token,
                timestamp(token.expires_at)
            );
            Ok(Out { json, text })
        }
        TokenCommand::Revoke { token } => {
            auth.revoke_token(token.trim())?;
            done(json!({ "revoked": true }), "token revoked")
        }
    }
}
