//! Passkeys in a real browser: headless Chromium with a virtual authenticator (DevTools
//! `WebAuthn.addVirtualAuthenticator`, resident key, user verification), driven by
//! `tests/browser/passkey.mjs` (puppeteer-core) through the example service's page over a
//! real socket: sign up, add a passkey, sign out, sign in with it, read the session.
//! Ignored (with the reason) unless build.rs found Chromium and the npm packages
//! (`npm ci` in `authlite-axum/tests/browser`).

#[path = "../examples/service.rs"]
#[allow(dead_code)]
mod service;

use std::net::SocketAddr;

use authlite::{Auth, Config, SignInMethod};
use authlite_axum::RefreshCookie;
use service::{AppState, app, relying_party};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(authlite_browser_tests),
    ignore = "needs Chromium on PATH (apt-get install chromium) and `npm ci` in authlite-axum/tests/browser"
)]
async fn a_browser_registers_a_passkey_signs_out_and_signs_in_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let config = Config {
        pbkdf2_iterations: 1_000,
        relying_party: Some(relying_party(&origin).unwrap()),
        ..Config::new(dir.path().join("service.db"))
    };
    let auth = Auth::open_with(config).unwrap();
    let state = AppState { auth: auth.clone(), cookie: RefreshCookie::insecure_dev_http() };
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });

    let chromium = option_env!("AUTHLITE_TEST_CHROMIUM").unwrap_or("chromium");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/passkey.mjs");
    let output = tokio::process::Command::new("node")
        .args([script, &format!("{origin}/"), chromium])
        .output()
        .await
        .expect("run node");
    let transcript = String::from_utf8_lossy(&output.stdout);
    println!("{transcript}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser run failed:\n{transcript}");

    // The page's last step read a session that signed in with the passkey.
    let last_session = transcript.lines().rfind(|l| l.starts_with("page: session")).unwrap();
    assert!(last_session.contains("\"method\":{\"passkey\""), "{last_session}");
    let alice = auth.find_user("alice").unwrap();
    let passkeys = auth.passkeys(alice.id).unwrap();
    assert_eq!(passkeys.len(), 1, "one passkey registered");
    assert!(
        passkeys[0].backup_eligible && passkeys[0].backed_up,
        "the flags as the authenticator set them"
    );
    assert!(passkeys[0].last_used_at.is_some());
    let sessions = auth.sessions(alice.id).unwrap();
    let by_passkey: Vec<_> =
        sessions.iter().filter(|s| s.method == SignInMethod::Passkey(passkeys[0].id)).collect();
    assert_eq!(by_passkey.len(), 1, "one live session signed in with it: {sessions:?}");
    assert!(transcript.contains("resident: true"), "a discoverable passkey");
}
