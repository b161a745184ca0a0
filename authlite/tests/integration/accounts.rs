//! Accounts: registration, uniqueness under normalisation, input rules, password policy,
//! hashing and re-hashing, on a real database file.

use crate::common::*;
use authlite::{Auth, ClientInfo, Config, ErrorKind, NewUser, UserId};

fn register_and_look_up(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = auth.register(NewUser::new("Alice", PASSWORD).email("Alice@Example.com")).unwrap();
    assert!(alice.id.get() > 0);
    assert_eq!(alice.username, "Alice", "display form kept as typed");
    assert_eq!(alice.email.as_deref(), Some("Alice@Example.com"));
    assert!(alice.active);
    assert_eq!(alice.last_login_at, None);
    assert_eq!(auth.user(alice.id).unwrap(), alice);
    assert_eq!(auth.find_user("ALICE").unwrap().id, alice.id);
    assert_eq!(auth.find_user("ａｌｉｃｅ").unwrap().id, alice.id, "fullwidth");
    assert_eq!(auth.find_user("alice@EXAMPLE.com").unwrap().id, alice.id);
    assert_eq!(err(auth.find_user("bob")), ErrorKind::NotFound);
    assert_eq!(err(auth.find_user("bad\0")), ErrorKind::InvalidInput);
    assert_eq!(err(auth.user(UserId(424_242))), ErrorKind::NotFound);
}

fn usernames_and_emails_are_unique_ignoring_case_and_width(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    auth.register(NewUser::new("Straße", PASSWORD).email("a@x.io")).unwrap();
    for dup in ["STRASSE", "strasse", "ＳＴＲＡＳＳＥ", "straße"] {
        assert_eq!(err(auth.register(NewUser::new(dup, PASSWORD))), ErrorKind::Conflict, "{dup}");
    }
    assert_eq!(
        err(auth.register(NewUser::new("other", PASSWORD).email("A@X.IO"))),
        ErrorKind::Conflict
    );
}

fn bad_usernames_and_emails_are_invalid_input(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    for name in [
        "",
        " ",
        "al\0ice",
        "al\u{200B}ice",
        "\u{202E}ecila",
        "al\u{2069}ice",
        "al\u{FEFF}ice",
        "al\tice",
        "a@b",
        " alice",
        &"x".repeat(65),
        &"x".repeat(100_000),
    ] {
        assert_eq!(
            err(auth.register(NewUser::new(name, PASSWORD))),
            ErrorKind::InvalidInput,
            "{name:.20?}"
        );
    }
    for email in ["", "no-at", "@x.io", "a@", "a b@x.io", "a@x\u{200D}.io"] {
        assert_eq!(
            err(auth.register(NewUser::new("carol", PASSWORD).email(email))),
            ErrorKind::InvalidInput,
            "{email:?}"
        );
    }
}

fn password_policy_follows_nist(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    for weak in
        ["", "short", "1234567", "password", "Password1", "qwertyuiop", "zzzzzzzzzz", "dave1234"]
    {
        let e = auth.register(NewUser::new("dave1234", weak)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WeakPassword, "{weak}");
        if weak.len() >= 5 && weak != "password" {
            assert!(!e.to_string().contains(weak), "message repeats the password: {e}");
        }
    }
    // No composition rules; 64+ characters allowed; over the maximum refused before hashing.
    auth.register(NewUser::new("u1", "all lowercase words here")).unwrap();
    auth.register(NewUser::new("u2", "x".repeat(63) + "y")).unwrap();
    auth.register(NewUser::new("u3", "Ünïcödé pässwörd ✓")).unwrap();
    assert_eq!(err(auth.register(NewUser::new("u4", "y".repeat(129)))), ErrorKind::WeakPassword);
    let config = Config { min_password_length: 12, ..env.config() };
    let strict = Auth::open_with(config).unwrap();
    assert_eq!(err(strict.register(NewUser::new("u5", "elevenchars"))), ErrorKind::WeakPassword);
}

fn passwords_are_nfkc_normalised(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    auth.register(NewUser::new("erin", "ｆｕｌｌｗｉｄｔｈ ｐａｓｓ")).unwrap();
    auth.login("erin", "fullwidth pass", &ClientInfo::default()).unwrap();
    // Composed and decomposed "é" are the same password.
    auth.register(NewUser::new("frank", "caf\u{e9} au lait")).unwrap();
    auth.login("frank", "cafe\u{301} au lait", &ClientInfo::default()).unwrap();
}

fn only_a_pbkdf2_phc_hash_is_stored(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    let hash = env.text(&format!("SELECT password_hash FROM users WHERE id = {}", alice.id));
    assert!(hash.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

fn default_iterations_are_600k_and_outdated_hashes_are_upgraded_on_login(b: Backend) {
    assert_eq!(Config::new("x.db").pbkdf2_iterations, 600_000);
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    drop(auth);
    let auth = Auth::open_with(Config { pbkdf2_iterations: 2_000, ..env.config() }).unwrap();
    auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap();
    let hash = env.text(&format!("SELECT password_hash FROM users WHERE id = {}", alice.id));
    assert!(hash.starts_with("$pbkdf2-sha256$i=2000,"), "{hash}");
    auth.login("alice", PASSWORD, &ClientInfo::default()).unwrap();
}

fn a_corrupt_stored_hash_fails_closed(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    env.exec(&format!("UPDATE users SET password_hash = 'garbage' WHERE id = {}", alice.id));
    assert_eq!(err(auth.login("alice", PASSWORD, &ClientInfo::default())), ErrorKind::Storage);
}

fn set_password_applies_the_policy_and_needs_a_user(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    let alice = user(&auth, "alice");
    assert_eq!(err(auth.set_password(alice.id, "password")), ErrorKind::WeakPassword);
    assert_eq!(err(auth.set_password(alice.id, "alice")), ErrorKind::WeakPassword);
    assert_eq!(err(auth.set_password(UserId(999), "a fine new password")), ErrorKind::NotFound);
    assert_eq!(
        err(auth.change_password(UserId(999), PASSWORD, "a fine new password")),
        ErrorKind::NotFound
    );
    assert_eq!(err(auth.activate_user(UserId(999))), ErrorKind::NotFound);
    assert_eq!(err(auth.deactivate_user(UserId(999))), ErrorKind::NotFound);
}

#[test]
fn debug_output_never_shows_a_password() {
    let new = NewUser::new("alice", PASSWORD);
    assert!(!format!("{new:?}").contains(PASSWORD));
}

backend_tests!(
    a_corrupt_stored_hash_fails_closed,
    default_iterations_are_600k_and_outdated_hashes_are_upgraded_on_login,
    only_a_pbkdf2_phc_hash_is_stored,
    register_and_look_up,
    usernames_and_emails_are_unique_ignoring_case_and_width,
    bad_usernames_and_emails_are_invalid_input,
    password_policy_follows_nist,
    passwords_are_nfkc_normalised,
    set_password_applies_the_policy_and_needs_a_user,
);
