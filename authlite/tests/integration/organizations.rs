//! Organizations (DESIGN §14) on both backends: roles per organization that count only in
//! the active one, owners, invitations, organization keys, and every removal in force on
//! the next call of another engine on the same database.

use std::time::Duration;

use crate::common::*;
use authlite::{ApiKeySpec, AuditKind, AuditQuery, Auth, ErrorKind, NewUser, OrgId, Principal};

fn session(auth: &Auth, name: &str) -> String {
    login(auth, name).access_token
}

fn member_of(auth: &Auth, token: &str, org: OrgId) -> Principal {
    let who = auth.validate(token).unwrap();
    auth.switch_organization(&who, Some(org)).unwrap();
    auth.validate(token).unwrap()
}

/// Every kind of event in the audit trail.
fn audited(auth: &Auth) -> Vec<AuditKind> {
    let all = AuditQuery { limit: Some(10_000), ..Default::default() };
    auth.audit(&all).unwrap().iter().map(|e| e.kind).collect()
}

fn denied(result: authlite::Result<()>) -> bool {
    result.is_err_and(|e| e.kind() == ErrorKind::Forbidden)
}

/// An owner, a branch and a `manager` role that may approve invoices.
fn shop(auth: &Auth) -> OrgId {
    let owner = user(auth, "owner");
    auth.declare_role("manager", &[("invoices", "approve")]).unwrap();
    auth.create_organization("north", "North branch", owner.id).unwrap().id
}

fn organization_roles_count_only_while_it_is_the_active_one(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let north = shop(&auth);
    let east = auth.create_organization("east", "East branch", user(&auth, "boss").id).unwrap().id;
    let bob = user(&auth, "bob");
    auth.add_member(north, bob.id, &["manager"]).unwrap();
    auth.add_member(east, bob.id, &[]).unwrap();
    let token = session(&auth, "bob");

    let who = auth.validate(&token).unwrap();
    assert_eq!((who.organization_id, who.roles.len()), (None, 0), "no organization yet");
    assert!(denied(auth.authorize(&who, "invoices", "approve")));

    let who = member_of(&auth, &token, north);
    assert_eq!(who.organization_id, Some(north));
    assert_eq!(who.roles, ["manager"]);
    assert!(who.has_role("manager"));
    auth.authorize(&who, "invoices", "approve").unwrap();
    auth.require_role(&who, "manager").unwrap();

    // A manager of north is nobody in east.
    let who = member_of(&auth, &token, east);
    assert_eq!((who.organization_id, who.roles.len()), (Some(east), 0));
    assert!(denied(auth.authorize(&who, "invoices", "approve")));
    assert!(denied(auth.require_role(&who, "manager")));

    auth.switch_organization(&who, None).unwrap();
    assert_eq!(auth.validate(&token).unwrap().organization_id, None);

    // Global roles count everywhere, alongside the organization's.
    auth.declare_role("clerk", &[("orders", "read")]).unwrap();
    auth.assign_role(bob.id, "clerk").unwrap();
    let who = member_of(&auth, &token, north);
    assert_eq!(who.roles, ["clerk", "manager"]);
    assert_eq!(auth.organizations_of(bob.id).unwrap().len(), 2);
}

fn removals_and_role_changes_apply_on_the_next_call_of_another_engine(b: Backend) {
    let env = Env::on(b);
    let (one, two) = (env.open(), env.open());
    let north = shop(&one);
    let bob = user(&one, "bob");
    one.add_member(north, bob.id, &["manager"]).unwrap();
    let token = session(&one, "bob");
    let who = member_of(&one, &token, north);
    one.authorize(&who, "invoices", "approve").unwrap();
    assert_eq!(one.validate(&token).unwrap().roles, ["manager"], "cached in engine one");

    two.set_member_roles(north, bob.id, &[]).unwrap();
    let now = one.validate(&token).unwrap();
    assert_eq!((now.organization_id, now.roles.len()), (Some(north), 0), "role change seen");
    assert!(denied(one.authorize(&who, "invoices", "approve")), "the old principal too");

    two.set_member_roles(north, bob.id, &["manager"]).unwrap();
    assert_eq!(one.validate(&token).unwrap().roles, ["manager"]);
    two.remove_member(north, bob.id).unwrap();
    let now = one.validate(&token).unwrap();
    assert_eq!((now.organization_id, now.roles.len()), (None, 0), "removal seen");
    assert!(denied(one.authorize(&who, "invoices", "approve")));
    // Joining again does not bring back the old session's choice.
    two.add_member(north, bob.id, &["manager"]).unwrap();
    assert_eq!(one.validate(&token).unwrap().organization_id, None);

    let who = member_of(&one, &token, north);
    assert_eq!(who.organization_id, Some(north));
    two.delete_organization(north).unwrap();
    let now = one.validate(&token).unwrap();
    assert_eq!((now.organization_id, now.roles.len()), (None, 0), "deletion seen");
    assert!(denied(one.authorize(&who, "invoices", "approve")));
    assert_eq!(err(one.organization(north)), ErrorKind::NotFound);
    assert_eq!(one.organizations_of(bob.id).unwrap(), []);
}

fn a_membership_removed_behind_the_engines_back_is_seen_at_once(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let north = shop(&auth);
    let bob = user(&auth, "bob");
    auth.add_member(north, bob.id, &["manager"]).unwrap();
    let token = session(&auth, "bob");
    assert_eq!(member_of(&auth, &token, north).roles, ["manager"]);
    env.exec(&format!("DELETE FROM memberships WHERE user_id = {}", bob.id));
    let now = auth.validate(&token).unwrap();
    assert_eq!((now.organization_id, now.roles.len()), (None, 0));
}

fn the_last_owner_stays(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let north = shop(&auth);
    let owner = auth.members(north).unwrap()[0].user_id;
    assert_eq!(auth.members(north).unwrap()[0].roles, ["owner"]);
    assert_eq!(err(auth.remove_member(north, owner)), ErrorKind::Conflict);
    assert_eq!(err(auth.set_member_roles(north, owner, &["manager"])), ErrorKind::Conflict);
    let bob = user(&auth, "bob");
    auth.add_member(north, bob.id, &["owner"]).unwrap();
    auth.set_member_roles(north, owner, &["manager"]).unwrap();
    assert_eq!(err(auth.remove_member(north, bob.id)), ErrorKind::Conflict, "now bob is last");
    auth.remove_member(north, owner).unwrap();
    let members = auth.members(north).unwrap();
    assert_eq!((members.len(), members[0].username.as_str()), (1, "bob"));
}

fn names_members_and_roles_are_checked(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let north = shop(&auth);
    let owner = auth.members(north).unwrap()[0].user_id;
    assert_eq!(auth.organization_by_slug(" NORTH ").unwrap().id, north);
    assert_eq!(err(auth.create_organization("North", "again", owner)), ErrorKind::Conflict);
    for slug in ["", "-x", "a b", "ünï", &"x".repeat(64)] {
        assert_eq!(err(auth.create_organization(slug, "x", owner)), ErrorKind::InvalidInput);
    }
    assert_eq!(err(auth.create_organization("south", "", owner)), ErrorKind::InvalidInput);
    assert_eq!(
        err(auth.create_organization("south", "x", authlite::UserId(999))),
        ErrorKind::NotFound
    );
    let bob = user(&auth, "bob");
    assert_eq!(err(auth.add_member(north, bob.id, &["not a name"])), ErrorKind::InvalidInput);
    assert_eq!(err(auth.add_member(OrgId(999), bob.id, &[])), ErrorKind::NotFound);
    assert_eq!(err(auth.remove_member(north, bob.id)), ErrorKind::NotFound, "not a member");
    auth.add_member(north, bob.id, &["manager", "manager", "cashier"]).unwrap();
    assert_eq!(err(auth.add_member(north, bob.id, &[])), ErrorKind::Conflict);
    assert_eq!(auth.members(north).unwrap()[1].roles, ["cashier", "manager"]);
    assert!(auth.roles().unwrap().contains(&"cashier".to_owned()), "a new name is a new role");
    assert_eq!(auth.role_permissions("cashier").unwrap(), [], "that grants nothing");
    auth.set_member_roles(north, bob.id, &["manager"]).unwrap();
    assert_eq!(err(auth.members(OrgId(999))), ErrorKind::NotFound);

    // Switching needs a session and a membership.
    let carol = user(&auth, "carol");
    let token = session(&auth, "carol");
    let who = auth.validate(&token).unwrap();
    assert!(denied(auth.switch_organization(&who, Some(north))));
    assert_eq!(err(auth.switch_organization(&who, Some(OrgId(999)))), ErrorKind::NotFound);
    let svc = auth.create_service_account("till").unwrap();
    let key = auth.create_api_key(svc.id, ApiKeySpec::new("k")).unwrap().secret;
    let machine = auth.validate_api_key(&key).unwrap();
    assert_eq!(err(auth.switch_organization(&machine, None)), ErrorKind::InvalidInput);

    // A deleted account's memberships go with it; a deleted role leaves the membership.
    auth.add_member(north, carol.id, &["manager"]).unwrap();
    auth.delete_user(carol.id).unwrap();
    assert_eq!(auth.members(north).unwrap().len(), 2);
    auth.delete_role("manager").unwrap();
    assert_eq!(auth.members(north).unwrap()[1].roles, Vec::<String>::new());

    let kinds = audited(&auth);
    for kind in [AuditKind::OrganizationCreated, AuditKind::MemberAdded] {
        assert!(kinds.contains(&kind), "{kind:?} audited");
    }
}

fn invitations_are_single_use_bound_to_a_verified_address_and_expire(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let north = shop(&auth);
    let owner = auth.members(north).unwrap()[0].user_id;
    let invite = auth.invite_member(north, "Bob@Example.com", &["manager"], owner).unwrap();
    assert!(invite.starts_with("inv_"));
    assert_eq!(env.int("SELECT count(*) FROM invitations WHERE selector LIKE '%.%'"), 0);

    let with_email =
        |name: &str, email: &str| auth.register(NewUser::new(name, PASSWORD).email(email)).unwrap();
    let bob = with_email("bob", "bob@example.com");
    assert!(denied(auth.accept_invitation(&invite, bob.id).map(drop)), "address not verified");
    let carol = with_email("carol", "carol@example.com");
    auth.verify_email(&auth.email_verification_token(carol.id).unwrap()).unwrap();
    assert!(denied(auth.accept_invitation(&invite, carol.id).map(drop)), "another address");
    auth.verify_email(&auth.email_verification_token(bob.id).unwrap()).unwrap();

    let mut tampered = invite.clone();
    tampered.pop();
    tampered.push(if invite.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(err(auth.accept_invitation(&tampered, bob.id)), ErrorKind::InvalidToken);
    let reset = auth.request_password_reset("bob").unwrap().unwrap();
    assert_eq!(err(auth.accept_invitation(&reset, bob.id)), ErrorKind::InvalidToken);

    let pending = auth.invitations(north).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].email.as_str(), pending[0].roles.clone()),
        ("bob@example.com", vec!["manager".into()])
    );
    assert!(
        invite.contains(&pending[0].id) && !pending[0].id.contains('.'),
        "the public part only"
    );
    assert_eq!(auth.accept_invitation(&invite, bob.id).unwrap().id, north);
    assert_eq!(err(auth.accept_invitation(&invite, bob.id)), ErrorKind::InvalidToken, "spent");
    assert_eq!(auth.invitations(north).unwrap(), [], "accepted: no longer pending");
    assert_eq!(err(auth.revoke_invitation(north, &pending[0].id)), ErrorKind::NotFound);
    let token = session(&auth, "bob");
    assert_eq!(member_of(&auth, &token, north).roles, ["manager"]);
    // A member cannot accept again, and that attempt spends nothing.
    let again = auth.invite_member(north, "bob@example.com", &[], owner).unwrap();
    assert_eq!(err(auth.accept_invitation(&again, bob.id)), ErrorKind::Conflict);
    let id = auth.invitations(north).unwrap()[0].id.clone();
    assert!(again.contains(&id), "still pending");
    auth.revoke_invitation(north, &id).unwrap();

    // 48 hours, then expired; only members invite.
    let late = auth.invite_member(north, "carol@example.com", &[], owner).unwrap();
    env.clock.advance(Duration::from_secs(48 * 3600));
    assert_eq!(err(auth.accept_invitation(&late, carol.id)), ErrorKind::ExpiredToken);
    assert!(denied(auth.invite_member(north, "x@example.com", &[], carol.id).map(drop)));
    assert_eq!(
        err(auth.invite_member(north, "not an address", &[], owner)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        err(auth.invite_member(north, "x@example.com", &["no pe"], owner)),
        ErrorKind::InvalidInput
    );

    // Revoked, it can no longer be accepted.
    let revoked = auth.invite_member(north, "carol@example.com", &[], owner).unwrap();
    let id = auth.invitations(north).unwrap()[0].id.clone();
    assert_eq!(err(auth.revoke_invitation(OrgId(999), &id)), ErrorKind::NotFound);
    auth.revoke_invitation(north, &id).unwrap();
    assert_eq!(err(auth.accept_invitation(&revoked, carol.id)), ErrorKind::InvalidToken);
    assert_eq!(auth.invitations(north).unwrap(), []);

    // Deleting the organization voids its invitations.
    let pending = auth.invite_member(north, "carol@example.com", &[], owner).unwrap();
    auth.delete_organization(north).unwrap();
    assert_eq!(err(auth.accept_invitation(&pending, carol.id)), ErrorKind::InvalidToken);
    let kinds = audited(&auth);
    for kind in [
        AuditKind::InvitationIssued,
        AuditKind::InvitationAccepted,
        AuditKind::InvitationRevoked,
        AuditKind::OrganizationDeleted,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} audited");
    }
}

fn organization_keys_carry_it_and_die_with_the_membership_or_the_organization(b: Backend) {
    let env = Env::on(b);
    let (one, two) = (env.open(), env.open());
    let north = shop(&one);
    let svc = one.create_service_account("north-till").unwrap();
    let spec = || ApiKeySpec::new("till").organization(north);
    assert_eq!(err(one.create_api_key(svc.id, spec())), ErrorKind::NotFound, "not a member");
    one.add_member(north, svc.id, &["manager"]).unwrap();
    let key = one.create_api_key(svc.id, spec()).unwrap();
    assert_eq!(key.info.organization_id, Some(north));

    let who = one.validate_api_key(&key.secret).unwrap();
    assert_eq!((who.organization_id, who.roles.clone()), (Some(north), vec!["manager".into()]));
    one.authorize(&who, "invoices", "approve").unwrap();
    let service = one.issue_service_token(&key.secret).unwrap().access_token;
    assert_eq!(one.validate(&service).unwrap().organization_id, Some(north));

    two.remove_member(north, svc.id).unwrap();
    assert_eq!(err(one.validate_api_key(&key.secret)), ErrorKind::RevokedToken);
    assert_eq!(err(one.validate(&service)), ErrorKind::RevokedToken);
    assert!(denied(one.authorize(&who, "invoices", "approve")));

    two.add_member(north, svc.id, &[]).unwrap();
    assert_eq!(one.validate_api_key(&key.secret).unwrap().roles.len(), 0);
    two.delete_organization(north).unwrap();
    assert_eq!(err(one.validate_api_key(&key.secret)), ErrorKind::InvalidToken, "deleted with it");
    assert_eq!(err(one.validate(&service)), ErrorKind::RevokedToken);
}

backend_tests!(
    organization_roles_count_only_while_it_is_the_active_one,
    removals_and_role_changes_apply_on_the_next_call_of_another_engine,
    a_membership_removed_behind_the_engines_back_is_seen_at_once,
    the_last_owner_stays,
    names_members_and_roles_are_checked,
    invitations_are_single_use_bound_to_a_verified_address_and_expire,
    organization_keys_carry_it_and_die_with_the_membership_or_the_organization,
);
