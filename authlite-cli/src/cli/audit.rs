//! `authlite audit ...`: reading, verifying and purging the audit trail.

use std::time::{Duration, SystemTime};

use authlite::{AuditKind, AuditQuery, Auth, Result};
use clap::Subcommand;
use clap::builder::PossibleValuesParser;
use serde_json::json;

use super::{Out, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Show events, newest first.
    List {
        /// Only events about this user (username or email).
        #[arg(long)]
        user: Option<String>,
        /// Only events of this kind.
        #[arg(long, value_parser = PossibleValuesParser::new(AuditKind::ALL.iter().map(|k| k.as_str())))]
        kind: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only events older than this id (the last id of the previous page).
        #[arg(long)]
        before_id: Option<i64>,
    },
    /// Check the audit trail's MAC chain.
    Verify,
    /// Delete events older than DAYS days, keeping the chain verifiable.
    Purge {
        #[arg(long, value_name = "DAYS")]
        older_than_days: u64,
    },
}

pub(super) fn run(auth: &Auth, cmd: AuditCommand) -> Result<Out> {
    match cmd {
        AuditCommand::List { user, kind, limit, before_id } => {
            let user_id = match user {
                Some(name) => Some(auth.find_user(&name)?.id),
                None => None,
            };
            let kind = kind.as_deref().and_then(AuditKind::from_name);
            let events = auth.audit(&AuditQuery {
                user_id,
                kind,
                limit: Some(limit),
                before_id,
                ..AuditQuery::default()
            })?;
            let lines: Vec<String> = events
                .iter()
                .map(|e| {
                    format!(
                        "{:>6}  {}  {:<28} user {:<6} {}",
                        e.id,
                        timestamp(e.at),
                        e.kind.as_str(),
                        e.user_id.map_or("-".to_owned(), |u| u.to_string()),
                        e.detail.as_deref().unwrap_or("")
                    )
                })
                .collect();
            let text = if lines.is_empty() { "no events".to_owned() } else { lines.join("\n") };
            out(&events, text)
        }
        AuditCommand::Verify => {
            let rows = auth.verify_audit_chain()?;
            done(
                json!({ "intact": true, "rows": rows }),
                format!("audit trail intact: {rows} rows verified"),
            )
        }
        AuditCommand::Purge { older_than_days } => {
            let age = Duration::from_secs(older_than_days.saturating_mul(86_400));
            let before = SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
            let deleted = auth.purge_audit(before)?;
            done(
                json!({ "deleted": deleted }),
                format!("{deleted} audit rows older than {older_than_days} days deleted"),
            )
        }
    }
}
