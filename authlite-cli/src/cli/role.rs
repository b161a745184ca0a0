//! `authlite role ...`: roles, grants and assignments.

use authlite::{Auth, Result};
use clap::Subcommand;
use serde_json::{Value, json};

use super::{Out, done};

#[derive(Debug, Subcommand)]
pub(super) enum RoleCommand {
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

pub(super) fn run(auth: &Auth, cmd: RoleCommand) -> Result<Out> {
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
