//! Upgrading a database created by schema version 1 must yield exactly `schema.sql`.

use std::collections::BTreeMap;

use crate::common::*;
use rusqlite::Connection;

/// Everything that defines the schema, in comparable form: per table its columns, keys,
/// indexes and options; the SQL of indexes, triggers and views with white space folded.
fn describe(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let objects: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, name, sql) in objects {
        let mut facts = Vec::new();
        if kind == "table" {
            for pragma in ["table_xinfo", "foreign_key_list", "index_list"] {
                let mut stmt = conn.prepare(&format!("SELECT * FROM pragma_{pragma}(?1)")).unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([&name], |r| {
                        (0..n)
                            .map(|i| {
                                r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .unwrap();
                for row in rows {
                    facts.push(format!("{pragma}: {}", row.unwrap().join(", ")));
                }
            }
            let options: (i64, i64) = conn
                .query_row(
                    "SELECT strict, wr FROM pragma_table_list WHERE name = ?1",
                    [&name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            facts.push(format!("strict, without rowid: {options:?}"));
        } else if let Some(sql) = sql {
            facts.push(sql.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        out.insert(format!("{kind} {name}"), facts);
    }
    out
}

#[test]
fn upgrading_from_version_1_yields_exactly_schema_sql() {
    let env = Env::new();
    {
        let conn = raw(&env.path);
        conn.execute_batch(include_str!("../fixtures/schema_v1.sql")).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let upgraded = env.open();
    drop(upgraded);

    let fresh = rusqlite::Connection::open_in_memory().unwrap();
    fresh.execute_batch(include_str!("../../../schema.sql")).unwrap();

    assert_eq!(describe(&raw(&env.path)), describe(&fresh));
    let version: i64 = raw(&env.path).query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let created = Env::new();
    drop(created.open());
    let latest: i64 =
        raw(&created.path).query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, latest);
    assert_eq!(describe(&raw(&created.path)), describe(&fresh), "new databases are schema.sql");
}

#[test]
fn an_upgraded_database_works() {
    let env = Env::new();
    {
        let conn = raw(&env.path);
        conn.execute_batch(include_str!("../fixtures/schema_v1.sql")).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    auth.validate(&login.access_token).unwrap();
}

/// `schema.postgres.sql` is `schema.sql` in PostgreSQL's dialect: the same tables with the
/// same columns, and the same indexes (PostgreSQL adds only its version table and its
/// change counter).
#[test]
#[cfg_attr(
    not(authlite_pg_tests),
    ignore = "needs AUTHLITE_TEST_POSTGRES_URL (and the postgres feature)"
)]
fn both_schemas_have_the_same_tables_columns_and_indexes() {
    let (lite, pg) = (Env::on(Backend::Sqlite), Env::on(Backend::Postgres));
    drop((lite.open(), pg.open()));
    let columns = |env: &Env, sql: &str| -> Vec<String> {
        let mut names = env.texts(sql);
        names.sort();
        names
    };
    assert_eq!(
        columns(
            &lite,
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        ),
        columns(
            &pg,
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             AND table_name NOT IN ('schema_version', 'change_counter')"
        )
    );
    assert_eq!(
        columns(
            &lite,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        ),
        columns(
            &pg,
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
        )
    );
}

/// Takes a database back from version 11 to 8 (identities; nothing for 10 on SQLite;
/// organizations).
const UNDO_9: &str = "DROP TABLE oidc_flows;
     DROP TABLE identities;
     DROP INDEX sessions_by_org;
     DROP INDEX api_keys_by_org;
     ALTER TABLE sessions DROP COLUMN organization_id;
     ALTER TABLE api_keys DROP COLUMN organization_id;
     DROP TABLE invitations;
     DROP TABLE member_roles;
     DROP TABLE memberships;
     DROP TABLE organizations;";

/// A version 8 database upgrades to 9 with its sessions and keys working, none in an
/// organization, and organizations then work on it.
#[test]
fn version_8_sessions_and_keys_upgrade_into_no_organization() {
    let env = Env::new();
    let (token, key) = {
        let auth = env.open();
        let svc = auth.create_service_account("till").unwrap();
        let key = auth.create_api_key(svc.id, authlite::ApiKeySpec::new("k")).unwrap().secret;
        user(&auth, "alice");
        (login(&auth, "alice").access_token, key)
    };
    raw(&env.path).execute_batch(&format!("{UNDO_9} PRAGMA user_version = 8;")).unwrap();
    let auth = env.open();
    let who = auth.validate(&token).unwrap();
    assert_eq!(who.organization_id, None);
    assert_eq!(auth.validate_api_key(&key).unwrap().organization_id, None);
    let org = auth.create_organization("acme", "Acme", who.user_id).unwrap();
    auth.switch_organization(&who, Some(org.id)).unwrap();
    assert_eq!(auth.validate(&token).unwrap().roles, ["owner"]);
    let version: i64 = raw(&env.path).query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 11);
}

/// A version 6 database (scopes joined by U+001F, no sign-in method, no scoped generation)
/// upgrades to version 7 with its keys' scopes intact, and its sessions read as password
/// sessions.
#[test]
fn version_6_keys_keep_their_scopes_and_sessions_their_method() {
    let env = Env::new();
    let (secret, unscoped) = {
        let auth = env.open();
        let svc = auth.create_service_account("billing").unwrap();
        let key = auth
            .create_api_key(
                svc.id,
                authlite::ApiKeySpec::new("k").scopes(["orders:read", "orders:*"]),
            )
            .unwrap();
        let empty = auth
            .create_api_key(svc.id, authlite::ApiKeySpec::new("e").scopes(Vec::<String>::new()))
            .unwrap();
        user(&auth, "alice");
        login(&auth, "alice");
        (key.secret, empty.secret)
    };
    // Back to version 6 by hand.
    raw(&env.path)
        .execute_batch(&format!(
            "{UNDO_9}
             UPDATE api_keys SET scopes = 'orders:read' || char(31) || 'orders:*' WHERE name = 'k';
             UPDATE api_keys SET scopes = '' WHERE name = 'e';
             ALTER TABLE sessions DROP COLUMN method;
             ALTER TABLE one_time_tokens DROP COLUMN method;
             ALTER TABLE one_time_pad DROP COLUMN method;
             ALTER TABLE scoped_revocations DROP COLUMN generation;
             DROP TABLE passkeys;
             DROP TABLE passkey_ceremonies;
             PRAGMA user_version = 6;"
        ))
        .unwrap();
    let auth = env.open();
    let who = auth.validate_api_key(&secret).unwrap();
    assert_eq!(who.scopes, Some(vec!["orders:read".to_owned(), "orders:*".to_owned()]));
    assert_eq!(auth.validate_api_key(&unscoped).unwrap().scopes, Some(Vec::new()));
    let alice = auth.find_user("alice").unwrap();
    let sessions = auth.sessions(alice.id).unwrap();
    assert_eq!(sessions[0].method, authlite::SignInMethod::Password);
    // Version 8 brought the passkey tables back, empty.
    assert!(auth.passkeys(alice.id).unwrap().is_empty());
}
