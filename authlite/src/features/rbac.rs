//! Role-based access control: roles, permissions as (resource, action) pairs, user↔role.
//! Every decision reads the database, so a change is in force on the very next call. A
//! scoped credential (`Principal::scopes`) can only narrow what its account's roles grant.

use std::time::Duration;

use super::engine::{Engine, Record, Tx, require_user};
use crate::store::{Conn, RoleId};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::names::identifier;
use crate::values::principal::Principal;

/// Denials of one account, resource and action are audited at most once per window.
pub(super) const DENIAL_WINDOW: Duration = Duration::from_secs(60);

/// The id of the role called `name`, or `NotFound`.
pub(super) fn role_id(conn: &Conn<'_>, name: &str) -> Result<RoleId> {
    identifier("role name", name, false)?;
    conn.role_id(name)?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no role named {name}")))
}

/// The id of the role called `name`, created (with no grants, audited) if there is none.
pub(super) fn ensure(tx: &Tx<'_, '_>, name: &str) -> Result<RoleId> {
    identifier("role name", name, false)?;
    if let Some(id) = tx.role_id(name)? {
        return Ok(id);
    }
    tx.create_role(name, tx.now())?;
    tx.audit(AuditKind::RoleCreated, detail(None, format!("role={name}")))?;
    role_id(tx, name)
}

/// Gives `user` the role (idempotent) and records it.
pub(super) fn assign(tx: &Tx<'_, '_>, user: UserId, role: &str) -> Result<()> {
    let id = role_id(tx, role)?;
    if tx.set_assignment(user, id, true)? {
        tx.audit(AuditKind::RoleAssigned, detail(Some(user), format!("role={role}")))?;
    }
    Ok(())
}

fn detail(user: Option<UserId>, text: String) -> Record<'static> {
    Record::about(user).detail(text)
}

/// Roles and permissions.
impl Engine {
    pub(crate) fn create_role(&self, name: &str) -> Result<()> {
        identifier("role name", name, false)?;
        self.write(|tx| {
            if tx.role_id(name)?.is_some() {
                return Err(Error::new(ErrorKind::Conflict, format!("role {name} exists")));
            }
            tx.create_role(name, tx.now())?;
            tx.audit(AuditKind::RoleCreated, detail(None, format!("role={name}")))
        })
    }

    pub(crate) fn delete_role(&self, name: &str) -> Result<()> {
        self.write(|tx| {
            let id = role_id(tx, name)?;
            tx.delete_role(id)?;
            tx.audit(AuditKind::RoleDeleted, detail(None, format!("role={name}")))
        })
    }

    pub(crate) fn roles(&self) -> Result<Vec<String>> {
        self.store.read(|conn| conn.role_names())
    }

    /// Adds (`grant`) or removes a permission and audits it if it changed anything.
    pub(crate) fn change_grant(
        &self,
        role: &str,
        resource: &str,
        action: &str,
        grant: bool,
    ) -> Result<()> {
        identifier("resource", resource, true)?;
        identifier("action", action, true)?;
        let event = if grant { AuditKind::PermissionGranted } else { AuditKind::PermissionRevoked };
        self.write(|tx| {
            let id = role_id(tx, role)?;
            if tx.set_grant(id, resource, action, grant)? {
                let text = format!("role={role} resource={resource} action={action}");
                tx.audit(event, detail(None, text))?;
            }
            Ok(())
        })
    }

    /// Creates `role` if missing and adds `grants` it lacks, in one transaction; audits only
    /// what changed. For declaring roles at startup.
    pub(crate) fn declare_role(&self, role: &str, grants: &[(&str, &str)]) -> Result<()> {
        identifier("role name", role, false)?;
        for (resource, action) in grants {
            identifier("resource", resource, true)?;
            identifier("action", action, true)?;
        }
        self.write(|tx| {
            let id = ensure(tx, role)?;
            for (resource, action) in grants {
                if tx.set_grant(id, resource, action, true)? {
                    let text = format!("role={role} resource={resource} action={action}");
                    tx.audit(AuditKind::PermissionGranted, detail(None, text))?;
                }
            }
            Ok(())
        })
    }

    pub(crate) fn role_permissions(&self, role: &str) -> Result<Vec<(String, String)>> {
        self.store.snapshot(|conn| conn.role_permissions(role_id(conn, role)?))
    }

    pub(crate) fn assign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.write(|tx| {
            require_user(tx, user)?;
            assign(tx, user, role)
        })
    }

    pub(crate) fn unassign_role(&self, user: UserId, role: &str) -> Result<()> {
        self.write(|tx| {
            require_user(tx, user)?;
            let id = role_id(tx, role)?;
            if tx.set_assignment(user, id, false)? {
                tx.audit(AuditKind::RoleUnassigned, detail(Some(user), format!("role={role}")))?;
            }
            Ok(())
        })
    }

    pub(crate) fn user_roles(&self, user: UserId) -> Result<Vec<String>> {
        self.store.read(|conn| conn.user_roles(user))
    }

    pub(crate) fn authorize(&self, who: &Principal, resource: &str, action: &str) -> Result<()> {
        identifier("resource", resource, false)?;
        identifier("action", action, false)?;
        // The credential's scopes narrow the grant; they never widen it.
        if who.allows_scope(resource, action)
            && self
                .store
                .read(|conn| conn.allowed(who.user_id, who.organization_id, resource, action))?
        {
            return Ok(());
        }
        self.deny(who, format!("resource={resource} action={action}"))
    }

    pub(crate) fn require_role(&self, who: &Principal, role: &str) -> Result<()> {
        identifier("role name", role, false)?;
        if self.store.read(|conn| conn.has_role(who.user_id, who.organization_id, role))? {
            return Ok(());
        }
        self.deny(who, format!("role={role}"))
    }

    /// Refuses and audits: the first denial of one account, resource and action in a
    /// window is an audit row; repeats within the window are only counted, and the next
    /// audited denial says how many there were. A flood of denials costs one small row
    /// update each, never a growing trail.
    fn deny(&self, who: &Principal, what: String) -> Result<()> {
        let record = Record { session: who.session_id, ..Record::user(who.user_id) };
        let key = format!("user:{} {what}", who.user_id);
        let window = millis(DENIAL_WINDOW);
        self.write(|tx| match tx.denial(&key)? {
            Some((start, _)) if tx.now() < start.saturating_add(window) => tx.repeat_denial(&key),
            previous => {
                let detail = match previous {
                    Some((_, repeats)) if repeats > 0 => format!("{what} repeats_before={repeats}"),
                    _ => what,
                };
                tx.open_denial_window(&key, tx.now())?;
                tx.audit(AuditKind::AccessDenied, record.detail(detail))
            }
        })?;
        Err(Error::from_kind(ErrorKind::Forbidden))
    }
}
