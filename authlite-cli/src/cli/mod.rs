//! Command-line parsing and the administrative commands. Every command returns an [`Out`]:
//! one JSON document (with `--json`, field names as in the library's types) or lines of
//! text, so scripts and people read the same results.

mod apikey;
mod audit;
mod demo;
mod exit;
mod identity;
mod key;
mod mfa;
mod org;
mod passkey;
mod role;
mod scoped;
mod session;
mod token;
mod user;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use authlite::{Auth, ClientInfo, Config, Error, ErrorKind, Result, SecretBytes};
use clap::{Args as ClapArgs, Parser, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

pub(crate) use exit::{EXIT_CODES, code_of};

/// Administer an authlite database.
#[derive(Debug, Parser)]
#[command(name = "authlite", version, about, after_help = EXIT_CODES)]
pub(crate) struct Args {
    /// The database: an SQLite file, or a postgres:// URL (must exist; `init` creates the
    /// file or the tables). Also read from AUTHLITE_DB.
    #[arg(long, global = true, env = "AUTHLITE_DB", value_name = "PATH|URL")]
    db: Option<PathBuf>,
    /// The application's master secret, when its database was created with one (at least
    /// 32 bytes). Read it from AUTHLITE_MASTER_SECRET rather than the command line. Every
    /// other setting (signing algorithm, issuer, audience) is read from the database.
    #[arg(long, global = true, env = "AUTHLITE_MASTER_SECRET", hide_env_values = true)]
    master_secret: Option<String>,
    /// Print one JSON document on stdout (errors as JSON on stderr).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Walk through register, login, validate, refresh, reuse detection and logout on a
    /// temporary database, printing each step.
    Demo,
    /// Create a new database at --db (every other command requires an existing one); on
    /// PostgreSQL, create authlite's tables in the existing database.
    Init,
    /// Summarise the database and check its integrity (SQLite: `PRAGMA quick_check`).
    Status,
    /// Write a consistent copy of the live SQLite database to a new FILE (PostgreSQL: use
    /// pg_dump).
    Backup { file: PathBuf },
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Log a user in (password from stdin) and print the new session's tokens.
    Login {
        /// Username or email.
        name: String,
        /// Client address to record with the session.
        #[arg(long)]
        ip: Option<String>,
    },
    /// Check, mint and revoke access tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Manage sessions.
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Manage roles and permissions.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Read, check and trim the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Service accounts: accounts with no password that act through API keys.
    #[command(subcommand)]
    Service(apikey::ServiceCommand),
    /// API keys of people and service accounts.
    #[command(subcommand)]
    Apikey(apikey::ApiKeyCommand),
    /// Scoped capability tokens (QR codes, share links).
    #[command(subcommand)]
    Scoped(scoped::ScopedCommand),
    /// The TOTP second factor.
    #[command(subcommand)]
    Mfa(mfa::MfaCommand),
    /// Passkeys: list, rename, revoke.
    #[command(subcommand)]
    Passkey(passkey::PasskeyCommand),
    /// Identities at OpenID Connect providers: list, unlink.
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Organizations: members with roles per organization, invitations.
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// Delete ended sessions, spent one-time tokens and expired revocation entries.
    Purge,
}

/// Paging of a listing.
#[derive(Debug, Clone, Copy, ClapArgs)]
struct Page {
    /// How many entries at most.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// How many to skip.
    #[arg(long, default_value_t = 0)]
    offset: u64,
}

impl Page {
    fn of<T>(self, all: Vec<T>) -> Vec<T> {
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        all.into_iter().skip(skip).take(self.limit as usize).collect()
    }
}

/// What a command produced: a JSON document and the same for people.
pub(crate) struct Out {
    pub(crate) json: Value,
    pub(crate) text: String,
}

fn out(json: impl Serialize, text: impl Into<String>) -> Result<Out> {
    let json = serde_json::to_value(json)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot encode the result: {e}")))?;
    Ok(Out { json, text: text.into() })
}

/// A one-line success with a small JSON object.
fn done(json: Value, text: impl Into<String>) -> Result<Out> {
    Ok(Out { json, text: text.into() })
}

pub(crate) fn run(args: Args) -> Result<Out> {
    if let Command::Demo = args.command {
        return demo::run();
    }
    let path = args.db.ok_or_else(|| {
        Error::new(ErrorKind::Config, "no database: pass --db PATH or set AUTHLITE_DB")
    })?;
    if path.is_dir() {
        let message = format!("{} is a directory, not a database file", path.display());
        return Err(Error::new(ErrorKind::InvalidInput, message));
    }
    let init = matches!(args.command, Command::Init);
    let location = Config::new(&path).location(); // a URL's password never printed
    if location.starts_with("postgres") && location.contains("sslmode=disable") {
        // The library never falls back to plaintext; saying so is the CLI's part.
        eprintln!("warning: sslmode=disable: the connection to PostgreSQL is not encrypted");
    }
    // An existing database opens with the settings it records (algorithm, issuer,
    // audience), so the CLI acts on an application's database exactly as the application
    // does. `init` only ever creates: an existing file, or a PostgreSQL database that
    // already has authlite's tables, is a conflict.
    let recorded = Auth::recorded_config(&path);
    let base = match (init, recorded) {
        (false, recorded) => recorded?,
        (true, Err(e)) if e.kind() == ErrorKind::NotFound && !path.exists() => Config::new(&path),
        (true, Err(e)) if !path.exists() => return Err(e),
        (true, _) => {
            return Err(Error::new(ErrorKind::Conflict, format!("{location} already exists")));
        }
    };
    let config = Config {
        create_if_missing: init,
        master_secret: args.master_secret.map(|s| SecretBytes::new(s.into_bytes())),
        ..base
    };
    let auth = Auth::open_with(config)?;
    match args.command {
        Command::Demo => unreachable!("handled above"),
        Command::Init => done(json!({ "created": location }), format!("created {location}")),
        Command::Status => {
            let status = auth.status()?;
            auth.check_integrity()?;
            let mut json = serde_json::to_value(&status).unwrap_or(Value::Null);
            json["integrity"] = json!("ok");
            let text = format!(
                "schema version: {}\nusers:          {}\nlive sessions:  {}\napi keys:       {}\nsigning keys:   {}\naudit rows:     {}\ndatabase bytes: {}\nwal bytes:      {}\nintegrity:      ok",
                status.schema_version,
                status.users,
                status.live_sessions,
                status.api_keys,
                status.signing_keys,
                status.audit_rows,
                status.db_bytes,
                status.wal_bytes
            );
            Ok(Out { json, text })
        }
        Command::Backup { file } => {
            auth.backup_to(&file)?;
            done(json!({ "backup": file }), format!("backed up to {}", file.display()))
        }
        Command::User(cmd) => user::run(&auth, cmd),
        Command::Login { name, ip } => {
            let password = read_password("Password: ")?;
            let login = auth.login(&name, &password, &ClientInfo { ip, user_agent: None })?;
            let json = json!({
                "user": login.user,
                "session": login.session,
                "access_token": login.access_token,
                "refresh_token": login.refresh_token,
                "access_expires_at": ms(login.access_expires_at),
            });
            let text = format!(
                "user:          {} (id {})\nsession:       {}\nexpires:       {}\naccess_token:  {}\nrefresh_token: {}",
                login.user.username,
                login.user.id,
                login.session.id,
                timestamp(login.access_expires_at),
                login.access_token,
                login.refresh_token
            );
            Ok(Out { json, text })
        }
        Command::Token(cmd) => token::run(&auth, cmd),
        Command::Session(cmd) => session::run(&auth, cmd),
        Command::Service(apikey::ServiceCommand::Create { name }) => {
            let user = auth.create_service_account(&name)?;
            let text = format!("created service account {} (id {})", user.username, user.id);
            out(&user, text)
        }
        Command::Apikey(cmd) => apikey::run(&auth, cmd),
        Command::Mfa(cmd) => mfa::run(&auth, cmd),
        Command::Passkey(cmd) => passkey::run(&auth, cmd),
        Command::Identity(cmd) => identity::run(&auth, cmd),
        Command::Scoped(cmd) => scoped::run(&auth, cmd),
        Command::Key(cmd) => key::run(&auth, cmd),
        Command::Role(cmd) => role::run(&auth, cmd),
        Command::Org(cmd) => org::run(&auth, cmd),
        Command::Audit(cmd) => audit::run(&auth, cmd),
        Command::Purge => {
            let sessions = auth.purge_expired()?;
            done(
                json!({ "sessions_deleted": sessions }),
                format!("{sessions} ended sessions deleted"),
            )
        }
    }
}

/// Milliseconds since the Unix epoch, as the library serializes times.
fn ms(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// A line on stdout that never panics (a closed pipe drops it).
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// A line from stdin (echoed: not a secret), after a prompt on stderr.
fn read_line(prompt: &str) -> Result<String> {
    let _ = write!(std::io::stderr(), "{prompt}");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("cannot read input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_password(prompt: &str) -> Result<String> {
    let io_error = |e: std::io::Error| {
        Error::new(ErrorKind::InvalidInput, format!("cannot read password: {e}"))
    };
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).map_err(io_error);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(io_error)?;
    std::io::stderr().flush().ok();
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A time as RFC 3339 UTC, to the second.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
