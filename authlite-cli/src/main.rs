//! `authlite`: administer an authlite database, or watch the engine work (`authlite demo`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr().lock(), "error ({:?}): {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}
