//! API keys: arbitrary strings, and edits of a real key, into `validate_api_key` and
//! `issue_service_token`. Only the exact key may validate; anything else is
//! `InvalidToken`, never another kind of error and never a panic.
#![no_main]

use std::sync::OnceLock;

use authlite::{ApiKeySpec, Auth, ErrorKind, ManualClock};
use authlite_fuzz::{candidate, config};
use libfuzzer_sys::fuzz_target;

/// An engine with a service account and one of its keys.
fn engine() -> &'static (Auth, String) {
    static ENGINE: OnceLock<(Auth, String)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let auth = Auth::open_with(config(&ManualClock::new())).expect("open");
        let svc = auth.create_service_account("billing").expect("service account");
        let key = auth.create_api_key(svc.id, ApiKeySpec::new("k")).expect("key");
        (auth, key.secret)
    })
}

fuzz_target!(|data: &[u8]| {
    let (auth, genuine) = engine();
    let key = candidate(data, &[genuine]);
    let expected = if key == *genuine { Ok(()) } else { Err(ErrorKind::InvalidToken) };
    let result = auth.validate_api_key(&key).map(drop).map_err(|e| e.kind());
    assert_eq!(result, expected, "validate_api_key {key:?}");
    if expected.is_err() {
        let minted = auth.issue_service_token(&key).map(drop).map_err(|e| e.kind());
        assert_eq!(minted, expected, "issue_service_token {key:?}");
    }
});
