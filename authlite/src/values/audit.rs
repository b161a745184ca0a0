//! The audit trail as callers see it: [`AuditEvent`], [`AuditKind`], [`AuditQuery`],
//! [`SubscriptionId`].

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use crate::values::ids::{SessionId, UserId};

macro_rules! audit_kinds {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// What happened. The text form (`as_str`) is what the database stores.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AuditKind {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AuditKind] = &[$(AuditKind::$variant,)*];

            /// The stored name, e.g. `"login.failed"`.
            pub fn as_str(self) -> &'static str {
                match self { $(AuditKind::$variant => $name,)* }
            }

            /// The kind with this stored name.
            pub fn from_name(name: &str) -> Option<AuditKind> {
                match name { $($name => Some(AuditKind::$variant),)* _ => None }
            }
        }
    };
}

audit_kinds! {
    UserRegistered => "user.registered", "A user registered.";
    UserImported => "user.imported", "A user was imported with an existing password hash.";
    LoginSucceeded => "login.succeeded", "A login succeeded.";
    LoginFailed => "login.failed", "A login failed (unknown user or wrong password).";
    LoginLocked => "login.locked", "A login was refused because the account is locked.";
    LoginRateLimited => "login.rate_limited", "A login was refused: too many failures from the address.";
    AccountLocked => "account.locked", "Too many failures locked the account.";
    AccountUnlocked => "account.unlocked", "An administrator cleared a lockout.";
    Logout => "logout", "A session was ended by its user.";
    TokenRefreshed => "token.refreshed", "A refresh token was redeemed (rotated).";
    RefreshReused => "token.reused", "A spent refresh token was presented; its session was revoked.";
    TokenRevoked => "token.revoked", "One access token was revoked.";
    SessionRevoked => "session.revoked", "A session was revoked.";
    SessionsRevoked => "sessions.revoked", "All sessions of a user were revoked.";
    PasswordChanged => "password.changed", "A user changed their password.";
    PasswordSet => "password.set", "A password was set without the old one.";
    PasswordRehashed => "password.rehashed", "A password hash was upgraded to current parameters.";
    EmailChanged => "user.email_changed", "A user's email was changed.";
    UserDeactivated => "user.deactivated", "A user was deactivated.";
    UserActivated => "user.activated", "A user was re-activated.";
    UserDeleted => "user.deleted", "A user was deleted.";
    RoleCreated => "role.created", "A role was created.";
    RoleDeleted => "role.deleted", "A role was deleted.";
    PermissionGranted => "permission.granted", "A role was granted a permission.";
    PermissionRevoked => "permission.revoked", "A permission was taken from a role.";
    RoleAssigned => "role.assigned", "A role was given to a user.";
    RoleUnassigned => "role.unassigned", "A role was taken from a user.";
    AccessDenied => "access.denied", "An authorization check failed.";
    KeyRotated => "key.rotated", "A new signing key was created.";
    KeyRetired => "key.retired", "A signing key was retired.";
    AuditPurged => "audit.purged", "Old audit rows were deleted by the retention purge.";
    ServiceAccountCreated => "service.created", "A service account was created.";
    ApiKeyCreated => "api_key.created", "An API key was created.";
    ApiKeyRevoked => "api_key.revoked", "An API key was revoked.";
    ServiceTokenIssued => "service_token.issued", "A service token was minted from an API key.";
    ScopedIssued => "scoped.issued", "A scoped capability token was issued.";
    ScopedRevoked => "scoped.revoked", "Every scoped token of a scope and subject was revoked.";
    PasswordResetRequested => "password.reset_requested", "A password reset was requested (for a known or an unknown name).";
    PasswordReset => "password.reset", "A password was reset with a one-time token.";
    EmailVerificationIssued => "email.verification_issued", "An email-verification token was issued.";
    EmailVerified => "email.verified", "An email address was verified.";
    MagicLinkRequested => "magic_link.requested", "A magic sign-in link was requested (for a known or an unknown name).";
    MfaEnrolled => "mfa.enrolled", "A TOTP second factor was enrolled (not yet confirmed).";
    MfaEnabled => "mfa.enabled", "A TOTP second factor was confirmed and turned on.";
    MfaDisabled => "mfa.disabled", "The TOTP second factor was turned off.";
    MfaChallenged => "mfa.challenged", "A first factor succeeded; the second is awaited.";
    MfaFailed => "mfa.failed", "A wrong second-factor code was presented.";
    RecoveryCodeUsed => "mfa.recovery_code_used", "A recovery code was spent.";
    RecoveryCodesRegenerated => "mfa.recovery_codes_regenerated", "New recovery codes replaced the old ones.";
    PasskeyRegistered => "passkey.registered", "A passkey was registered (detail: its id).";
    PasskeyRenamed => "passkey.renamed", "A passkey was renamed.";
    PasskeyRevoked => "passkey.revoked", "A passkey was revoked; the sessions it started ended.";
    PasskeyFailed => "passkey.failed", "A passkey answer did not verify (detail: why).";
    PasskeyCloneSuspected => "passkey.clone_suspected", "A passkey's sign counter went backwards: it may have been cloned; refused.";
    IdentityLinked => "identity.linked", "An identity at a provider was linked to the account (detail: provider, issuer, subject, and how).";
    IdentityUnlinked => "identity.unlinked", "A linked identity was removed; the sessions its provider started ended.";
    ProviderFailed => "identity.failed", "A sign-in or link through an identity provider failed (detail: why).";
    AttributeSet => "attribute.set", "A user attribute was set.";
    AttributeRemoved => "attribute.removed", "A user attribute was removed.";
    OrganizationCreated => "org.created", "An organization was created (detail: its slug; the user: its first owner).";
    OrganizationDeleted => "org.deleted", "An organization was deleted with its memberships, invitations and keys.";
    MemberAdded => "org.member_added", "A user became a member of an organization (detail: which, and the roles).";
    MemberRemoved => "org.member_removed", "A member left or was removed from an organization.";
    MemberRolesChanged => "org.member_roles_changed", "A member's roles in an organization were replaced.";
    InvitationIssued => "org.invitation_issued", "An invitation to an organization was issued (the user: the inviter).";
    InvitationRevoked => "org.invitation_revoked", "A pending invitation was revoked.";
    InvitationAccepted => "org.invitation_accepted", "An invitation was accepted; the invitee became a member.";
    OrganizationSwitched => "org.switched", "A session's active organization changed (detail: to which, or none).";
}

impl Serialize for AuditKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded security event. Never contains a password, token, key or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// Position in the trail (consecutive).
    pub id: i64,
    /// When it happened (the engine's clock).
    #[serde(serialize_with = "crate::values::time::ms")]
    pub at: SystemTime,
    /// What happened.
    pub kind: AuditKind,
    /// The user concerned, if any.
    pub user_id: Option<UserId>,
    /// The session concerned, if any.
    pub session_id: Option<SessionId>,
    /// The client address, when the operation had one.
    pub ip: Option<String>,
    /// The client user agent, when the operation had one.
    pub user_agent: Option<String>,
    /// A short description, e.g. `role=clerk` or `reason=logout`.
    pub detail: Option<String>,
}

/// Filters for [`Auth::audit`](crate::Auth::audit). `Default` gives the newest 100 events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events about this user.
    pub user_id: Option<UserId>,
    /// Only events of this kind.
    pub kind: Option<AuditKind>,
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// Only events before this time.
    pub until: Option<SystemTime>,
    /// Only events older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// How many, newest first; default 100, at most 10,000.
    pub limit: Option<u32>,
}

/// Identifies a subscription, to end it with [`Auth::unsubscribe`](crate::Auth::unsubscribe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(pub(crate) u64);
