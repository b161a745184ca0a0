//! `authlite user ...`: accounts, passwords, emails, attributes, one-time links.

use authlite::{Auth, Error, ErrorKind, NewUser, Result, User, UserQuery};
use clap::Subcommand;
use serde_json::{Value, json};

use super::{Out, Page, done, out, read_password};

#[derive(Debug, Subcommand)]
pub(super) enum UserCommand {
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
pub(super) enum AttrCommand {
    /// Set an attribute (keys: a-z 0-9 _ . -).
    Set { name: String, key: String, value: String },
    /// Remove an attribute.
    Rm { name: String, key: String },
    /// List a user's attributes.
    List { name: String },
}

pub(super) fn run(auth: &Auth, cmd: UserCommand) -> Result<Out> {
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
