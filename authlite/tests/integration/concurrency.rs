//! Several threads and several engines on one file: no lost writes, no busy errors, and a
//! revocation is never missed once `revoke_*` has returned.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::*;
use authlite::{ClientInfo, ErrorKind, NewUser};

fn threads_on_several_engines_register_login_refresh_and_logout_without_errors(b: Backend) {
    let env = Env::on(b);
    let engines: Vec<_> = (0..3).map(|_| env.open()).collect();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let auth = engines[t % engines.len()].clone();
            let checker = engines[(t + 1) % engines.len()].clone();
            std::thread::spawn(move || {
                for i in 0..8 {
                    let name = format!("user-{t}-{i}");
                    auth.register(NewUser::new(&name, PASSWORD)).unwrap();
                    let login = auth.login(&name, PASSWORD, &ClientInfo::default()).unwrap();
                    checker.validate(&login.access_token).unwrap();
                    let pair = auth.refresh(&login.refresh_token).unwrap();
                    checker.validate(&pair.access_token).unwrap();
                    checker.logout(&pair.access_token).unwrap();
                    assert_eq!(
                        auth.validate(&pair.access_token).unwrap_err().kind(),
                        ErrorKind::RevokedToken
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(env.int("SELECT count(*) FROM users"), 48);
}

fn a_revoked_session_never_validates_after_revoke_returned(b: Backend) {
    let env = Env::on(b);
    let revoker = env.open();
    let readers: Vec<_> = (0..2).map(|_| env.open()).collect();
    user(&revoker, "alice");
    for round in 0..10 {
        let login = login(&revoker, "alice");
        let revoked = Arc::new(AtomicBool::new(false));
        let validators: Vec<_> = (0..4)
            .map(|t| {
                let auth = readers[t % readers.len()].clone();
                let (token, revoked) = (login.access_token.clone(), revoked.clone());
                std::thread::spawn(move || {
                    let mut checked_after = 0;
                    while checked_after < 50 {
                        let after = revoked.load(Ordering::SeqCst);
                        let result = auth.validate(&token);
                        if after {
                            assert_eq!(
                                result.unwrap_err().kind(),
                                ErrorKind::RevokedToken,
                                "round {round}: validated after revocation returned"
                            );
                            checked_after += 1;
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(2));
        revoker.revoke_session(login.session.id).unwrap();
        revoked.store(true, Ordering::SeqCst);
        for v in validators {
            v.join().unwrap();
        }
    }
}

backend_tests!(
    threads_on_several_engines_register_login_refresh_and_logout_without_errors,
    a_revoked_session_never_validates_after_revoke_returned,
);
