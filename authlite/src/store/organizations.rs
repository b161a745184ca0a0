//! The `organizations`, `memberships`, `member_roles` and `invitations` tables, and the
//! active organization of a session.

use super::sql::{Row, Sql, args, dialects};

use super::{Conn, RoleId, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::clock::from_millis;
use crate::values::error::Result;
use crate::values::ids::{OrgId, SessionId, UserId};
use crate::values::organization::{Invitation, Member, Organization};

const INSERT: &str =
    "INSERT INTO organizations (slug, name, created_at) VALUES (?1, ?2, ?3) RETURNING id";
const BY_ID: &str = "SELECT id, slug, name, created_at FROM organizations WHERE id = ?1";
const BY_SLUG: &str = "SELECT id, slug, name, created_at FROM organizations WHERE slug = ?1";
const ALL: &str = "SELECT id, slug, name, created_at FROM organizations ORDER BY slug";
const OF_USER: &str = "SELECT o.id, o.slug, o.name, o.created_at FROM organizations o \
     JOIN memberships m ON m.org_id = o.id WHERE m.user_id = ?1 ORDER BY o.slug";
/// Memberships, member roles and invitations go with it (foreign keys); its keys and its
/// place as sessions' active organization are these two statements' work.
const DELETE: &str = "DELETE FROM organizations WHERE id = ?1";
const DELETE_KEYS: &str = "DELETE FROM api_keys WHERE organization_id = ?1";
const FORGET_EVERYWHERE: &str =
    "UPDATE sessions SET organization_id = NULL WHERE organization_id = ?1";

const JOIN: &str = "INSERT INTO memberships (org_id, user_id, joined_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT DO NOTHING";
/// The member's roles in it go with the membership.
const LEAVE: &str = "DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2";
/// A former member's sessions no longer have it as their active organization.
const FORGET_ACTIVE: &str =
    "UPDATE sessions SET organization_id = NULL WHERE user_id = ?2 AND organization_id = ?1";
const IS_MEMBER: &str = "SELECT 1 FROM memberships WHERE org_id = ?1 AND user_id = ?2";
const ADD_ROLE: &str = "INSERT INTO member_roles (org_id, user_id, role_id) VALUES (?1, ?2, ?3) \
     ON CONFLICT DO NOTHING";
const CLEAR_ROLES: &str = "DELETE FROM member_roles WHERE org_id = ?1 AND user_id = ?2";
const MEMBER_ROLES: &str = "SELECT r.name FROM member_roles mr JOIN roles r ON r.id = mr.role_id \
     WHERE mr.org_id = ?1 AND mr.user_id = ?2 ORDER BY r.name";
const OWNERS: &str = "SELECT count(*) FROM member_roles mr JOIN roles r ON r.id = mr.role_id \
     WHERE mr.org_id = ?1 AND r.name = 'owner'";

macro_rules! members {
    ($d:ident) => {
        concat!(
            "SELECT m.user_id, u.username, m.joined_at, ",
            member_roles_json!($d, "m.org_id", "m.user_id"),
            " FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 ",
            "ORDER BY m.joined_at, m.user_id"
        )
    };
}
const MEMBERS: Sql = dialects!(members);

const SET_ACTIVE: &str = "UPDATE sessions SET organization_id = ?2 WHERE id = ?1";

const INSERT_INVITATION: &str = "INSERT INTO invitations \
     (selector, org_id, secret_hash, email_key, roles, invited_by, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const INVITATION: &str = "SELECT org_id, secret_hash, email_key, roles, expires_at, \
     spent_at IS NOT NULL FROM invitations WHERE selector = ?1";
const SPEND_INVITATION: &str =
    "UPDATE invitations SET spent_at = ?2 WHERE selector = ?1 AND spent_at IS NULL";
const PENDING_INVITATIONS: &str = "SELECT selector, org_id, email_key, roles, invited_by, \
     created_at, expires_at FROM invitations \
     WHERE org_id = ?1 AND spent_at IS NULL AND expires_at > ?2 ORDER BY created_at, selector";
const REVOKE_INVITATION: &str = "DELETE FROM invitations \
     WHERE org_id = ?1 AND selector = ?2 AND spent_at IS NULL AND expires_at > ?3";
const PURGE_INVITATIONS: &str =
    "DELETE FROM invitations WHERE expires_at <= ?1 OR spent_at IS NOT NULL";

/// A member's role names in one organization as one JSON array text (`NULL` or `[]` when
/// there are none), in dialect `sqlite` or `postgres`.
macro_rules! member_roles_json {
    (sqlite, $org:literal, $user:literal) => {
        concat!(
            "(SELECT json_group_array(r.name) FROM member_roles mr ",
            "JOIN roles r ON r.id = mr.role_id WHERE mr.org_id = ",
            $org,
            " AND mr.user_id = ",
            $user,
            ")"
        )
    };
    (postgres, $org:literal, $user:literal) => {
        concat!(
            "(SELECT json_agg(r.name)::text FROM member_roles mr ",
            "JOIN roles r ON r.id = mr.role_id WHERE mr.org_id = ",
            $org,
            " AND mr.user_id = ",
            $user,
            ")"
        )
    };
}
use member_roles_json;

fn organization_from_row(r: &Row<'_>) -> Result<Organization> {
    Ok(Organization {
        id: r.get(0)?,
        slug: r.get(1)?,
        name: r.get(2)?,
        created_at: from_millis(r.get(3)?),
    })
}

/// A stored invitation.
pub(crate) struct InvitationRow {
    pub(crate) org: OrgId,
    pub(crate) secret_hash: Vec<u8>,
    /// The invited address, normalised.
    pub(crate) email_key: String,
    pub(crate) roles: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) spent: bool,
}

/// A new invitation's row.
pub(crate) struct NewInvitation<'a> {
    pub(crate) selector: &'a str,
    pub(crate) org: OrgId,
    pub(crate) hash: &'a SecretHash,
    pub(crate) email_key: &'a str,
    pub(crate) roles: &'a [String],
    pub(crate) invited_by: UserId,
    pub(crate) now: i64,
    pub(crate) expires_at: i64,
}

impl Conn<'_> {
    pub(crate) fn organization(&self, id: OrgId) -> Result<Option<Organization>> {
        self.row(BY_ID, args![id], organization_from_row)
    }

    /// By normalised slug.
    pub(crate) fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>> {
        self.row(BY_SLUG, args![slug], organization_from_row)
    }

    pub(crate) fn organizations(&self) -> Result<Vec<Organization>> {
        self.rows(ALL, args![], organization_from_row)
    }

    pub(crate) fn organizations_of(&self, user: UserId) -> Result<Vec<Organization>> {
        self.rows(OF_USER, args![user], organization_from_row)
    }

    pub(crate) fn is_member(&self, org: OrgId, user: UserId) -> Result<bool> {
        self.exists(IS_MEMBER, args![org, user])
    }

    /// A member's roles in `org`, sorted.
    pub(crate) fn member_roles(&self, org: OrgId, user: UserId) -> Result<Vec<String>> {
        self.rows(MEMBER_ROLES, args![org, user], |r| r.get(0))
    }

    /// How many members of `org` hold the `owner` role.
    pub(crate) fn owners(&self, org: OrgId) -> Result<i64> {
        Ok(self.row(OWNERS, args![org], |r| r.get(0))?.unwrap_or(0))
    }

    /// Members in the order they joined.
    pub(crate) fn members(&self, org: OrgId) -> Result<Vec<Member>> {
        self.rows(MEMBERS, args![org], |r| {
            Ok(Member {
                user_id: r.get(0)?,
                username: r.get(1)?,
                joined_at: from_millis(r.get(2)?),
                roles: r.names(3, "member roles")?,
            })
        })
    }

    /// `org`'s invitations neither spent nor expired at `now`, oldest first.
    pub(crate) fn pending_invitations(&self, org: OrgId, now: i64) -> Result<Vec<Invitation>> {
        self.rows(PENDING_INVITATIONS, args![org, now], |r| {
            Ok(Invitation {
                id: r.get(0)?,
                organization_id: r.get(1)?,
                email: r.get(2)?,
                roles: r.names(3, "invitation roles")?,
                invited_by: r.get(4)?,
                created_at: from_millis(r.get(5)?),
                expires_at: from_millis(r.get(6)?),
            })
        })
    }

    pub(crate) fn invitation(&self, selector: &str) -> Result<Option<InvitationRow>> {
        self.row(INVITATION, args![selector], |r| {
            Ok(InvitationRow {
                org: r.get(0)?,
                secret_hash: r.get(1)?,
                email_key: r.get(2)?,
                roles: r.names(3, "invitation roles")?,
                expires_at: r.get(4)?,
                spent: r.get(5)?,
            })
        })
    }
}

impl WriteTx<'_> {
    pub(crate) fn create_organization(&self, slug: &str, name: &str, now: i64) -> Result<OrgId> {
        self.insert(INSERT, args![slug, name, now]).map(OrgId)
    }

    /// Deletes it with everything that belongs to it (its API keys too); `false` if there
    /// was none.
    pub(crate) fn delete_organization(&self, org: OrgId) -> Result<bool> {
        self.revoke(DELETE_KEYS, args![org])?;
        self.run(FORGET_EVERYWHERE, args![org])?;
        Ok(self.revoke(DELETE, args![org])? > 0)
    }

    /// Makes `user` a member; `false` if they already were.
    pub(crate) fn join(&self, org: OrgId, user: UserId, now: i64) -> Result<bool> {
        Ok(self.run(JOIN, args![org, user, now])? > 0)
    }

    /// Ends a membership with its roles, and its sessions' use of `org`; `false` if there
    /// was none.
    pub(crate) fn leave(&self, org: OrgId, user: UserId) -> Result<bool> {
        let left = self.revoke(LEAVE, args![org, user])? > 0;
        self.run(FORGET_ACTIVE, args![org, user])?;
        Ok(left)
    }

    /// Replaces a member's roles in `org`.
    pub(crate) fn set_member_roles(
        &self,
        org: OrgId,
        user: UserId,
        roles: &[RoleId],
    ) -> Result<()> {
        self.revoke(CLEAR_ROLES, args![org, user])?;
        for role in roles {
            self.run(ADD_ROLE, args![org, user, role.0])?;
        }
        Ok(())
    }

    /// Sets (or clears) a session's active organization.
    pub(crate) fn set_active_organization(
        &self,
        session: SessionId,
        org: Option<OrgId>,
    ) -> Result<()> {
        self.revoke(SET_ACTIVE, args![session, org])?;
        Ok(())
    }

    pub(crate) fn insert_invitation(&self, i: &NewInvitation<'_>) -> Result<()> {
        let roles = serde_json::to_string(i.roles).expect("a list of strings serialises");
        self.run(
            INSERT_INVITATION,
            args![
                i.selector,
                i.org,
                &i.hash[..],
                i.email_key,
                roles.as_str(),
                i.invited_by,
                i.now,
                i.expires_at
            ],
        )?;
        Ok(())
    }

    /// Deletes one of `org`'s pending invitations; `false` if it has none by that id.
    pub(crate) fn revoke_invitation(&self, org: OrgId, selector: &str, now: i64) -> Result<bool> {
        Ok(self.revoke(REVOKE_INVITATION, args![org, selector, now])? > 0)
    }

    /// Spends an invitation; `false` if it was already spent.
    pub(crate) fn spend_invitation(&self, selector: &str, now: i64) -> Result<bool> {
        Ok(self.revoke(SPEND_INVITATION, args![selector, now])? > 0)
    }

    /// Deletes spent and expired invitations; returns how many.
    pub(crate) fn purge_invitations(&self, now: i64) -> Result<usize> {
        self.run(PURGE_INVITATIONS, args![now])
    }
}
