//! `authlite`: administer an authlite database, or watch the engine work (`authlite demo`).

mod cli;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let json = args.json;
    match cli::run(args) {
        Ok(out) => {
            if json {
                let doc = serde_json::to_string_pretty(&out.json).unwrap_or_else(|_| "null".into());
                cli::say(&doc);
            } else if !out.text.is_empty() {
                cli::say(&out.text);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The underlying cause (e.g. SQLite's "file is not a database") says what to fix.
            let mut causes = Vec::new();
            let mut next = std::error::Error::source(&e);
            while let Some(cause) = next {
                causes.push(cause.to_string());
                next = cause.source();
            }
            let cause = (!causes.is_empty()).then(|| causes.join(": "));
            let retry = e.retry_after_secs();
            let mut stderr = std::io::stderr().lock();
            if json {
                let doc = json!({
                    "error": e.kind().as_str(),
                    "message": e.to_string(),
                    "cause": cause,
                    "retry_after": retry,
                });
                let _ = writeln!(stderr, "{doc}");
            } else {
                // The message already says why (a storage error names its cause).
                let mut line = format!("error ({:?}): {e}", e.kind());
                if let Some(secs) = retry {
                    line.push_str(&format!(" (try again in {secs} s)"));
                }
                let _ = writeln!(stderr, "{line}");
            }
            ExitCode::from(cli::code_of(e.kind()))
        }
    }
}
