//! Command-line parsing and the administrative commands. Every command returns an [`Out`]:
//! one JSON document (with `--json`, field names as in the library's types) or lines of
//! text, so scripts and people read the same results.

mod demo;
mod exit;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use authlite::{
    ApiKeyId, ApiKeySpec, AuditKind, AuditQuery, Auth, ClientInfo, Config, Error, ErrorKind,
    NewUser, Result, SecretBytes, SessionId, User, UserQuery,
};
use clap::builder::PossibleValuesParser;
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
    User(UserCommand),
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
    Token(TokenCommand),
    /// Manage sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage roles and permissions.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Read, check and trim the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Service accounts: accounts with no password that act through API keys.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// API keys of people and service accounts.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Scoped capability tokens (QR codes, share links).
    #[command(subcommand)]
    Scoped(ScopedCommand),
    /// The TOTP second factor.
    #[command(subcommand)]
    Mfa(MfaCommand),
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

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Register a user; the password is read from stdin.
    Add {
        /// The username.
        name: String,
        /// An email address for the user.
        #[arg(long)]
        email: Option<String>,
    },
    /// Add a user with a password hash from another system (Django, Werkzeug, passlib, PHC).
    Import { name: String, hash: String },
    /// List users, by id.
    List {
        /// Only usernames or emails containing this text.
        #[arg(long)]
        search: Option<String>,
        /// Only holders of this role.
        #[arg(long)]
        role: Option<String>,
        /// Only service accounts.
        #[arg(long)]
        services: bool,
        #[command(flatten)]
        page: Page,
    },
    /// Show one user (by username or email) with their roles.
    Show { name: String },
    /// Set a user's password (read from stdin); ends their sessions.
    Passwd { name: String },
    /// Set or clear (--clear) a user's email.
    Email {
        name: String,
        email: Option<String>,
        #[arg(long, conflicts_with = "email")]
        clear: bool,
    },
    /// Deactivate a user; ends their sessions.
    Deactivate { name: String },
    /// Re-activate a user.
    Activate { name: String },
    /// Delete a user and their sessions.
    Delete { name: String },
    /// Clear a login lockout.
    Unlock { name: String },
    /// Make a password-reset token for a user (to send by your own channel).
    ResetLink { name: String },
    /// Make an email-verification token for a user's current address.
    VerifyLink { name: String },
    /// A user's attributes.
    #[command(subcommand)]
    Attr(AttrCommand),
}

#[derive(Debug, Subcommand)]
enum AttrCommand {
    /// Set an attribute (keys: a-z 0-9 _ . -).
    Set { name: String, key: String, value: String },
    /// Remove an attribute.
    Rm { name: String, key: String },
    /// List a user's attributes.
    List { name: String },
}

#[derive(Debug, Subcommand)]
enum MfaCommand {
    /// Enroll TOTP for a user: prints the secret and draws the otpauth QR code, then reads
    /// a first code from stdin to turn it on and prints the recovery codes.
    Enroll { name: String },
    /// Turn a user's second factor off.
    Disable { name: String },
}

#[derive(Debug, Subcommand)]
enum RoleCommand {
    /// List roles and their permissions.
    List,
    /// Create a role.
    Create { role: String },
    /// Delete a role with its grants and assignments.
    Delete { role: String },
    /// Allow a role an action on a resource ("*" matches any).
    Grant { role: String, resource: String, action: String },
    /// Take a permission from a role.
    Revoke { role: String, resource: String, action: String },
    /// Give a user a role.
    Assign { name: String, role: String },
    /// Take a role from a user.
    Unassign { name: String, role: String },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
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

#[derive(Debug, Subcommand)]
enum TokenCommand {
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

#[derive(Debug, Subcommand)]
enum ServiceCommand {
    /// Create a service account.
    Create { name: String },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
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

#[derive(Debug, Subcommand)]
enum ScopedCommand {
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

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// List a user's live sessions, newest first.
    List {
        name: String,
        #[command(flatten)]
        page: Page,
    },
    /// Revoke one session by id.
    Revoke { id: SessionId },
    /// Revoke every live session of a user.
    RevokeAll { name: String },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
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
        Command::User(cmd) => user_command(&auth, cmd),
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
        Command::Token(cmd) => token_command(&auth, cmd),
        Command::Session(cmd) => session_command(&auth, cmd),
        Command::Service(ServiceCommand::Create { name }) => {
            let user = auth.create_service_account(&name)?;
            let text = format!("created service account {} (id {})", user.username, user.id);
            out(&user, text)
        }
        Command::Apikey(cmd) => api_key_command(&auth, cmd),
        Command::Mfa(cmd) => mfa_command(&auth, cmd),
        Command::Scoped(cmd) => scoped_command(&auth, cmd),
        Command::Key(cmd) => key_command(&auth, cmd),
        Command::Role(cmd) => role_command(&auth, cmd),
        Command::Audit(cmd) => audit_command(&auth, cmd),
        Command::Purge => {
            let sessions = auth.purge_expired()?;
            done(
                json!({ "sessions_deleted": sessions }),
                format!("{sessions} ended sessions deleted"),
            )
        }
    }
}

fn token_command(auth: &Auth, cmd: TokenCommand) -> Result<Out> {
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

fn session_command(auth: &Auth, cmd: SessionCommand) -> Result<Out> {
    match cmd {
        SessionCommand::List { name, page } => {
            let user = auth.find_user(&name)?;
            let sessions = page.of(auth.sessions(user.id)?);
            let lines: Vec<String> = sessions
                .iter()
                .map(|s| {
                    format!(
                        "{:>6}  created {}  idle until {}  ip {}",
                        s.id,
                        timestamp(s.created_at),
                        timestamp(s.idle_expires_at),
                        s.ip.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            let text =
                if lines.is_empty() { "no live sessions".to_owned() } else { lines.join("\n") };
            out(&sessions, text)
        }
        SessionCommand::Revoke { id } => {
            auth.revoke_session(id)?;
            done(json!({ "revoked": id }), format!("session {id} revoked"))
        }
        SessionCommand::RevokeAll { name } => {
            let user = auth.find_user(&name)?;
            let ended = auth.revoke_all_sessions(user.id)?;
            done(json!({ "revoked": ended }), format!("{ended} sessions of {name} revoked"))
        }
    }
}

fn mfa_command(auth: &Auth, cmd: MfaCommand) -> Result<Out> {
    match cmd {
        MfaCommand::Enroll { name } => {
            let user = auth.find_user(&name)?;
            let enrollment = auth.enroll_totp(user.id)?;
            // The secret and the QR code come first, before the code is read.
            say(&format!("secret: {}", enrollment.secret));
            say(&format!("uri:    {}", enrollment.otpauth_uri));
            say(&qr(&enrollment.otpauth_uri)?);
            let code = read_line("Code from the app: ")?;
            let codes = auth.confirm_totp(user.id, code.trim())?;
            let mut text = format!(
                "TOTP is on for {}. Recovery codes (each works once; shown once):",
                user.username
            );
            for code in &codes {
                text.push_str(&format!("\n  {code}"));
            }
            done(json!({ "user": user.username, "recovery_codes": codes }), text)
        }
        MfaCommand::Disable { name } => {
            let user = auth.find_user(&name)?;
            auth.disable_totp(user.id)?;
            done(
                json!({ "user": user.username, "totp": false }),
                format!("TOTP is off for {}", user.username),
            )
        }
    }
}

/// `text` as a QR code of Unicode half blocks, for a terminal.
fn qr(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot draw the QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

fn api_key_command(auth: &Auth, cmd: ApiKeyCommand) -> Result<Out> {
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

fn scoped_command(auth: &Auth, cmd: ScopedCommand) -> Result<Out> {
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

fn user_command(auth: &Auth, cmd: UserCommand) -> Result<Out> {
    let created = |user: User| {
        let text = format!("created user {} (id {})", user.username, user.id);
        out(&user, text)
    };
    match cmd {
        UserCommand::Add { name, email } => {
            let password = read_password("Password: ")?;
            let mut new = NewUser::new(name, password);
            if let Some(email) = email {
                new = new.email(email);
            }
            created(auth.register(new)?)
        }
        UserCommand::Import { name, hash } => created(auth.import_user(&name, &hash)?),
        UserCommand::List { search, role, services, page } => {
            let query = UserQuery {
                search,
                role,
                kind: services.then_some(authlite::AccountKind::Service),
                limit: Some(page.limit),
                offset: page.offset,
                ..UserQuery::default()
            };
            let users = auth.list_users(&query)?;
            let lines: Vec<String> = users.iter().map(user_line).collect();
            let text = if lines.is_empty() { "no users".to_owned() } else { lines.join("\n") };
            out(&users, text)
        }
        UserCommand::Show { name } => {
            let user = auth.find_user(&name)?;
            let roles = auth.user_roles(user.id)?;
            let mut json = serde_json::to_value(&user).unwrap_or(Value::Null);
            json["roles"] = json!(roles);
            let text = format!("{}\nroles: {}", user_line(&user), roles.join(", "));
            Ok(Out { json, text })
        }
        UserCommand::Passwd { name } => {
            let user = auth.find_user(&name)?;
            let password = read_password("New password: ")?;
            auth.set_password(user.id, password)?;
            done(
                json!({ "user": user.username }),
                format!("password of {name} set; sessions ended"),
            )
        }
        UserCommand::Email { name, email, clear } => {
            let user = auth.find_user(&name)?;
            if email.is_none() && !clear {
                return Err(Error::new(ErrorKind::InvalidInput, "give an EMAIL or --clear"));
            }
            auth.set_email(user.id, email.as_deref())?;
            let text = match &email {
                Some(email) => format!("email of {name} set to {email}"),
                None => format!("email of {name} cleared"),
            };
            done(json!({ "user": user.username, "email": email }), text)
        }
        UserCommand::Deactivate { name } => {
            auth.deactivate_user(auth.find_user(&name)?.id)?;
            done(json!({ "user": name, "active": false }), format!("{name} deactivated"))
        }
        UserCommand::Activate { name } => {
            auth.activate_user(auth.find_user(&name)?.id)?;
            done(json!({ "user": name, "active": true }), format!("{name} activated"))
        }
        UserCommand::Delete { name } => {
            auth.delete_user(auth.find_user(&name)?.id)?;
            done(json!({ "deleted": name }), format!("{name} deleted"))
        }
        UserCommand::Unlock { name } => {
            auth.unlock_user(auth.find_user(&name)?.id)?;
            done(json!({ "unlocked": name }), format!("{name} unlocked"))
        }
        UserCommand::ResetLink { name } => match auth.request_password_reset(&name)? {
            Some(token) => done(json!({ "token": token }), token),
            None => Err(Error::new(ErrorKind::NotFound, format!("no person named {name}"))),
        },
        UserCommand::VerifyLink { name } => {
            let token = auth.email_verification_token(auth.find_user(&name)?.id)?;
            done(json!({ "token": token }), token)
        }
        UserCommand::Attr(AttrCommand::Set { name, key, value }) => {
            auth.set_attribute(auth.find_user(&name)?.id, &key, &value)?;
            done(json!({ "user": name, "key": key, "value": value }), format!("{name}: {key} set"))
        }
        UserCommand::Attr(AttrCommand::Rm { name, key }) => {
            auth.remove_attribute(auth.find_user(&name)?.id, &key)?;
            done(
                json!({ "user": name, "key": key, "removed": true }),
                format!("{name}: {key} removed"),
            )
        }
        UserCommand::Attr(AttrCommand::List { name }) => {
            let attributes = auth.find_user(&name)?.attributes;
            let text: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out(&attributes, text.join("\n"))
        }
    }
}

fn user_line(u: &User) -> String {
    format!(
        "{:>6}  {:<24} {:<32} {}{}",
        u.id,
        u.username,
        u.email.as_deref().unwrap_or("-"),
        if u.active { "active" } else { "deactivated" },
        if u.kind == authlite::AccountKind::Service { " (service)" } else { "" }
    )
}

fn role_command(auth: &Auth, cmd: RoleCommand) -> Result<Out> {
    match cmd {
        RoleCommand::List => {
            let mut roles = Vec::new();
            let mut lines = Vec::new();
            for role in auth.roles()? {
                let grants = auth.role_permissions(&role)?;
                let shown: Vec<String> = grants.iter().map(|(r, a)| format!("{r}:{a}")).collect();
                lines.push(format!("{role}: {}", shown.join(" ")));
                roles.push(json!({ "name": role, "permissions": grants }));
            }
            let text = if lines.is_empty() { "no roles".to_owned() } else { lines.join("\n") };
            done(Value::Array(roles), text)
        }
        RoleCommand::Create { role } => {
            auth.create_role(&role)?;
            done(json!({ "created": role }), format!("role {role} created"))
        }
        RoleCommand::Delete { role } => {
            auth.delete_role(&role)?;
            done(json!({ "deleted": role }), format!("role {role} deleted"))
        }
        RoleCommand::Grant { role, resource, action } => {
            auth.grant(&role, &resource, &action)?;
            let json = json!({ "role": role, "resource": resource, "action": action });
            done(json, format!("{role} may {action} {resource}"))
        }
        RoleCommand::Revoke { role, resource, action } => {
            auth.revoke_grant(&role, &resource, &action)?;
            let json = json!({ "role": role, "resource": resource, "action": action });
            done(json, format!("{role} may no longer {action} {resource}"))
        }
        RoleCommand::Assign { name, role } => {
            auth.assign_role(auth.find_user(&name)?.id, &role)?;
            done(json!({ "user": name, "role": role }), format!("{name} has role {role}"))
        }
        RoleCommand::Unassign { name, role } => {
            auth.unassign_role(auth.find_user(&name)?.id, &role)?;
            done(json!({ "user": name, "role": role }), format!("{name} no longer has role {role}"))
        }
    }
}

fn audit_command(auth: &Auth, cmd: AuditCommand) -> Result<Out> {
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

fn key_command(auth: &Auth, cmd: KeyCommand) -> Result<Out> {
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
