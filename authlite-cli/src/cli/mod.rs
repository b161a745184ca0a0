//! Command-line parsing and the administrative commands.

/// `println!` that never panics: output to a closed pipe (`authlite ... | head`) is dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod demo;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use authlite::{
    ApiKeyId, ApiKeySpec, AuditKind, AuditQuery, Auth, ClientInfo, Config, Error, ErrorKind,
    NewUser, Result, SecretBytes, SessionId, User, UserQuery,
};
use clap::{Parser, Subcommand};

/// Administer an authlite database.
#[derive(Debug, Parser)]
#[command(name = "authlite", version, about)]
pub(crate) struct Args {
    /// The database file (created if missing). Also read from AUTHLITE_DB.
    #[arg(long, global = true, env = "AUTHLITE_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    /// The application's master secret, when its database was created with one (at least
    /// 32 bytes). Read it from AUTHLITE_MASTER_SECRET rather than the command line. Every
    /// other setting (signing algorithm, issuer, audience) is adopted from the database.
    #[arg(long, global = true, env = "AUTHLITE_MASTER_SECRET", hide_env_values = true)]
    master_secret: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Walk through register, login, validate, refresh, reuse detection and logout on a
    /// temporary database, printing each step.
    Demo,
    /// Create a new database at --db (every other command requires an existing one).
    Init,
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
    /// Check access tokens.
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
    /// Read and check the audit trail.
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
    /// Delete ended sessions and expired revocation entries.
    Purge,
    /// Summarise the database and check its integrity (`PRAGMA quick_check`).
    Status,
    /// Write a consistent copy of the live database to a new FILE.
    Backup { file: PathBuf },
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
    /// Import a user with a password hash from Django, Werkzeug, passlib or authlite.
    Import {
        /// The username.
        name: String,
        /// The hash, e.g. `pbkdf2_sha256$600000$salt$hash`.
        hash: String,
    },
    /// List users.
    List {
        /// Only usernames or emails containing this text.
        #[arg(long)]
        search: Option<String>,
        /// Only holders of this role.
        #[arg(long)]
        role: Option<String>,
    },
    /// Show one user (by username or email) with their roles.
    Show { name: String },
    /// Set a user's password (read from stdin); ends their sessions.
    Passwd { name: String },
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
    /// Show recent events, newest first.
    List {
        /// Only events about this user (username or email).
        #[arg(long)]
        user: Option<String>,
        /// Only events of this kind, e.g. login.failed.
        #[arg(long)]
        kind: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Check the audit trail's MAC chain.
    Verify,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Validate an access token statefully and print who it belongs to.
    Verify { token: String },
    /// Mint a service token from an API key (read from stdin) and print it.
    Mint,
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
    List { owner: String },
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
    Verify { scope: String, token: String },
    /// Revoke every token of SCOPE and SUBJECT issued until now.
    Revoke { scope: String, subject: String },
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// List a user's live sessions.
    List { name: String },
    /// Revoke one session by id.
    Revoke { id: SessionId },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// List signing keys.
    List,
    /// Create a new signing key and sign with it from now on.
    Rotate,
    /// Retire a key: tokens it signed stop validating.
    Retire { kid: String },
    /// Print the public keys (EdDSA only) as JWKS.
    Jwks,
}

pub(crate) fn run(args: Args) -> Result<()> {
    if let Command::Demo = args.command {
        return demo::run();
    }
    let path = args.db.ok_or_else(|| {
        Error::new(ErrorKind::Config, "no database: pass --db PATH or set AUTHLITE_DB")
    })?;
    let init = matches!(args.command, Command::Init);
    if init && path.exists() {
        return Err(Error::new(ErrorKind::Conflict, format!("{} already exists", path.display())));
    }
    let config = Config {
        create_if_missing: init,
        master_secret: args.master_secret.map(|s| SecretBytes::new(s.into_bytes())),
        ..Config::new(&path)
    };
    let auth = Auth::open_with(config)?;
    match args.command {
        Command::Demo => unreachable!("handled above"),
        Command::Status => {
            let s = auth.status()?;
            say!("schema version: {}", s.schema_version);
            say!("users:          {}", s.users);
            say!("live sessions:  {}", s.live_sessions);
            say!("signing keys:   {}", s.signing_keys);
            say!("audit rows:     {}", s.audit_rows);
            say!("database bytes: {}", s.db_bytes);
            say!("wal bytes:      {}", s.wal_bytes);
            auth.check_integrity()?;
            say!("integrity:      ok");
            Ok(())
        }
        Command::Backup { file } => {
            auth.backup_to(&file)?;
            say!("backed up to {}", file.display());
            Ok(())
        }
        Command::Init => {
            say!("created {}", path.display());
            Ok(())
        }
        Command::User(cmd) => user_command(&auth, cmd),
        Command::Login { name, ip } => {
            let password = read_password("Password: ")?;
            let login = auth.login(&name, &password, &ClientInfo { ip, user_agent: None })?;
            say!("user:          {} (id {})", login.user.username, login.user.id);
            say!("session:       {}", login.session.id);
            say!("expires:       {}", timestamp(login.access_expires_at));
            say!("access_token:  {}", login.access_token);
            say!("refresh_token: {}", login.refresh_token);
            Ok(())
        }
        Command::Token(TokenCommand::Verify { token }) => {
            let who = auth.validate(token.trim())?;
            say!("valid: user {} (id {})", who.username, who.user_id);
            if let Some(session) = who.session_id {
                say!("session: {session}");
            }
            say!("roles:   {}", who.roles.join(", "));
            if let Some(claims) = &who.claims {
                say!("expires: {}", timestamp(claims.expires_at()));
            }
            Ok(())
        }
        Command::Session(SessionCommand::List { name }) => {
            let user = auth.find_user(&name)?;
            for s in auth.sessions(user.id)? {
                say!(
                    "{:>6}  created {}  idle until {}  ip {}",
                    s.id,
                    timestamp(s.created_at),
                    timestamp(s.idle_expires_at),
                    s.ip.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        Command::Session(SessionCommand::Revoke { id }) => {
            auth.revoke_session(id)?;
            say!("session {id} revoked");
            Ok(())
        }
        Command::Token(TokenCommand::Mint) => {
            let key = read_password("API key: ")?;
            let token = auth.issue_service_token(key.trim())?;
            say!("access_token: {}", token.access_token);
            say!("expires:      {}", timestamp(token.expires_at));
            Ok(())
        }
        Command::Service(ServiceCommand::Create { name }) => {
            let user = auth.create_service_account(&name)?;
            say!("created service account {} (id {})", user.username, user.id);
            Ok(())
        }
        Command::Apikey(cmd) => api_key_command(&auth, cmd),
        Command::Mfa(cmd) => mfa_command(&auth, cmd),
        Command::Scoped(cmd) => scoped_command(&auth, cmd),
        Command::Key(cmd) => key_command(&auth, cmd),
        Command::Role(cmd) => role_command(&auth, cmd),
        Command::Audit(cmd) => audit_command(&auth, cmd),
        Command::Purge => {
            say!("{} ended sessions deleted", auth.purge_expired()?);
            Ok(())
        }
    }
}

fn mfa_command(auth: &Auth, cmd: MfaCommand) -> Result<()> {
    match cmd {
        MfaCommand::Enroll { name } => {
            let user = auth.find_user(&name)?;
            let enrollment = auth.enroll_totp(user.id)?;
            say!("secret: {}", enrollment.secret);
            say!("uri:    {}", enrollment.otpauth_uri);
            say!("{}", qr(&enrollment.otpauth_uri)?);
            let code = read_line("Code from the app: ")?;
            let codes = auth.confirm_totp(user.id, code.trim())?;
            say!("TOTP is on for {}. Recovery codes (each works once; shown once):", user.username);
            for code in codes {
                say!("  {code}");
            }
        }
        MfaCommand::Disable { name } => {
            let user = auth.find_user(&name)?;
            auth.disable_totp(user.id)?;
            say!("TOTP is off for {}", user.username);
        }
    }
    Ok(())
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

fn api_key_command(auth: &Auth, cmd: ApiKeyCommand) -> Result<()> {
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
            say!("created API key {} for {} (shown once):", key.info.id, owner.username);
            say!("{}", key.secret);
        }
        ApiKeyCommand::List { owner } => {
            let owner = auth.find_user(&owner)?;
            for k in auth.api_keys(owner.id)? {
                let state = match (k.revoked_at, k.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= SystemTime::now() => "expired",
                    _ => "live",
                };
                let scopes = k.scopes.map_or("(unscoped)".to_owned(), |s| s.join(" "));
                say!("{:>5}  {:<8} {}…  {}  {}", k.id, state, k.prefix, k.name, scopes);
            }
        }
        ApiKeyCommand::Revoke { id } => {
            auth.revoke_api_key(id)?;
            say!("API key {id} revoked");
        }
    }
    Ok(())
}

fn scoped_command(auth: &Auth, cmd: ScopedCommand) -> Result<()> {
    match cmd {
        ScopedCommand::Issue { scope, subject, minutes } => {
            let ttl = Duration::from_secs(minutes.saturating_mul(60));
            say!("{}", auth.issue_scoped(&scope, &subject, ttl)?);
        }
        ScopedCommand::Verify { scope, token } => {
            let grant = auth.verify_scoped(token.trim(), &scope)?;
            say!("valid: {} {} until {}", grant.scope, grant.subject, timestamp(grant.expires_at));
        }
        ScopedCommand::Revoke { scope, subject } => {
            auth.revoke_scoped(&scope, &subject)?;
            say!("every {scope} {subject} token issued until now is revoked");
        }
    }
    Ok(())
}

fn user_command(auth: &Auth, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name, email } => {
            let password = read_password("Password: ")?;
            let mut new = NewUser::new(name, password);
            if let Some(email) = email {
                new = new.email(email);
            }
            let user = auth.register(new)?;
            say!("created user {} (id {})", user.username, user.id);
        }
        UserCommand::Import { name, hash } => {
            let user = auth.import_user(&name, &hash)?;
            say!(
                "imported user {} (id {}); the first login upgrades the hash",
                user.username,
                user.id
            );
        }
        UserCommand::List { search, role } => {
            let query = UserQuery { search, role, limit: Some(1000), ..UserQuery::default() };
            for user in auth.list_users(&query)? {
                print_user(&user);
            }
        }
        UserCommand::Show { name } => {
            let user = auth.find_user(&name)?;
            print_user(&user);
            say!("        roles: {}", auth.user_roles(user.id)?.join(", "));
        }
        UserCommand::Passwd { name } => {
            let user = auth.find_user(&name)?;
            auth.set_password(user.id, &read_password("New password: ")?)?;
            say!("password set; sessions of {} ended", user.username);
        }
        UserCommand::Deactivate { name } => {
            auth.deactivate_user(auth.find_user(&name)?.id)?;
            say!("{name} deactivated");
        }
        UserCommand::Activate { name } => {
            auth.activate_user(auth.find_user(&name)?.id)?;
            say!("{name} activated");
        }
        UserCommand::Delete { name } => {
            auth.delete_user(auth.find_user(&name)?.id)?;
            say!("{name} deleted");
        }
        UserCommand::Unlock { name } => {
            auth.unlock_user(auth.find_user(&name)?.id)?;
            say!("{name} unlocked");
        }
        UserCommand::ResetLink { name } => match auth.request_password_reset(&name)? {
            Some(token) => say!("{token}"),
            None => return Err(Error::new(ErrorKind::NotFound, format!("no person named {name}"))),
        },
        UserCommand::VerifyLink { name } => {
            say!("{}", auth.email_verification_token(auth.find_user(&name)?.id)?);
        }
        UserCommand::Attr(AttrCommand::Set { name, key, value }) => {
            auth.set_attribute(auth.find_user(&name)?.id, &key, &value)?;
            say!("{name}: {key} set");
        }
        UserCommand::Attr(AttrCommand::Rm { name, key }) => {
            auth.remove_attribute(auth.find_user(&name)?.id, &key)?;
            say!("{name}: {key} removed");
        }
        UserCommand::Attr(AttrCommand::List { name }) => {
            for (key, value) in auth.find_user(&name)?.attributes {
                say!("{key}={value}");
            }
        }
    }
    Ok(())
}

fn role_command(auth: &Auth, cmd: RoleCommand) -> Result<()> {
    match cmd {
        RoleCommand::List => {
            for role in auth.roles()? {
                let grants: Vec<String> = auth
                    .role_permissions(&role)?
                    .into_iter()
                    .map(|(resource, action)| format!("{resource}:{action}"))
                    .collect();
                say!("{role:<24} {}", grants.join(" "));
            }
        }
        RoleCommand::Create { role } => auth.create_role(&role)?,
        RoleCommand::Delete { role } => auth.delete_role(&role)?,
        RoleCommand::Grant { role, resource, action } => auth.grant(&role, &resource, &action)?,
        RoleCommand::Revoke { role, resource, action } => {
            auth.revoke_grant(&role, &resource, &action)?
        }
        RoleCommand::Assign { name, role } => auth.assign_role(auth.find_user(&name)?.id, &role)?,
        RoleCommand::Unassign { name, role } => {
            auth.unassign_role(auth.find_user(&name)?.id, &role)?
        }
    }
    Ok(())
}

fn audit_command(auth: &Auth, cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::List { user, kind, limit } => {
            let user_id = user.map(|name| auth.find_user(&name).map(|u| u.id)).transpose()?;
            let kind = kind
                .map(|k| {
                    AuditKind::from_name(&k).ok_or_else(|| {
                        Error::new(ErrorKind::InvalidInput, format!("unknown event kind {k}"))
                    })
                })
                .transpose()?;
            let query = AuditQuery { user_id, kind, limit: Some(limit), ..AuditQuery::default() };
            for e in auth.audit(&query)? {
                say!(
                    "{:>7}  {}  {:<20} user {:<6} session {:<6} ip {:<15} {}",
                    e.id,
                    timestamp(e.at),
                    e.kind.as_str(),
                    e.user_id.map_or("-".into(), |u| u.to_string()),
                    e.session_id.map_or("-".into(), |s| s.to_string()),
                    e.ip.as_deref().unwrap_or("-"),
                    e.detail.as_deref().unwrap_or("")
                );
            }
        }
        AuditCommand::Verify => {
            say!("audit trail intact: {} rows verified", auth.verify_audit_chain()?)
        }
    }
    Ok(())
}

fn key_command(auth: &Auth, cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::List => {
            for k in auth.signing_keys()? {
                let state = match k.retired_at {
                    Some(t) => format!("retired {}", timestamp(t)),
                    None => "live".to_owned(),
                };
                say!("{}  {:<5}  created {}  {state}", k.kid, k.alg, timestamp(k.created_at));
            }
        }
        KeyCommand::Rotate => say!("new signing key {}", auth.rotate_signing_key()?),
        KeyCommand::Retire { kid } => {
            auth.retire_signing_key(&kid)?;
            say!("key {kid} retired");
        }
        KeyCommand::Jwks => say!("{}", auth.jwks()?),
    }
    Ok(())
}

fn print_user(user: &User) {
    say!(
        "{:>6}  {:<24} {:<32} {}  created {}",
        user.id,
        user.username,
        user.email.as_deref().unwrap_or("-"),
        if user.active { "active  " } else { "inactive" },
        timestamp(user.created_at)
    );
}

/// Reads a password: without echo from a terminal, else one line of stdin.
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
