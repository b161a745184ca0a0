//! Refresh tokens: arbitrary strings, and edits of the live session's current token or of
//! the last spent one, into the parser and `Auth::refresh`. Only the exact current token
//! may be redeemed; a wrong guess must not harm the session; a spent token is reuse.
#![no_main]

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use authlite::{Auth, ClientInfo, ErrorKind, ManualClock, NewUser, fuzzing};
use authlite_fuzz::{candidate, config};
use libfuzzer_sys::fuzz_target;

const PASSWORD: &str = "correct horse battery staple";

/// The engine and the tokens the fuzzer plays with.
struct State {
    auth: Auth,
    /// The live session's tokens.
    access: String,
    refresh: String,
    /// Refresh tokens redeemed in the live session, in sessions ended before, and the latest.
    spent_live: HashSet<String>,
    spent_ended: HashSet<String>,
    last_spent: Option<String>,
}

impl State {
    /// Starts a new session, replacing the current one.
    fn login(&mut self) {
        let login = self.auth.login("alice", PASSWORD, &ClientInfo::default()).expect("login");
        self.access = login.access_token;
        self.refresh = login.refresh_token;
        let ended = std::mem::take(&mut self.spent_live);
        self.spent_ended.extend(ended);
    }
}

/// The clock never moves, so sessions never expire however long the fuzzer runs.
fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        let auth = Auth::open_with(config(&ManualClock::new())).expect("open");
        auth.register(NewUser::new("alice", PASSWORD)).expect("register");
        let mut state = State {
            auth,
            access: String::new(),
            refresh: String::new(),
            spent_live: HashSet::new(),
            spent_ended: HashSet::new(),
            last_spent: None,
        };
        state.login();
        Mutex::new(state)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut state = state().lock().unwrap();
    let token = {
        let mut real = vec![state.refresh.as_str()];
        real.extend(state.last_spent.as_deref());
        candidate(data, &real)
    };
    let well_formed = fuzzing::refresh_token(&token);

    match state.auth.refresh(&token) {
        Ok(pair) => {
            assert_eq!(token, state.refresh, "redeemed a token that is not the current one");
            assert!(well_formed);
            state.spent_live.insert(token.clone());
            state.last_spent = Some(token);
            state.access = pair.access_token;
            state.refresh = pair.refresh_token;
        }
        Err(e) if state.spent_live.contains(&token) => {
            // Reuse: the whole session is revoked, its current tokens too.
            assert_eq!(e.kind(), ErrorKind::TokenReused, "{e}");
            let current = state.auth.refresh(&state.refresh).map(drop).unwrap_err();
            assert_eq!(current.kind(), ErrorKind::RevokedToken, "{current}");
            let access = state.auth.validate(&state.access).unwrap_err();
            assert_eq!(access.kind(), ErrorKind::RevokedToken, "{access}");
            state.login();
        }
        Err(e) if state.spent_ended.contains(&token) => {
            // Reuse of an ended session's token: reported, but the live session is another.
            assert_eq!(e.kind(), ErrorKind::TokenReused, "{e}");
            state.auth.validate(&state.access).expect("the live session survived");
        }
        Err(e) => {
            assert_ne!(token, state.refresh, "the current token was refused: {e}");
            assert_eq!(e.kind(), ErrorKind::InvalidToken, "{e} for {token:?}");
            // A wrong guess, even with the right selector, leaves the session alive.
            state.auth.validate(&state.access).expect("session survived a bad guess");
        }
    }
});
