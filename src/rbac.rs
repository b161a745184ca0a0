//! Role-based access control: roles, permissions as (resource, action) pairs, user↔role.
//! Every decision reads the database, so a change is in force on the very next call.

use rusqlite::{Connection, OptionalExtension, params};

use crate::Auth;
use crate::audit::{AuditKind, Record, Tx};
use crate::error::{Error, ErrorKind, Result};
use crate::store::exists;
use crate::users::{self, UserId};
use crate::validate::Principal;

const ROLE_ID: &str = "SELECT id FROM roles WHERE name = ?1";
const CREATE_ROLE: &str = "INSERT INTO roles (name, created_at) VALUES (?1, ?2)";
const DELETE_ROLE: &str = "DELETE FROM roles WHERE id = ?1";
const LIST_ROLES: &str = "SELECT name FROM roles ORDER BY name";
const GRANT: &str =
    "INSERT OR IGNORE INTO role_permissions (role_id, resource, action) VALUES (?1, ?2, ?3)";
const REVOKE_GRANT: &str =
    "DELETE FROM role_permissions WHERE role_id = ?1 AND resource = ?2 AND action = ?3";
const PERMISSIONS_OF: &str =
    "SELECT resource, action FROM role_permissions WHERE role_id = ?1 ORDER BY resource, action";
const ASSIGN: &str = "INSERT OR IGNORE INTO user_roles (user_id, role_id) VALUES (?1, ?2)";
const UNASSIGN: &str = "DELETE FROM user_roles WHERE user_id = ?1 AND role_id = ?2";
const ROLES_OF: &str = "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
                        WHERE ur.user_id = ?1 ORDER BY r.name";
const ALLOWED: &str = "SELECT 1 FROM users u \
     JOIN user_roles ur ON ur.user_id = u.id \
     JOIN role_permissions p ON p.role_id = ur.role_id \
     WHERE u.id = ?1 AND u.active = 1 \
     AND (p.resource = ?2 OR p.resource = '*') AND (p.action = ?3 OR p.action = '*') LIMIT 1";
const HAS_ROLE: &str = "SELECT 1 FROM users u \
     JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id \
     WHERE u.id = ?1 AND u.active = 1 AND r.name = ?2";

const MAX_NAME: usize = 64;
/// Matches any resource or any action in a grant.
const WILDCARD: &str = "*";

/// Role, resource and action names: 1 to 64 of `A-Z a-z 0-9 _ - . :` (so they are safe to
/// show, log and join). Grants may also use `"*"` for a resource or an action.
fn check_name(what: &'static str, name: &str, wildcard_ok: bool) -> Result<()> {
    let valid = (1..=MAX_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
    if valid || (wildcard_ok && name == WILDCARD) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{what} must be 1 to 64 of the characters A-Z a-z 0-9 _ - . :"
        )))
    }
}

/// The id of the role called `name`, or `NotFound`.
pub(crate) fn role_id(conn: &Connection, name: &str) -> Result<i64> {
    check_name("role name", name, false)?;
    conn.prepare_cached(ROLE_ID)?
        .query_row([name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no role named {name}")))
}

/// Gives `user` the role (idempotent) and records it.
pub(crate) fn assign(tx: &Tx<'_>, user: UserId, role: &str) -> Result<()> {
    let id = role_id(tx, role)?;
    if tx.prepare_cached(ASSIGN)?.execute(params![user, id])? > 0 {
        tx.audit(AuditKind::RoleAssigned, detail(Some(user), format!("role={role}")))?;
    }
    Ok(())
}

fn detail(user: Option<UserId>, text: String) -> Record<'static> {
    Record::about(user).detail(text)
}

fn names(conn: &Connection, sql: &str, param: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([param], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

/// Roles and permissions.
impl Auth {
    /// Creates a role (`Conflict` if it exists).
    pub fn create_role(&self, name: &str) -> Result<()> {
        check_name("role name", name, false)?;
        self.write(|tx| {
            if exists(tx, ROLE_ID, [name])? {
                return Err(Error::new(ErrorKind::Conflict, format!("role {name} exists")));
            }
            tx.prepare_cached(CREATE_ROLE)?.execute(params![name, tx.now()])?;
            tx.audit(AuditKind::RoleCreated, detail(None, format!("role={name}")))
        })
    }

    /// Deletes a role, its grants and its assignments (`NotFound` if it does not exist).
    pub fn delete_role(&self, name: &str) -> Result<()> {
        self.write(|tx| {
            let id = role_id(tx, name)?;
            tx.prepare_cached(DELETE_ROLE)?.execute([id])?;
            tx.audit(AuditKind::RoleDeleted, detail(None, format!("role={name}")))
        })
    }

    /// Every role name, sorted.
    pub fn roles(&self) -> Result<Vec<String>> {
        self.inner.store.read(|conn| {
            let mut stmt = conn.prepare_cached(LIST_ROLES)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    /// Allows holders of `role` to do `action` on `resource` (idempotent). Either may be
    /// `"*"` to mean any.
    pub fn grant(&self, role: &str, resource: &str, action: &str) -> Result<()> {
        self.change_grant(GRANT, AuditKind::PermissionGranted, role, resource, action)
    }

    /// Takes a permission from a role (idempotent). Denied on the very next check.
    pub fn revoke_grant(&self, role: &str, resource: &str, action: &str) -> Result<()> {
        self.change_grant(REVOKE_GRANT, AuditKind::PermissionRevoked, role, resource, action)
    }

    /// Runs `sql` (`GRANT` or `REVOKE_GRANT`) and audits it if it changed anything.
    fn change_grant(
        &self,
        sql: &str,
        event: AuditKind,
        role: &str,
        resource: &str,
        action: &str,
    ) -> Result<()> {
        check_name("resource", resource, true)?;
        check_name("action", action, true)?;
        self.write(|tx| {
            let id = role_id(tx, role)?;
            if tx.prepare_cached(sql)?.execute(params![id, resource, action])? > 0 {
                let text = format!("role={role} resource={resource} action={action}");
                tx.audit(event, detail(None, text))?;
            }
            Ok(())
        })
    }

    /// The `(resource, action)` pairs granted to a role, sorted.
    pub fn role_permissions(&self, role: &str) -> Result<Vec<(String, String)>> {
        self.inner.store.read(|conn| {
            let id = role_id(conn, role)?;
            let mut stmt = conn.prepare_cached(PERMISSIONS_OF)?;
            let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Gives a user a role (idempotent). `NotFound` for an unknown user or role.
    pub fn assign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.write(|tx| {
            users::require(tx, user)?;
            assign(tx, user, role)
        })
    }

    /// Takes a role from a user (idempotent). Effective on the very next check.
    pub fn unassign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.write(|tx| {
            users::require(tx, user)?;
            let id = role_id(tx, role)?;
            if tx.prepare_cached(UNASSIGN)?.execute(params![user, id])? > 0 {
                tx.audit(AuditKind::RoleUnassigned, detail(Some(user), format!("role={role}")))?;
            }
            Ok(())
        })
    }

    /// A user's role names, sorted.
    pub fn user_roles(&self, user: UserId) -> Result<Vec<String>> {
        self.inner.store.read(|conn| names(conn, ROLES_OF, user))
    }

    /// `Ok(())` if the principal's user — active, as the database says now — holds a role
    /// granting `action` on `resource`; otherwise `Forbidden`, and the denial is audited.
    pub fn authorize(&self, who: &Principal, resource: &str, action: &str) -> Result<()> {
        check_name("resource", resource, false)?;
        check_name("action", action, false)?;
        let allowed = self
            .inner
            .store
            .read(|conn| exists(conn, ALLOWED, params![who.user_id, resource, action]))?;
        if allowed {
            return Ok(());
        }
        self.deny(who, format!("resource={resource} action={action}"))
    }

    /// `Ok(())` if the principal's user — active, as the database says now — has `role`;
    /// otherwise `Forbidden`, audited.
    pub fn require_role(&self, who: &Principal, role: &str) -> Result<()> {
        check_name("role name", role, false)?;
        let has =
            self.inner.store.read(|conn| exists(conn, HAS_ROLE, params![who.user_id, role]))?;
        if has {
            return Ok(());
        }
        self.deny(who, format!("role={role}"))
    }

    fn deny(&self, who: &Principal, what: String) -> Result<()> {
        self.write(|tx| {
            tx.audit(
                AuditKind::AccessDenied,
                Record::session(who.user_id, who.session_id).detail(what),
            )
        })?;
        Err(Error::from_kind(ErrorKind::Forbidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_restricted() {
        for ok in ["clerk", "orders", "refund", "admin:full", "a.b-c_d", "X9"] {
            assert!(check_name("role", ok, false).is_ok(), "{ok}");
        }
        for bad in ["", "*", "with space", "ünï", "a/b", "%", &"x".repeat(65)] {
            assert!(check_name("role", bad, false).is_err(), "{bad}");
        }
        assert!(check_name("resource", "*", true).is_ok());
    }
}
