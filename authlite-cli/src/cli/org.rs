//! `authlite org ...`: organizations, their members and invitations.

use authlite::{Auth, Member, Organization, Result};
use clap::Subcommand;
use serde_json::json;

use super::{Out, done, out, timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum OrgCommand {
    /// Create an organization; OWNER (a username or email) becomes its first owner.
    Create {
        slug: String,
        /// Its display name.
        name: String,
        #[arg(long)]
        owner: String,
    },
    /// List organizations.
    List,
    /// Show an organization and its members.
    Show { slug: String },
    /// Delete an organization with its memberships, invitations and API keys.
    Delete { slug: String },
    /// Manage members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Invite an email address to join with roles; prints the one-time invitation (48 h).
    Invite {
        slug: String,
        email: String,
        /// A role the invitee gets (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The member who invites (username or email).
        #[arg(long)]
        inviter: String,
    },
    /// List pending invitations (their ids, addresses, roles and expiry).
    Invitations { slug: String },
    /// Revoke a pending invitation by its id.
    Uninvite { slug: String, id: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum MemberCommand {
    /// Make a user a member with roles.
    Add {
        slug: String,
        name: String,
        /// A role in the organization (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Remove a member (not the last owner).
    Rm { slug: String, name: String },
    /// Replace a member's roles.
    Roles { slug: String, name: String, roles: Vec<String> },
    /// List the members and their roles.
    List { slug: String },
}

fn strs(roles: &[String]) -> Vec<&str> {
    roles.iter().map(String::as_str).collect()
}

fn line(org: &Organization) -> String {
    format!("{} {} \"{}\" created {}", org.id, org.slug, org.name, timestamp(org.created_at))
}

fn member_line(m: &Member) -> String {
    format!("{} {} [{}]", m.user_id, m.username, m.roles.join(" "))
}

fn members(auth: &Auth, org: &Organization) -> Result<Out> {
    let members = auth.members(org.id)?;
    let mut lines = vec![line(org)];
    lines.extend(members.iter().map(|m| format!("  {}", member_line(m))));
    out(json!({ "organization": org, "members": members }), lines.join("\n"))
}

pub(super) fn run(auth: &Auth, cmd: OrgCommand) -> Result<Out> {
    let org = |slug: &str| auth.organization_by_slug(slug);
    let user = |name: &str| auth.find_user(name).map(|u| u.id);
    match cmd {
        OrgCommand::Create { slug, name, owner } => {
            let created = auth.create_organization(&slug, &name, user(&owner)?)?;
            let text = format!("organization {} created, owner {owner}", created.slug);
            out(&created, text)
        }
        OrgCommand::List => {
            let all = auth.organizations()?;
            let text = if all.is_empty() {
                "no organizations".to_owned()
            } else {
                all.iter().map(line).collect::<Vec<_>>().join("\n")
            };
            out(&all, text)
        }
        OrgCommand::Show { slug } => members(auth, &org(&slug)?),
        OrgCommand::Delete { slug } => {
            auth.delete_organization(org(&slug)?.id)?;
            done(json!({ "deleted": slug }), format!("organization {slug} deleted"))
        }
        OrgCommand::Invite { slug, email, roles, inviter } => {
            let invitation =
                auth.invite_member(org(&slug)?.id, &email, &strs(&roles), user(&inviter)?)?;
            done(
                json!({ "organization": slug, "email": email, "invitation": invitation }),
                invitation,
            )
        }
        OrgCommand::Invitations { slug } => {
            let pending = auth.invitations(org(&slug)?.id)?;
            let text = pending
                .iter()
                .map(|i| {
                    let until = timestamp(i.expires_at);
                    format!("{} {} [{}] until {until}", i.id, i.email, i.roles.join(" "))
                })
                .collect::<Vec<_>>()
                .join("\n");
            out(&pending, if text.is_empty() { "no pending invitations".to_owned() } else { text })
        }
        OrgCommand::Uninvite { slug, id } => {
            auth.revoke_invitation(org(&slug)?.id, &id)?;
            done(json!({ "organization": slug, "revoked": id }), format!("invitation {id} revoked"))
        }
        OrgCommand::Member(MemberCommand::Add { slug, name, roles }) => {
            auth.add_member(org(&slug)?.id, user(&name)?, &strs(&roles))?;
            let json = json!({ "organization": slug, "user": name, "roles": roles });
            done(json, format!("{name} is a member of {slug} [{}]", roles.join(" ")))
        }
        OrgCommand::Member(MemberCommand::Rm { slug, name }) => {
            auth.remove_member(org(&slug)?.id, user(&name)?)?;
            done(json!({ "organization": slug, "removed": name }), format!("{name} left {slug}"))
        }
        OrgCommand::Member(MemberCommand::Roles { slug, name, roles }) => {
            auth.set_member_roles(org(&slug)?.id, user(&name)?, &strs(&roles))?;
            let json = json!({ "organization": slug, "user": name, "roles": roles });
            done(json, format!("{name} in {slug}: [{}]", roles.join(" ")))
        }
        OrgCommand::Member(MemberCommand::List { slug }) => {
            let found = org(&slug)?;
            let all = auth.members(found.id)?;
            let text = all.iter().map(member_line).collect::<Vec<_>>().join("\n");
            out(&all, if text.is_empty() { "no members".to_owned() } else { text })
        }
    }
}
