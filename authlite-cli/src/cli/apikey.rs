//! `authlite service ...` and `authlite apikey ...`: service accounts and API keys.

use std::time::{Duration, SystemTime};

use authlite::{ApiKeyId, ApiKeySpec, Auth, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, Page, done, out};

#[derive(Debug, Subcommand)]
pub(super) enum ServiceCommand {
    /// Create a service account.
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum ApiKeyCommand {
    /// Create an API key for a user or service account; the secret is printed once.
    Create {
        /// The account (username or email).
        owner: String,
        /// A name for the key, e.g. billing-prod.
        name: String,
        /// Limit the key to a "resource:action" scope (repeatable; * for any).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Days until the key expires.
        #[arg(long)]
        expires_in_days: Option<u64>,
    },
    /// List an account's API keys (no secrets).
    List {
        owner: String,
        #[command(flatten)]
        page: Page,
    },
    /// Revoke an API key by id: it and its service tokens stop working.
    Revoke { id: ApiKeyId },
}

pub(super) fn run(auth: &Auth, cmd: ApiKeyCommand) -> Result<Out> {
    match cmd {
        ApiKeyCommand::Create { owner, name, scopes, expires_in_days } => {
            let owner = auth.find_user(&owner)?;
            let mut spec = ApiKeySpec::new(name);
            if !scopes.is_empty() {
                spec = spec.scopes(scopes);
            }
            if let Some(days) = expires_in_days {
                spec = spec.expires_in(Duration::from_secs(days.saturating_mul(86_400)));
            }
            let key = auth.create_api_key(owner.id, spec)?;
            let text = format!(
                "created API key {} for {} (shown once):\n{}",
                key.info.id, owner.username, key.secret
            );
            done(json!({ "secret": key.secret, "info": key.info }), text)
        }
        ApiKeyCommand::List { owner, page } => {
            let owner = auth.find_user(&owner)?;
            let keys = page.of(auth.api_keys(owner.id)?);
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    let state = match (k.revoked_at, k.expires_at) {
                        (Some(_), _) => "revoked",
                        (None, Some(at)) if at <= SystemTime::now() => "expired",
                        _ => "live",
                    };
                    let scopes = k.scopes.as_ref().map_or("(unscoped)".to_owned(), |s| s.join(" "));
                    format!("{:>5}  {:<8} {}…  {}  {}", k.id, state, k.prefix, k.name, scopes)
                })
                .collect();
            let text = if lines.is_empty() { "no API keys".to_owned() } else { lines.join("\n") };
            out(&keys, text)
        }
        ApiKeyCommand::Revoke { id } => {
            auth.revoke_api_key(id)?;
            done(json!({ "revoked": id }), format!("API key {id} revoked"))
        }
    }
}
