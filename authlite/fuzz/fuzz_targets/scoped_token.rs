//! Scoped capability tokens: arbitrary strings, and edits of a real token, into
//! `verify_scoped`. Only the exact token issued may verify, and only for its own scope;
//! anything else is `InvalidToken`, never another kind of error and never a panic.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use authlite::{Auth, ErrorKind, ManualClock};
use authlite_fuzz::{candidate, config};
use libfuzzer_sys::fuzz_target;

/// An engine and one token for table 42. The clock never moves: the token stays valid.
fn engine() -> &'static (Auth, String) {
    static ENGINE: OnceLock<(Auth, String)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let auth = Auth::open_with(config(&ManualClock::new())).expect("open");
        let token = auth.issue_scoped("table", "42", Duration::from_secs(3600)).expect("issue");
        (auth, token)
    })
}

fuzz_target!(|data: &[u8]| {
    let (auth, genuine) = engine();
    let token = candidate(data, &[genuine]);
    let expected = if token == *genuine { Ok(()) } else { Err(ErrorKind::InvalidToken) };
    let result = auth.verify_scoped(&token, "table").map(drop).map_err(|e| e.kind());
    assert_eq!(result, expected, "verify_scoped {token:?}");
    let other = auth.verify_scoped(&token, "room").map(drop).map_err(|e| e.kind());
    assert_eq!(other, Err(ErrorKind::InvalidToken), "another scope {token:?}");
});
