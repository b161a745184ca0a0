//! Roles and permissions on a real file: decisions read the database, changes apply on the
//! very next call, denials are audited; and listing users with search, filters and pages.

use crate::common::*;
use authlite::{AuditKind, AuditQuery, Auth, ErrorKind, NewUser, Principal, UserId, UserQuery};

fn principal(auth: &Auth, name: &str) -> Principal {
    auth.validate(&login(auth, name).access_token).unwrap()
}

fn kind(result: authlite::Result<()>) -> Option<ErrorKind> {
    result.err().map(|e| e.kind())
}

fn grants_assignments_and_their_revocation_apply_on_the_next_call(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    auth.create_role("clerk").unwrap();
    auth.grant("clerk", "orders", "refund").unwrap();
    auth.grant("clerk", "orders", "refund").unwrap(); // idempotent
    let who = principal(&auth, "alice");
    assert_eq!(kind(auth.authorize(&who, "orders", "refund")), Some(ErrorKind::Forbidden));

    auth.assign_role(alice.id, "clerk").unwrap();
    assert_eq!(kind(auth.authorize(&who, "orders", "refund")), None, "same principal, new grant");
    assert_eq!(kind(auth.authorize(&who, "orders", "delete")), Some(ErrorKind::Forbidden));

    auth.revoke_grant("clerk", "orders", "refund").unwrap();
    assert_eq!(kind(auth.authorize(&who, "orders", "refund")), Some(ErrorKind::Forbidden));

    auth.grant("clerk", "orders", "refund").unwrap();
    auth.unassign_role(alice.id, "clerk").unwrap();
    assert_eq!(kind(auth.authorize(&who, "orders", "refund")), Some(ErrorKind::Forbidden));

    auth.assign_role(alice.id, "clerk").unwrap();
    auth.delete_role("clerk").unwrap();
    assert_eq!(kind(auth.authorize(&who, "orders", "refund")), Some(ErrorKind::Forbidden));
    assert_eq!(auth.roles().unwrap(), Vec::<String>::new());
}

fn wildcards_grant_any_resource_or_action(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    auth.create_role("admin").unwrap();
    auth.create_role("auditor").unwrap();
    auth.grant("admin", "*", "*").unwrap();
    auth.grant("auditor", "*", "read").unwrap();
    let bob = user(&auth, "bob");
    auth.assign_role(alice.id, "admin").unwrap();
    auth.assign_role(bob.id, "auditor").unwrap();
    let (a, b) = (principal(&auth, "alice"), principal(&auth, "bob"));
    assert_eq!(kind(auth.authorize(&a, "payroll", "delete")), None);
    assert_eq!(kind(auth.authorize(&b, "payroll", "read")), None);
    assert_eq!(kind(auth.authorize(&b, "payroll", "delete")), Some(ErrorKind::Forbidden));
}

fn principal_roles_come_from_the_database_at_validate_time(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    auth.create_role("clerk").unwrap();
    auth.create_role("manager").unwrap();
    let alice = auth.register(NewUser::new("alice", PASSWORD).roles(["manager", "clerk"])).unwrap();
    let login = login(&auth, "alice");
    let who = auth.validate(&login.access_token).unwrap();
    assert_eq!(who.roles, vec!["clerk".to_owned(), "manager".to_owned()]);
    assert!(who.has_role("manager"));
    assert_eq!(kind(auth.require_role(&who, "manager")), None);

    auth.unassign_role(alice.id, "manager").unwrap();
    let who = auth.validate(&login.access_token).unwrap();
    assert_eq!(who.roles, vec!["clerk".to_owned()], "the same token shows the change at once");
    assert_eq!(kind(auth.require_role(&who, "manager")), Some(ErrorKind::Forbidden));
    assert_eq!(auth.user_roles(alice.id).unwrap(), vec!["clerk".to_owned()]);
}

fn registering_with_an_unknown_role_creates_nothing(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let e = auth.register(NewUser::new("alice", PASSWORD).roles(["nope"])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(auth.find_user("alice").unwrap_err().kind(), ErrorKind::NotFound, "atomic");
}

fn denials_are_audited_and_deactivated_users_are_denied(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    auth.create_role("clerk").unwrap();
    auth.grant("clerk", "orders", "read").unwrap();
    auth.assign_role(alice.id, "clerk").unwrap();
    let who = principal(&auth, "alice");
    auth.authorize(&who, "orders", "refund").unwrap_err();
    let denied = auth
        .audit(&AuditQuery { kind: Some(AuditKind::AccessDenied), ..Default::default() })
        .unwrap();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].user_id, Some(alice.id));
    assert_eq!(denied[0].session_id, who.session_id);
    assert_eq!(denied[0].detail.as_deref(), Some("resource=orders action=refund"));

    auth.deactivate_user(alice.id).unwrap();
    assert_eq!(kind(auth.authorize(&who, "orders", "read")), Some(ErrorKind::Forbidden));
}

fn names_are_validated_and_objects_must_exist(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    for bad in ["", "has space", "x\0", "*", "a/b", "ünï"] {
        assert_eq!(kind(auth.create_role(bad)), Some(ErrorKind::InvalidInput), "{bad:?}");
    }
    auth.create_role("clerk").unwrap();
    assert_eq!(kind(auth.create_role("clerk")), Some(ErrorKind::Conflict));
    assert_eq!(kind(auth.grant("clerk", "bad resource", "read")), Some(ErrorKind::InvalidInput));
    assert_eq!(kind(auth.grant("ghost", "orders", "read")), Some(ErrorKind::NotFound));
    assert_eq!(kind(auth.assign_role(alice.id, "ghost")), Some(ErrorKind::NotFound));
    assert_eq!(kind(auth.assign_role(UserId(9999), "clerk")), Some(ErrorKind::NotFound));
    assert_eq!(kind(auth.delete_role("ghost")), Some(ErrorKind::NotFound));
    let who = principal(&auth, "alice");
    assert_eq!(kind(auth.authorize(&who, "orders", "re fund")), Some(ErrorKind::InvalidInput));
}

fn list_users_searches_literally_filters_and_pages(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    for name in ["alice", "ALIBABA", "bob", "a%b", "a_b", "a\\b", "axb", "carol"] {
        user(&auth, name);
    }
    auth.register(NewUser::new("dave", PASSWORD).email("dave@ali.example")).unwrap();
    let search = |text: &str| -> Vec<String> {
        let q = UserQuery { search: Some(text.into()), ..Default::default() };
        auth.list_users(&q).unwrap().into_iter().map(|u| u.username).collect()
    };
    assert_eq!(search("ali"), ["alice", "ALIBABA", "dave"], "username or email, any case");
    assert_eq!(search("%"), ["a%b"]);
    assert_eq!(search("_"), ["a_b"]);
    assert_eq!(search("\\"), ["a\\b"]);
    assert_eq!(search("a_b"), ["a_b"], "not a one-character wildcard");

    let carol = auth.find_user("carol").unwrap();
    auth.deactivate_user(carol.id).unwrap();
    let inactive =
        auth.list_users(&UserQuery { active: Some(false), ..Default::default() }).unwrap();
    assert_eq!(inactive.iter().map(|u| u.id).collect::<Vec<_>>(), [carol.id]);

    auth.create_role("clerk").unwrap();
    let bob = auth.find_user("bob").unwrap();
    auth.assign_role(bob.id, "clerk").unwrap();
    let clerks =
        auth.list_users(&UserQuery { role: Some("clerk".into()), ..Default::default() }).unwrap();
    assert_eq!(clerks.iter().map(|u| u.id).collect::<Vec<_>>(), [bob.id]);

    let mut pages = Vec::new();
    for page in 0..4 {
        let q = UserQuery { limit: Some(3), offset: page * 3, ..Default::default() };
        pages.extend(auth.list_users(&q).unwrap().into_iter().map(|u| u.id));
    }
    let all: Vec<_> =
        auth.list_users(&UserQuery::default()).unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(pages, all, "stable order, no gaps or repeats");
    assert!(all.windows(2).all(|w| w[0] < w[1]));
}

/// A scoped credential can only narrow what its account's roles grant.
fn scopes_narrow_role_grants_and_never_widen_them(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    auth.create_role("clerk").unwrap();
    auth.grant("clerk", "orders", "*").unwrap();
    auth.register(NewUser::new("alice", PASSWORD).roles(["clerk"])).unwrap();
    let mut who = principal(&auth, "alice");
    assert_eq!(who.scopes, None);
    auth.authorize(&who, "orders", "refund").unwrap();

    who.scopes = Some(vec!["orders:read".into()]);
    assert!(who.has_scope("orders:read") && !who.has_scope("orders:refund"));
    auth.authorize(&who, "orders", "read").unwrap();
    assert_eq!(kind(auth.authorize(&who, "orders", "refund")), Some(ErrorKind::Forbidden));

    who.scopes = Some(vec!["*:read".into(), "users:*".into()]);
    auth.authorize(&who, "orders", "read").unwrap();
    assert_eq!(
        kind(auth.authorize(&who, "users", "read")),
        Some(ErrorKind::Forbidden),
        "a scope cannot grant what no role does"
    );

    who.scopes = Some(Vec::new());
    assert_eq!(kind(auth.authorize(&who, "orders", "read")), Some(ErrorKind::Forbidden));
}

fn declaring_a_role_is_idempotent_and_audits_only_changes(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let grants = [("orders", "refund"), ("orders", "read")];
    auth.declare_role("clerk", &grants).unwrap();
    let rows = auth.status().unwrap().audit_rows;
    auth.declare_role("clerk", &grants).unwrap();
    assert_eq!(auth.status().unwrap().audit_rows, rows, "nothing changed, nothing audited");
    auth.declare_role("clerk", &[("orders", "void")]).unwrap();
    assert_eq!(auth.role_permissions("clerk").unwrap().len(), 3);
    assert_eq!(kind(auth.declare_role("bad name", &[])), Some(ErrorKind::InvalidInput));
}

backend_tests!(
    grants_assignments_and_their_revocation_apply_on_the_next_call,
    wildcards_grant_any_resource_or_action,
    principal_roles_come_from_the_database_at_validate_time,
    registering_with_an_unknown_role_creates_nothing,
    denials_are_audited_and_deactivated_users_are_denied,
    names_are_validated_and_objects_must_exist,
    list_users_searches_literally_filters_and_pages,
    scopes_narrow_role_grants_and_never_widen_them,
    declaring_a_role_is_idempotent_and_audits_only_changes,
);
