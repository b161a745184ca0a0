//! Tenants as callers see them: [`Organization`] and its [`Member`]s (DESIGN §14).

use std::time::SystemTime;

use serde::Serialize;

use crate::values::ids::{OrgId, UserId};

/// An organization: a tenant whose members hold roles that apply only while it is their
/// session's active organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Organization {
    /// The organization's id.
    pub id: OrgId,
    /// Its unique, normalised name (lower-case a-z, 0-9 and `-`).
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// When it was created.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
}

/// One member of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Member {
    /// The member's account.
    pub user_id: UserId,
    /// The account's current username.
    pub username: String,
    /// The member's roles in this organization, sorted (`"owner"` for an owner).
    pub roles: Vec<String>,
    /// When the account became a member.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub joined_at: SystemTime,
}

/// A pending invitation to an organization (not yet accepted, not expired), as listed by
/// [`Auth::invitations`](crate::Auth::invitations). The secret is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Invitation {
    /// Its public id: the selector of `inv_<id>.<secret>`, for
    /// [`Auth::revoke_invitation`](crate::Auth::revoke_invitation).
    pub id: String,
    /// The organization it is for.
    pub organization_id: OrgId,
    /// The invited address, normalised.
    pub email: String,
    /// The roles the invitee gets.
    pub roles: Vec<String>,
    /// Who invited (`None` once that account is deleted).
    pub invited_by: Option<UserId>,
    /// When it was made.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub created_at: SystemTime,
    /// When it stops working.
    #[serde(serialize_with = "crate::values::time::ms")]
    pub expires_at: SystemTime,
}
