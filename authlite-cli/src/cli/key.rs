//! `authlite key ...`: signing keys (rotation, retirement, JWKS).

use authlite::{Auth, Result};
use clap::Subcommand;
use serde_json::{Value, json};

use super::{Out, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum KeyCommand {
    /// List signing keys; the one that signs is marked.
    List,
    /// Create a new signing key and sign with it from now on.
    Rotate,
    /// Retire a key: tokens it signed stop validating. (Key ids are random base64url and may
    /// begin with `-`: they are taken as they come.)
    Retire {
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Print the public keys (EdDSA only) as JWKS.
    Jwks,
}

pub(super) fn run(auth: &Auth, cmd: KeyCommand) -> Result<Out> {
    match cmd {
        KeyCommand::List => {
            let keys = auth.signing_keys()?;
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    let state = match (k.signing, k.retired_at) {
                        (true, _) => "signing".to_owned(),
                        (false, None) => "verifies".to_owned(),
                        (false, Some(at)) => format!("retired {}", timestamp(at)),
                    };
                    format!("{}  {:<6} created {}  {state}", k.kid, k.alg, timestamp(k.created_at))
                })
                .collect();
            out(&keys, lines.join("\n"))
        }
        KeyCommand::Rotate => {
            let kid = auth.rotate_signing_key()?;
            done(json!({ "kid": kid }), format!("new signing key {kid}"))
        }
        KeyCommand::Retire { kid } => {
            auth.retire_signing_key(&kid)?;
            done(json!({ "retired": kid }), format!("key {kid} retired"))
        }
        KeyCommand::Jwks => {
            let jwks = auth.jwks()?;
            let json: Value = serde_json::from_str(&jwks).unwrap_or(Value::Null);
            Ok(Out { json, text: jwks })
        }
    }
}
