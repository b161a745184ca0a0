//! The test side of `provider.mjs`, shared by the library's and authlite-axum's tests
//! (included with `#[path]`): start the real provider, and play a browser at it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The provider's one client.
pub const CLIENT_ID: &str = "authlite-test";
pub const CLIENT_SECRET: &str = "authlite-test-secret";

/// The provider's test accounts: (login, email, email_verified); each login is also its
/// `sub` and `preferred_username`.
pub const ACCOUNTS: &[(&str, &str, bool)] = &[
    ("alice", "alice@example.com", true),
    ("bob", "bob@example.com", true),
    ("carol", "carol@example.com", false),
    ("dave", "dave@example.com", true),
];

/// The provider process; killed when dropped.
pub struct OpenIdProvider {
    child: Child,
    port: u16,
}

impl OpenIdProvider {
    /// A provider on a free port whose client redirects to `redirect_uri`.
    pub fn start(redirect_uri: &str) -> OpenIdProvider {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        OpenIdProvider::on(port, "key-1", redirect_uri)
    }

    /// The provider on `port`, signing with a new RSA key named `kid`.
    pub fn on(port: u16, kid: &str, redirect_uri: &str) -> OpenIdProvider {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../authlite/tests/oidc-provider");
        let accounts: BTreeMap<&str, serde_json::Value> = ACCOUNTS
            .iter()
            .map(|&(login, email, verified)| {
                let claims = serde_json::json!({
                    "email": email,
                    "email_verified": verified,
                    "preferred_username": login,
                });
                (login, claims)
            })
            .collect();
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("KID", kid)
            .env("REDIRECT_URI", redirect_uri)
            .env("ACCOUNTS", serde_json::to_string(&accounts).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the provider");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the provider started");
        OpenIdProvider { child, port }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the provider; its port, for starting another on it.
    pub fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser at the provider: from `authorize_url`, signed in as `login` (the provider's
/// login page takes it from `login_hint`), following redirects and keeping the provider's
/// cookies, until it is sent to `redirect_uri`; that URL, with its query.
pub fn browse(authorize_url: &str, login: &str, redirect_uri: &str) -> url::Url {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let start = url::Url::parse(authorize_url).unwrap();
    let mut next = format!("{authorize_url}&login_hint={login}");
    for _ in 0..10 {
        let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = match agent.get(&next).set("cookie", &jar.join("; ")).call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(e) => panic!("{next}: {e}"),
        };
        for set in response.all("set-cookie") {
            let pair = set.split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.trim().to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let Some(location) = response.header("location").map(str::to_owned) else {
            panic!("{next}: {status} without a redirect: {}", response.into_string().unwrap());
        };
        let location = start.join(&location).unwrap();
        if location.as_str().starts_with(redirect_uri) {
            return location;
        }
        next = location.to_string();
    }
    panic!("the provider never sent the browser back");
}
