//! `authlite scoped ...`: scoped capability tokens.

use std::time::Duration;

use authlite::{Auth, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum ScopedCommand {
    /// Issue a token for SUBJECT within SCOPE and print it.
    Issue {
        scope: String,
        subject: String,
        /// Lifetime in minutes.
        #[arg(long, default_value_t = 240)]
        minutes: u64,
    },
    /// Verify a token for SCOPE.
    Verify {
        scope: String,
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Revoke every token of SCOPE and SUBJECT issued until now.
    Revoke { scope: String, subject: String },
}

pub(super) fn run(auth: &Auth, cmd: ScopedCommand) -> Result<Out> {
    match cmd {
        ScopedCommand::Issue { scope, subject, minutes } => {
            let ttl = Duration::from_secs(minutes.saturating_mul(60));
            let token = auth.issue_scoped(&scope, &subject, ttl)?;
            done(json!({ "token": token }), token)
        }
        ScopedCommand::Verify { scope, token } => {
            let grant = auth.verify_scoped(token.trim(), &scope)?;
            let text = format!(
                "valid: {} {} until {}",
                grant.scope,
                grant.subject,
                timestamp(grant.expires_at)
            );
            out(&grant, text)
        }
        ScopedCommand::Revoke { scope, subject } => {
            auth.revoke_scoped(&scope, &subject)?;
            let text = format!("every {scope} {subject} token issued until now is revoked");
            done(json!({ "scope": scope, "subject": subject, "revoked": true }), text)
        }
    }
}
