//! The organization half of the [`Auth`] facade (DESIGN §14).

use super::Auth;
use crate::values::error::Result;
use crate::values::ids::{OrgId, UserId};
use crate::values::organization::{Invitation, Member, Organization};
use crate::values::principal::Principal;

/// Organizations: tenants with members, roles per organization, invitations and an active
/// organization per session.
impl Auth {
    /// Creates an organization called `slug` (normalised: trimmed, lower-cased; then 1 to
    /// 63 of `a-z 0-9 -`) with display name `name`. `owner` becomes its first member, with
    /// the role `owner` (created if no role of that name exists yet). An organization
    /// always keeps at least one owner.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad slug or name, `NotFound` for an unknown owner, `Conflict` if
    /// the slug is taken.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("Acme", "Acme Inc", ann.id)?;
    /// assert_eq!(org.slug, "acme");
    /// assert_eq!(auth.members(org.id)?[0].roles, ["owner"]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn create_organization(
        &self,
        slug: &str,
        name: &str,
        owner: UserId,
    ) -> Result<Organization> {
        self.inner.create_organization(slug, name, owner)
    }

    /// The organization with this id.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// assert_eq!(auth.organization(org.id)?.name, "Acme Inc");
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn organization(&self, org: OrgId) -> Result<Organization> {
        self.inner.organization(org)
    }

    /// The organization called `slug` (normalised as at creation).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed slug, `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// assert_eq!(auth.organization_by_slug("ACME")?.id, org.id);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn organization_by_slug(&self, slug: &str) -> Result<Organization> {
        self.inner.organization_by_slug(slug)
    }

    /// Every organization, by slug.
    ///
    /// # Errors
    ///
    /// `Storage`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// auth.create_organization("north", "North branch", ann.id)?;
    /// auth.create_organization("east", "East branch", ann.id)?;
    /// let slugs: Vec<String> = auth.organizations()?.into_iter().map(|o| o.slug).collect();
    /// assert_eq!(slugs, ["east", "north"]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn organizations(&self) -> Result<Vec<Organization>> {
        self.inner.organizations()
    }

    /// The organizations `user` is a member of, by slug.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// assert_eq!(auth.organizations_of(ann.id)?, [org]);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn organizations_of(&self, user: UserId) -> Result<Vec<Organization>> {
        self.inner.organizations_of(user)
    }

    /// Deletes an organization with its memberships, member roles, invitations and API
    /// keys. Sessions that had it active have none from the next `validate` on, in every
    /// process.
    ///
    /// # Errors
    ///
    /// `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.delete_organization(org.id)?;
    /// assert_eq!(auth.organization(org.id).unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn delete_organization(&self, org: OrgId) -> Result<()> {
        self.inner.delete_organization(org)
    }

    /// Makes `user` a member of `org` with `roles`, which apply only while `org` is the
    /// active organization. Roles are the ones [`Auth::create_role`] and
    /// [`Auth::declare_role`] define and [`Auth::grant`] fills; a name with no role yet gets
    /// an empty one (audited), which grants nothing until granted something.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown organization or user; `Conflict` if already a member
    /// (change roles with [`Auth::set_member_roles`]); `InvalidInput` for a malformed role
    /// name or more than 64 roles.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// # let bob = auth.register(NewUser::new("bob", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.declare_role("member", &[("invoices", "read")])?;
    /// auth.add_member(org.id, bob.id, &["member"])?;
    /// assert_eq!(auth.members(org.id)?.len(), 2);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn add_member(&self, org: OrgId, user: UserId, roles: &[&str]) -> Result<()> {
        self.inner.add_member(org, user, roles)
    }

    /// Replaces a member's roles in `org`; in force on the next `validate`/`authorize`
    /// everywhere.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown organization or a user who is not a member; `Conflict` when
    /// it would take `owner` from the last owner; `InvalidInput` for a malformed role name.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.declare_role("admin", &[("*", "*")])?;
    /// let last_owner = auth.set_member_roles(org.id, ann.id, &["admin"]).unwrap_err();
    /// assert_eq!(last_owner.kind(), ErrorKind::Conflict);
    /// auth.set_member_roles(org.id, ann.id, &["owner", "admin"])?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn set_member_roles(&self, org: OrgId, user: UserId, roles: &[&str]) -> Result<()> {
        self.inner.set_member_roles(org, user, roles)
    }

    /// Ends a membership and its roles; sessions that had `org` active have none from the
    /// next `validate` on, in every process.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown organization or a user who is not a member; `Conflict` for
    /// the last owner.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// # let bob = auth.register(NewUser::new("bob", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.add_member(org.id, bob.id, &[])?;
    /// auth.remove_member(org.id, bob.id)?;
    /// assert_eq!(auth.remove_member(org.id, ann.id).unwrap_err().kind(), ErrorKind::Conflict);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn remove_member(&self, org: OrgId, user: UserId) -> Result<()> {
        self.inner.remove_member(org, user)
    }

    /// The members of `org` in the order they joined, each with their roles in it.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown organization.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// let members = auth.members(org.id)?;
    /// assert_eq!((members[0].user_id, members[0].username.as_str()), (ann.id, "ann"));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn members(&self, org: OrgId) -> Result<Vec<Member>> {
        self.inner.members(org)
    }

    /// An invitation for the owner of `email` to join `org` with `roles`: a one-time token
    /// (`inv_...`, only its hash is stored) valid for [`Config::invitation_ttl`](crate::Config::invitation_ttl)
    /// (48 h), to hand to [`Auth::accept_invitation`] by the account whose verified email
    /// is that address. `inviter` must be a member.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a malformed address or role name, `NotFound` for an unknown
    /// organization, `Forbidden` when `inviter` is not a member.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.declare_role("member", &[("invoices", "read")])?;
    /// let invite = auth.invite_member(org.id, "bob@example.com", &["member"], ann.id)?;
    /// assert!(invite.starts_with("inv_"));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn invite_member(
        &self,
        org: OrgId,
        email: &str,
        roles: &[&str],
        inviter: UserId,
    ) -> Result<String> {
        self.inner.invite_member(org, email, roles, inviter)
    }

    /// `org`'s pending invitations (neither accepted nor expired), oldest first.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown organization.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.invite_member(org.id, "Bob@Example.com", &["clerk"], ann.id)?;
    /// let pending = auth.invitations(org.id)?;
    /// assert_eq!((pending[0].email.as_str(), pending[0].invited_by), ("bob@example.com", Some(ann.id)));
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn invitations(&self, org: OrgId) -> Result<Vec<Invitation>> {
        self.inner.invitations(org)
    }

    /// Revokes one of `org`'s pending invitations by its id ([`Invitation::id`]): it can no
    /// longer be accepted.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown organization or no pending invitation by that id there.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.invite_member(org.id, "bob@example.com", &[], ann.id)?;
    /// let id = auth.invitations(org.id)?[0].id.clone();
    /// auth.revoke_invitation(org.id, &id)?;
    /// assert!(auth.invitations(org.id)?.is_empty());
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn revoke_invitation(&self, org: OrgId, id: &str) -> Result<()> {
        self.inner.revoke_invitation(org, id)
    }

    /// Accepts an invitation for `user`, whose email must be the invited address and
    /// verified; spends it (single use) and makes `user` a member with its roles (those
    /// still defined).
    ///
    /// # Errors
    ///
    /// `InvalidToken` for an unknown, tampered or spent invitation, `ExpiredToken`,
    /// `Forbidden` when `user`'s email is another address or not verified, `Conflict` if
    /// already a member, `NotFound` for an unknown user.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// # let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// let invite = auth.invite_member(org.id, "bob@example.com", &[], ann.id)?;
    /// let bob = auth.register(NewUser::new("bob", "correct horse battery staple").email("bob@example.com"))?;
    /// auth.verify_email(&auth.email_verification_token(bob.id)?)?;
    /// assert_eq!(auth.accept_invitation(&invite, bob.id)?.id, org.id);
    /// assert_eq!(auth.accept_invitation(&invite, bob.id).unwrap_err().kind(), ErrorKind::InvalidToken);
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn accept_invitation(&self, invitation: &str, user: UserId) -> Result<Organization> {
        self.inner.accept_invitation(invitation, user)
    }

    /// Makes `org` the active organization of `who`'s session (`None`: no organization).
    /// From the next [`Auth::validate`] of the same access token on, in every process,
    /// [`Principal::organization_id`] is `org` and the member's roles in it count in
    /// [`Principal::roles`] and [`Auth::authorize`] — while the account stays a member.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a principal without a session (an API key's organization is fixed
    /// at creation), `NotFound` for an unknown organization, `Forbidden` when the account is
    /// not a member.
    ///
    /// # Examples
    ///
    /// ```
    /// # use authlite::*;
    /// # let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
    /// let ann = auth.register(NewUser::new("ann", "correct horse battery staple"))?;
    /// let org = auth.create_organization("acme", "Acme Inc", ann.id)?;
    /// auth.declare_role("owner", &[("invoices", "approve")])?;
    /// let login = auth.login("ann", "correct horse battery staple", &ClientInfo::default())?;
    /// let who = auth.validate(&login.access_token)?;
    /// assert!(auth.authorize(&who, "invoices", "approve").is_err());
    /// auth.switch_organization(&who, Some(org.id))?;
    /// let who = auth.validate(&login.access_token)?;
    /// assert_eq!(who.organization_id, Some(org.id));
    /// auth.authorize(&who, "invoices", "approve")?;
    /// # Ok::<(), authlite::Error>(())
    /// ```
    pub fn switch_organization(&self, who: &Principal, org: Option<OrgId>) -> Result<()> {
        self.inner.switch_organization(who, org)
    }
}
