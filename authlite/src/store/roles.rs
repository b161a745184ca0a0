//! The `roles`, `role_permissions` and `user_roles` tables.

use super::sql::{args, role_ids};

use super::{Conn, WriteTx};
use crate::values::error::Result;
use crate::values::ids::{OrgId, UserId};

const ROLE_ID: &str = "SELECT id FROM roles WHERE name = ?1";
const CREATE_ROLE: &str = "INSERT INTO roles (name, created_at) VALUES (?1, ?2)";
const DELETE_ROLE: &str = "DELETE FROM roles WHERE id = ?1";
const LIST_ROLES: &str = "SELECT name FROM roles ORDER BY name";
const GRANT: &str = "INSERT INTO role_permissions (role_id, resource, action) VALUES (?1, ?2, ?3) \
     ON CONFLICT DO NOTHING";
const REVOKE_GRANT: &str =
    "DELETE FROM role_permissions WHERE role_id = ?1 AND resource = ?2 AND action = ?3";
const PERMISSIONS_OF: &str =
    "SELECT resource, action FROM role_permissions WHERE role_id = ?1 ORDER BY resource, action";
const ASSIGN: &str =
    "INSERT INTO user_roles (user_id, role_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
const UNASSIGN: &str = "DELETE FROM user_roles WHERE user_id = ?1 AND role_id = ?2";
const ROLES_OF: &str = "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
                        WHERE ur.user_id = ?1 ORDER BY r.name";
/// `?4`: the active organization (`NULL`: none), whose roles count too.
const ALLOWED: &str = concat!(
    "SELECT 1 FROM users u, role_permissions p WHERE u.id = ?1 AND u.active = 1 AND ",
    role_ids!("p.role_id", "?1", "?4"),
    " AND (p.resource = ?2 OR p.resource = '*') AND (p.action = ?3 OR p.action = '*') LIMIT 1"
);
/// `?3`: the active organization, as for [`ALLOWED`].
const HAS_ROLE: &str = concat!(
    "SELECT 1 FROM users u JOIN roles r ON r.name = ?2 WHERE u.id = ?1 AND u.active = 1 AND ",
    role_ids!("r.id", "?1", "?3")
);

/// A role's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoleId(pub(super) i64);

impl Conn<'_> {
    pub(crate) fn role_id(&self, name: &str) -> Result<Option<RoleId>> {
        self.row(ROLE_ID, args![name], |r| r.get(0).map(RoleId))
    }

    pub(crate) fn role_names(&self) -> Result<Vec<String>> {
        self.rows(LIST_ROLES, args![], |r| r.get(0))
    }

    pub(crate) fn role_permissions(&self, role: RoleId) -> Result<Vec<(String, String)>> {
        self.rows(PERMISSIONS_OF, args![role.0], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    pub(crate) fn user_roles(&self, user: UserId) -> Result<Vec<String>> {
        self.rows(ROLES_OF, args![user], |r| r.get(0))
    }

    /// Whether the user is active and a role of theirs — global, or as a member of `org` —
    /// grants `action` on `resource` (`*` in a grant matches anything).
    pub(crate) fn allowed(
        &self,
        user: UserId,
        org: Option<OrgId>,
        resource: &str,
        action: &str,
    ) -> Result<bool> {
        self.exists(ALLOWED, args![user, resource, action, org])
    }

    /// Whether the user is active and holds `role`, globally or as a member of `org`.
    pub(crate) fn has_role(&self, user: UserId, org: Option<OrgId>, role: &str) -> Result<bool> {
        self.exists(HAS_ROLE, args![user, role, org])
    }
}

impl WriteTx<'_> {
    pub(crate) fn create_role(&self, name: &str, now: i64) -> Result<()> {
        self.run(CREATE_ROLE, args![name, now])?;
        Ok(())
    }

    /// Deletes the role with its grants and assignments.
    pub(crate) fn delete_role(&self, role: RoleId) -> Result<()> {
        self.revoke(DELETE_ROLE, args![role.0])?;
        Ok(())
    }

    /// Adds (`grant`) or removes a permission; `true` if anything changed.
    pub(crate) fn set_grant(
        &self,
        role: RoleId,
        resource: &str,
        action: &str,
        grant: bool,
    ) -> Result<bool> {
        let args = args![role.0, resource, action];
        let changed = if grant { self.run(GRANT, args)? } else { self.revoke(REVOKE_GRANT, args)? };
        Ok(changed > 0)
    }

    /// Gives (`assign`) or takes a role; `true` if anything changed.
    pub(crate) fn set_assignment(&self, user: UserId, role: RoleId, assign: bool) -> Result<bool> {
        let args = args![user, role.0];
        let changed = if assign { self.run(ASSIGN, args)? } else { self.revoke(UNASSIGN, args)? };
        Ok(changed > 0)
    }
}
