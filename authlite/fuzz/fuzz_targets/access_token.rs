//! Access tokens: arbitrary strings, and edits of a real token, into `validate` and
//! `validate_stateless`. Nothing but the exact token the engine issued may ever validate.
#![no_main]

use std::sync::OnceLock;

use authlite::{Auth, ClientInfo, ErrorKind, ManualClock, NewUser, fuzzing};
use authlite_fuzz::{candidate, config};
use libfuzzer_sys::fuzz_target;

/// An engine with one user logged in, and that login's access token. The clock never
/// moves, so the token stays valid however long the fuzzer runs.
fn engine() -> &'static (Auth, String) {
    static ENGINE: OnceLock<(Auth, String)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let auth = Auth::open_with(config(&ManualClock::new())).expect("open");
        let password = "correct horse battery staple";
        auth.register(NewUser::new("alice", password)).expect("register");
        let login = auth.login("alice", password, &ClientInfo::default()).expect("login");
        (auth, login.access_token)
    })
}

fuzz_target!(|data: &[u8]| {
    let (auth, genuine) = engine();
    let token = candidate(data, &[genuine]);
    let is_genuine = token == *genuine;
    // Anything else is a forgery or garbage: InvalidToken, never another kind of error.
    let expected = if is_genuine { Ok(()) } else { Err(ErrorKind::InvalidToken) };

    let stateful = auth.validate(&token).map(drop).map_err(|e| e.kind());
    assert_eq!(stateful, expected, "validate {token:?}");
    let stateless = auth.validate_stateless(&token).map(drop).map_err(|e| e.kind());
    assert_eq!(stateless, expected, "validate_stateless {token:?}");
    let header_ok = fuzzing::access_token_header(&token);
    assert!(header_ok || !is_genuine, "the genuine token failed the header checks");
});
