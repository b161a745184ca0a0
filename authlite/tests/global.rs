//! The process-wide engine (its own test binary: the global can be set once per process).

use authlite::{Auth, ErrorKind};

#[test]
fn the_global_engine_is_set_once_and_shared() {
    assert!(authlite::global().is_none());
    let auth = Auth::open_in_memory().unwrap();
    authlite::init_global(auth.clone()).unwrap();
    let again = Auth::open_in_memory().unwrap();
    assert_eq!(authlite::init_global(again).unwrap_err().kind(), ErrorKind::Conflict);
    let global: &'static Auth = authlite::global().expect("initialised");
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let auth = authlite::global().unwrap();
                auth.register(authlite::NewUser::new(format!("user{i}"), "a long passphrase"))
                    .unwrap()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(global.find_user("user3").unwrap().username, "user3");
    assert_eq!(auth.find_user("user0").unwrap().username, "user0", "same engine as the clone");
}
