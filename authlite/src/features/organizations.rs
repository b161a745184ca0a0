//! Organizations (DESIGN §14): tenants with members, roles per member, owners,
//! invitations and an active organization per session.
//!
//! Roles are the ones `rbac` defines, assigned per organization; a member's roles in an
//! organization count only while it is the active one (the session's, or the API key's).
//! The active organization and those roles are part of the validation read, so a removal,
//! a role change or a deletion is in force on the next `validate` in every process, and the
//! exact caches stay as they are. Every statement that takes access away (removing a
//! member, replacing roles, deleting an organization, switching) is durable before the call
//! returns.
//!
//! Invitations are one-time tokens (`inv_<selector>.<secret>`, the crate's one opaque-secret
//! format: only SHA-256 of the secret kept, spent once inside the write transaction) that
//! name an address instead of an account: only an account whose verified email is that
//! address can accept one.

use super::accounts;
use super::engine::{Engine, Record, Tx, require_user};
use super::one_time;
use super::rbac::ensure;
use crate::crypto::secret;
use crate::store::{Conn, NewInvitation, RoleId};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{OrgId, UserId};
use crate::values::names;
use crate::values::organization::{Invitation, Member, Organization};
use crate::values::principal::Principal;

/// The role an organization's creator gets; an organization always keeps one member with it.
pub(super) const OWNER: &str = "owner";
const INVITATION_PREFIX: &str = "inv_";
/// The most roles one membership or invitation names.
const MAX_ROLES: usize = 64;

fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such organization")
}

fn load(conn: &Conn<'_>, org: OrgId) -> Result<Organization> {
    conn.organization(org)?.ok_or_else(not_found)
}

/// `NotFound` unless `org` exists and `user` is a member of it.
pub(super) fn require_member(conn: &Conn<'_>, org: OrgId, user: UserId) -> Result<()> {
    load(conn, org)?;
    if conn.is_member(org, user)? {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::NotFound,
            format!("user {user} is not a member of organization {org}"),
        ))
    }
}

/// The roles named for a membership or an invitation, each once, sorted by name. A name
/// with no role yet gets one, with no grants (audited), as `owner` does: a role is defined
/// once and assigned globally or per organization, and an empty one grants nothing.
struct Roles {
    ids: Vec<RoleId>,
    names: Vec<String>,
}

impl Roles {
    fn resolve(tx: &Tx<'_, '_>, roles: &[&str]) -> Result<Roles> {
        if roles.len() > MAX_ROLES {
            return Err(Error::invalid_input("at most 64 roles"));
        }
        let mut names: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        names.sort_unstable();
        names.dedup();
        let ids = names.iter().map(|name| ensure(tx, name)).collect::<Result<_>>()?;
        Ok(Roles { ids, names })
    }

    /// For the audit trail: `roles=a,b`.
    fn detail(&self, org: OrgId) -> String {
        detail(org, format!("roles={}", self.names.join(",")))
    }
}

/// `Conflict` if `user` is `org`'s last owner (so cannot stop being one).
fn check_not_last_owner(conn: &Conn<'_>, org: OrgId, user: UserId) -> Result<()> {
    let owner = conn.member_roles(org, user)?.iter().any(|r| r == OWNER);
    if owner && conn.owners(org)? <= 1 {
        return Err(Error::new(ErrorKind::Conflict, "the last owner of an organization must stay"));
    }
    Ok(())
}

fn detail(org: OrgId, text: impl std::fmt::Display) -> String {
    format!("org={org} {text}")
}

/// Organizations, memberships, invitations and the active organization.
impl Engine {
    pub(crate) fn create_organization(
        &self,
        slug: &str,
        name: &str,
        owner: UserId,
    ) -> Result<Organization> {
        let slug = names::slug(slug)?;
        names::label("an organization name", name)?;
        self.write(|tx| {
            require_user(tx, owner)?;
            if tx.organization_by_slug(&slug)?.is_some() {
                let why = format!("an organization called {slug} exists");
                return Err(Error::new(ErrorKind::Conflict, why));
            }
            let org = tx.create_organization(&slug, name, tx.now())?;
            tx.join(org, owner, tx.now())?;
            tx.set_member_roles(org, owner, &[ensure(tx, OWNER)?])?;
            let record = Record::user(owner).detail(detail(org, format!("slug={slug}")));
            tx.audit(AuditKind::OrganizationCreated, record)?;
            load(tx, org)
        })
    }

    pub(crate) fn organization(&self, org: OrgId) -> Result<Organization> {
        self.store.read(|conn| load(conn, org))
    }

    pub(crate) fn organization_by_slug(&self, slug: &str) -> Result<Organization> {
        let slug = names::slug(slug)?;
        self.store.read(|conn| conn.organization_by_slug(&slug)?.ok_or_else(not_found))
    }

    pub(crate) fn organizations(&self) -> Result<Vec<Organization>> {
        self.store.read(|conn| conn.organizations())
    }

    pub(crate) fn organizations_of(&self, user: UserId) -> Result<Vec<Organization>> {
        self.store.snapshot(|conn| {
            require_user(conn, user)?;
            conn.organizations_of(user)
        })
    }

    pub(crate) fn delete_organization(&self, org: OrgId) -> Result<()> {
        self.write(|tx| {
            let found = load(tx, org)?;
            tx.delete_organization(org)?;
            let record = Record::default().detail(detail(org, format!("slug={}", found.slug)));
            tx.audit(AuditKind::OrganizationDeleted, record)
        })
    }

    pub(crate) fn add_member(&self, org: OrgId, user: UserId, roles: &[&str]) -> Result<()> {
        self.write(|tx| {
            load(tx, org)?;
            require_user(tx, user)?;
            let roles = Roles::resolve(tx, roles)?;
            if !tx.join(org, user, tx.now())? {
                return Err(Error::new(ErrorKind::Conflict, "already a member"));
            }
            tx.set_member_roles(org, user, &roles.ids)?;
            tx.audit(AuditKind::MemberAdded, Record::user(user).detail(roles.detail(org)))
        })
    }

    pub(crate) fn set_member_roles(&self, org: OrgId, user: UserId, roles: &[&str]) -> Result<()> {
        self.write(|tx| {
            require_member(tx, org, user)?;
            let roles = Roles::resolve(tx, roles)?;
            if !roles.names.iter().any(|r| r == OWNER) {
                check_not_last_owner(tx, org, user)?;
            }
            tx.set_member_roles(org, user, &roles.ids)?;
            tx.audit(AuditKind::MemberRolesChanged, Record::user(user).detail(roles.detail(org)))
        })
    }

    pub(crate) fn remove_member(&self, org: OrgId, user: UserId) -> Result<()> {
        self.write(|tx| {
            require_member(tx, org, user)?;
            check_not_last_owner(tx, org, user)?;
            tx.leave(org, user)?;
            tx.audit(AuditKind::MemberRemoved, Record::user(user).detail(detail(org, "")))
        })
    }

    pub(crate) fn members(&self, org: OrgId) -> Result<Vec<Member>> {
        self.store.snapshot(|conn| {
            load(conn, org)?;
            conn.members(org)
        })
    }

    pub(crate) fn invite_member(
        &self,
        org: OrgId,
        email: &str,
        roles: &[&str],
        inviter: UserId,
    ) -> Result<String> {
        let email_key = names::email(email)?.key;
        let issued = secret::issue(INVITATION_PREFIX)?;
        let ttl = millis(self.config.invitation_ttl);
        self.write(|tx| {
            load(tx, org)?;
            if !tx.is_member(org, inviter)? {
                return Err(Error::new(ErrorKind::Forbidden, "only a member can invite"));
            }
            let roles = Roles::resolve(tx, roles)?;
            tx.insert_invitation(&NewInvitation {
                selector: &issued.selector,
                org,
                hash: &issued.hash,
                email_key: &email_key,
                roles: &roles.names,
                invited_by: inviter,
                now: tx.now(),
                expires_at: tx.now().saturating_add(ttl),
            })?;
            tx.audit(AuditKind::InvitationIssued, Record::user(inviter).detail(roles.detail(org)))?;
            Ok(issued.text)
        })
    }

    pub(crate) fn invitations(&self, org: OrgId) -> Result<Vec<Invitation>> {
        self.store.snapshot(|conn| {
            load(conn, org)?;
            conn.pending_invitations(org, self.now_ms())
        })
    }

    pub(crate) fn revoke_invitation(&self, org: OrgId, id: &str) -> Result<()> {
        self.write(|tx| {
            load(tx, org)?;
            if !tx.revoke_invitation(org, id, tx.now())? {
                return Err(Error::new(ErrorKind::NotFound, "no such pending invitation"));
            }
            tx.audit(AuditKind::InvitationRevoked, Record::default().detail(detail(org, "")))
        })
    }

    pub(crate) fn accept_invitation(&self, invitation: &str, user: UserId) -> Result<Organization> {
        let presented = secret::parse(invitation, INVITATION_PREFIX, "malformed invitation")?;
        self.write(|tx| {
            let row = tx.invitation(presented.selector)?.ok_or_else(one_time::invalid)?;
            if !presented.matches(&row.secret_hash) || row.spent {
                return Err(one_time::invalid());
            }
            if tx.now() >= row.expires_at {
                return Err(Error::new(ErrorKind::ExpiredToken, "invitation expired"));
            }
            check_invitee(tx, &row.email_key, user)?;
            if !tx.spend_invitation(presented.selector, tx.now())? {
                return Err(one_time::invalid());
            }
            // An error rolls the spending back with everything else.
            if !tx.join(row.org, user, tx.now())? {
                return Err(Error::new(ErrorKind::Conflict, "already a member"));
            }
            // Roles deleted since the invitation was made are not given.
            let ids: Vec<RoleId> = row
                .roles
                .iter()
                .filter_map(|r| tx.role_id(r).transpose())
                .collect::<Result<_>>()?;
            tx.set_member_roles(row.org, user, &ids)?;
            tx.audit(
                AuditKind::InvitationAccepted,
                Record::user(user).detail(detail(row.org, "")),
            )?;
            load(tx, row.org)
        })
    }

    pub(crate) fn switch_organization(&self, who: &Principal, org: Option<OrgId>) -> Result<()> {
        let session = who.session_id.ok_or_else(|| {
            Error::invalid_input("only a session's principal has an active organization")
        })?;
        self.write(|tx| {
            if let Some(org) = org {
                load(tx, org)?;
                if !tx.is_member(org, who.user_id)? {
                    return Err(Error::new(
                        ErrorKind::Forbidden,
                        "not a member of the organization",
                    ));
                }
            }
            tx.set_active_organization(session, org)?;
            let to = org.map_or_else(|| "none".to_owned(), |o| o.to_string());
            let record = Record::session(who.user_id, session).detail(format!("org={to}"));
            tx.audit(AuditKind::OrganizationSwitched, record)
        })
    }
}

/// The account accepting an invitation must have proven the invited address.
fn check_invitee(tx: &Tx<'_, '_>, invited: &str, user: UserId) -> Result<()> {
    let account = accounts::load(tx, user)?;
    let email = account.email.as_deref().map(names::email).transpose()?;
    match email {
        Some(e) if e.key == invited && account.email_verified_at.is_some() => Ok(()),
        Some(e) if e.key == invited => {
            Err(Error::new(ErrorKind::Forbidden, "verify the email address before accepting"))
        }
        _ => Err(Error::new(ErrorKind::Forbidden, "the invitation is for another email address")),
    }
}
