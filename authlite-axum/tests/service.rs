//! The example service (`examples/service.rs`) on a real loopback socket, driven by a real
//! HTTP client: every rejection of the extractor, the refresh cookie, logout, the guarded
//! route, lockout.

#[path = "../examples/service.rs"]
#[allow(dead_code)]
mod service;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use authlite::{ApiKeySpec, Auth, Config, ManualClock};
use authlite_axum::RefreshCookie;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use service::{AppState, Tokens, app};

const PASSWORD: &str = "correct horse battery staple";

struct Server {
    base: String,
    auth: Auth,
    clock: ManualClock,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The example's router on a real socket, over a fresh database: a file in a temp dir, or a
/// schema of its own in the PostgreSQL database at `AUTHLITE_TEST_POSTGRES_URL`. The engine
/// is opened inside the async runtime, as the example's `main` does.
async fn start(backend: Backend) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let path = match backend {
        Backend::Sqlite => dir.path().join("service.db").display().to_string(),
        Backend::Postgres => postgres_schema().await,
    };
    let config =
        Config { pbkdf2_iterations: 1_000, clock: Arc::new(clock.clone()), ..Config::new(path) };
    let auth = Auth::open_with(config).unwrap();
    auth.declare_role("admin", &[("*", "*")]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState { auth: auth.clone(), cookie: RefreshCookie::default() };
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    Server { base: format!("http://{addr}"), auth, clock, http: reqwest::Client::new(), _dir: dir }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn register(&self, name: &str) {
        let body = json!({ "username": name, "password": PASSWORD });
        let res = self.http.post(self.url("/register")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    /// Logs in: the access token and the refresh cookie (`name=value`).
    async fn login(&self, name: &str, password: &str) -> reqwest::Response {
        let body = json!({ "username": name, "password": password });
        self.http.post(self.url("/login")).json(&body).send().await.unwrap()
    }

    async fn get(&self, path: &str, bearer: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(self.url(path));
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        req.send().await.unwrap()
    }
}

/// The `name=value` of the refresh cookie a response sets, with its attributes checked.
fn refresh_cookie(res: &reqwest::Response) -> String {
    let set = res.headers().get(SET_COOKIE).expect("a cookie").to_str().unwrap().to_owned();
    assert!(set.starts_with("__Host-authlite-refresh="), "{set}");
    for part in ["; HttpOnly", "; SameSite=Strict", "; Secure", "; Path=/;"] {
        assert!(set.contains(part), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

async fn error_of(res: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let status = res.status();
    let challenge = res.headers().get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, res.json().await.unwrap())
}

async fn register_login_me_refresh_logout_over_a_real_socket(b: Backend) {
    let s = start(b).await;
    s.register("alice").await;
    let res = s.login("alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = refresh_cookie(&res);
    assert!(cookie.starts_with(RefreshCookie::default().name()));
    let tokens: Tokens = res.json().await.unwrap();

    let me: Value = s.get("/me", Some(&tokens.access_token)).await.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["kind"], "person");

    let res = s.http.post(s.url("/refresh")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let next_cookie = refresh_cookie(&res);
    let next: Tokens = res.json().await.unwrap();
    assert_eq!(s.get("/me", Some(&next.access_token)).await.status(), StatusCode::OK);
    // The old cookie is spent: presenting it again is reuse, and ends the session.
    let res = s.http.post(s.url("/refresh")).header(COOKIE, &cookie).send().await.unwrap();
    let (status, _, body) = error_of(res).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_reused")));
    let (status, challenge, body) = error_of(s.get("/me", Some(&next.access_token)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "revoked_token");
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));

    // Logout by the cookie alone: its access token is dead at once.
    let res = s.login("alice", PASSWORD).await;
    let cookie = refresh_cookie(&res);
    let tokens: Tokens = res.json().await.unwrap();
    let res = s.http.post(s.url("/logout")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"), "cleared");
    assert_eq!(s.get("/me", Some(&tokens.access_token)).await.status(), StatusCode::UNAUTHORIZED);
    let res = s.http.post(s.url("/refresh")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let _ = next_cookie;
}

async fn every_rejection_of_the_extractor(b: Backend) {
    let s = start(b).await;
    s.register("alice").await;
    let tokens: Tokens = s.login("alice", PASSWORD).await.json().await.unwrap();

    // No credential: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    let (status, challenge, body) = error_of(s.get("/me", None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"authlite\""));
    assert_eq!(body["error"], "missing_credentials");
    let res =
        s.http.get(s.url("/me")).header(AUTHORIZATION, "Basic YWxpY2U6eA==").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "another scheme is no credential");

    // Garbage, a tampered token, an unknown API key: invalid_token.
    let mut tampered = tokens.access_token.clone();
    tampered.pop();
    for bad in ["garbage", tampered.as_str(), "alk_AAAA.BBBB.00000000"] {
        let (status, challenge, body) = error_of(s.get("/me", Some(bad)).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert!(challenge.unwrap().contains("error=\"invalid_token\""));
        assert_eq!(body["error"], "invalid_token");
    }

    // Expired.
    s.clock.advance(Duration::from_secs(16 * 60));
    let (status, _, body) = error_of(s.get("/me", Some(&tokens.access_token)).await).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("expired_token")));

    // Two Authorization headers: 400 invalid_request, whichever is good.
    let fresh: Tokens = s.login("alice", PASSWORD).await.json().await.unwrap();
    let bearer = format!("Bearer {}", fresh.access_token);
    for second in ["Bearer garbage", bearer.as_str()] {
        let res = s
            .http
            .get(s.url("/me"))
            .header(AUTHORIZATION, &bearer)
            .header(AUTHORIZATION, second)
            .send()
            .await
            .unwrap();
        let (status, challenge, body) = error_of(res).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");
        assert!(challenge.unwrap().contains("error=\"invalid_request\""));
    }

    // A deactivated account's token is no longer valid: 401 invalid_token (not 403).
    let alice = s.auth.find_user("alice").unwrap();
    s.auth.deactivate_user(alice.id).unwrap();
    let (status, challenge, body) = error_of(s.get("/me", Some(&fresh.access_token)).await).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("inactive_user")));
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
}

async fn the_refresh_cookie_refuses_duplicates_and_cross_site_requests(b: Backend) {
    let s = start(b).await;
    s.register("erin").await;
    let cookie = refresh_cookie(&s.login("erin", PASSWORD).await);
    let host = s.base.trim_start_matches("http://").to_owned();

    // A second cookie of the same name (planted by a sibling) is refused, not guessed at.
    let planted = format!("{cookie}; __Host-authlite-refresh=AAAA.BBBB");
    let res = s.http.post(s.url("/refresh")).header(COOKIE, planted).send().await.unwrap();
    let (status, _, body) = error_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // Cross-site: refused before the token is touched.
    for (name, value) in [
        ("sec-fetch-site", "cross-site".to_owned()),
        ("sec-fetch-site", "same-site".to_owned()),
        ("origin", "https://evil.example".to_owned()),
    ] {
        let res = s
            .http
            .post(s.url("/refresh"))
            .header(COOKIE, &cookie)
            .header(name, value)
            .send()
            .await
            .unwrap();
        let (status, _, body) = error_of(res).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "cross_site_request");
    }
    // The same cookie from the page's own origin still works: the refusals spent nothing.
    let res = s
        .http
        .post(s.url("/refresh"))
        .header(COOKIE, &cookie)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn rejections_never_echo_the_input(b: Backend) {
    let s = start(b).await;
    for body in [
        json!({"username": "frank", "password": 31415926}),
        json!({"username": "frank", "password": ["31415926"]}),
        json!({"username": 31415926, "password": "31415926"}),
    ] {
        let res = s.http.post(s.url("/login")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = res.text().await.unwrap();
        assert!(!text.contains("31415926"), "{text}");
        assert!(text.contains("invalid_input"), "{text}");
    }
    let res = s.http.post(s.url("/login")).body("username=frank").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn the_admin_route_is_guarded_and_api_keys_work_as_bearer(b: Backend) {
    let s = start(b).await;
    s.register("bob").await;
    let tokens: Tokens = s.login("bob", PASSWORD).await.json().await.unwrap();
    let (status, challenge, body) =
        error_of(s.get("/admin", Some(&tokens.access_token)).await).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert!(challenge.unwrap().contains("error=\"insufficient_scope\""));
    let bob = s.auth.find_user("bob").unwrap();
    s.auth.assign_role(bob.id, "admin").unwrap();
    let res = s.get("/admin", Some(&tokens.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK, "roles are read now, not from the token");

    let svc = s.auth.create_service_account("billing").unwrap();
    let key = s.auth.create_api_key(svc.id, ApiKeySpec::new("k")).unwrap();
    let me: Value = s.get("/me", Some(&key.secret)).await.json().await.unwrap();
    assert_eq!(
        (me["kind"].as_str(), me["api_key_id"].as_i64()),
        (Some("service"), Some(key.info.id.get()))
    );
    let st = s.auth.issue_service_token(&key.secret).unwrap();
    assert_eq!(s.get("/me", Some(&st.access_token)).await.status(), StatusCode::OK);
    s.auth.revoke_api_key(key.info.id).unwrap();
    assert_eq!(s.get("/me", Some(&key.secret)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", Some(&st.access_token)).await.status(), StatusCode::UNAUTHORIZED);
}

async fn a_locked_account_answers_429_with_retry_after(b: Backend) {
    let s = start(b).await;
    s.register("carol").await;
    for _ in 0..10 {
        assert_eq!(s.login("carol", "wrong guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = s.login("carol", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "account_locked");
    assert_eq!(body["retry_after"].as_u64(), Some(retry));
    let res = s
        .http
        .post(s.url("/register"))
        .json(&json!({"username": "carol", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = s
        .http
        .post(s.url("/register"))
        .json(&json!({"username": "dave", "password": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_active_organization_reaches_handlers_and_guards_its_routes(b: Backend) {
    let s = start(b).await;
    s.register("ann").await;
    s.register("bob").await;
    let (ann, bob) = (s.auth.find_user("ann").unwrap(), s.auth.find_user("bob").unwrap());
    s.auth.declare_role("clerk", &[("invoices", "read")]).unwrap();
    let north = s.auth.create_organization("north", "North branch", ann.id).unwrap();
    s.auth.add_member(north.id, bob.id, &["clerk"]).unwrap();
    let tokens: Tokens = s.login("bob", PASSWORD).await.json().await.unwrap();
    let token = tokens.access_token.as_str();
    let switch = |slug: Value| {
        s.http
            .post(s.url("/org/switch"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .json(&json!({ "slug": slug }))
            .send()
    };

    let (status, _, body) = error_of(s.get("/org/invoices", Some(token)).await).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("no active organization"))
    );
    assert_eq!(switch(json!("north")).await.unwrap().status(), StatusCode::NO_CONTENT);
    let res = s.get("/org/invoices", Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["organization"].as_i64(), Some(north.id.get()));
    let me: Value = s.get("/me", Some(token)).await.json().await.unwrap();
    assert_eq!(me["organization_id"].as_i64(), Some(north.id.get()));

    // Another organization bob does not belong to; then bob's role there is taken away.
    s.auth.create_organization("east", "East branch", ann.id).unwrap();
    assert_eq!(switch(json!("east")).await.unwrap().status(), StatusCode::FORBIDDEN);
    s.auth.set_member_roles(north.id, bob.id, &[]).unwrap();
    assert_eq!(s.get("/org/invoices", Some(token)).await.status(), StatusCode::FORBIDDEN);
    s.auth.remove_member(north.id, bob.id).unwrap();
    let (status, _, body) = error_of(s.get("/org/invoices", Some(token)).await).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("no active organization"))
    );
    assert_eq!(switch(Value::Null).await.unwrap().status(), StatusCode::NO_CONTENT);
}

/// A fresh schema in the test database; its URL. (The CI drops the whole database.)
async fn postgres_schema() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = std::env::var("AUTHLITE_TEST_POSTGRES_URL").expect("the test database");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let schema = format!("svc_{}_{}_{n}", std::process::id(), nanos.subsec_nanos());
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// Each test once per backend: `sqlite::<name>` and `postgres::<name>`, the latter ignored
/// unless `AUTHLITE_TEST_POSTGRES_URL` was set at build time (never reported as passed).
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(authlite_pg_tests), ignore = "needs AUTHLITE_TEST_POSTGRES_URL")]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

both_backends!(
    register_login_me_refresh_logout_over_a_real_socket,
    every_rejection_of_the_extractor,
    the_refresh_cookie_refuses_duplicates_and_cross_site_requests,
    rejections_never_echo_the_input,
    the_admin_route_is_guarded_and_api_keys_work_as_bearer,
    a_locked_account_answers_429_with_retry_after,
    the_active_organization_reaches_handlers_and_guards_its_routes,
);

#[path = "../../authlite/tests/oidc-provider/harness.rs"]
#[allow(dead_code)]
mod harness;

/// "Sign in with <provider>" through the example service and a real OpenID provider
/// (`oidc-provider` on node): the login route sends the browser to the provider with the
/// flow cookie set; the provider's redirect to the callback, without that cookie, signs
/// nobody in; with it, the callback sets the refresh cookie and the session says how it
/// signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(authlite_oidc_tests),
    ignore = "needs node on PATH and `npm ci` in authlite/tests/oidc-provider"
)]
async fn sign_in_with_a_provider_through_the_example_service() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{base}/auth/oidc/test/callback");
    let uri = redirect.clone();
    let op =
        tokio::task::spawn_blocking(move || harness::OpenIdProvider::start(&uri)).await.unwrap();
    let provider = authlite::IdentityProvider {
        client_secret: Some(harness::CLIENT_SECRET.into()),
        ..authlite::IdentityProvider::new("test", op.issuer(), harness::CLIENT_ID, &redirect)
    };
    // The system clock: the provider signs with the real time.
    let config = Config {
        pbkdf2_iterations: 1_000,
        identity_providers: vec![provider],
        ..Config::new(dir.path().join("service.db"))
    };
    let auth = Auth::open_with(config).unwrap();
    let state = AppState { auth: auth.clone(), cookie: RefreshCookie::default() };
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let names: Vec<String> =
        http.get(format!("{base}/auth/oidc")).send().await.unwrap().json().await.unwrap();
    assert_eq!(names, ["test"]);
    let res = http.get(format!("{base}/auth/oidc/test/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_provider.starts_with(&op.issuer()), "{to_provider}");
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with("__Host-authlite-oidc=login."), "{set}");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
    let flow_cookie = set.split(';').next().unwrap().to_owned();

    let back =
        tokio::task::spawn_blocking(move || harness::browse(&to_provider, "alice", &redirect))
            .await
            .unwrap();
    // The callback in a browser without the flow cookie: back to the page with an error.
    let res = http.get(back.as_str()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/#error=invalid_token");
    // With it: signed in, the refresh cookie set, the flow cookie cleared.
    let res = http.get(back.as_str()).header(COOKIE, &flow_cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    let cookies: Vec<&str> =
        res.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("__Host-authlite-oidc=;")), "{cookies:?}");
    let refresh = cookies.iter().find(|c| c.starts_with("__Host-authlite-refresh=")).unwrap();
    assert!(refresh.contains("; HttpOnly") && refresh.contains("; Secure"), "{refresh}");
    let refresh = refresh.split(';').next().unwrap().to_owned();
    let res = http.post(format!("{base}/refresh")).header(COOKIE, &refresh).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let tokens: Tokens = res.json().await.unwrap();
    let res = http
        .get(format!("{base}/me/session"))
        .header(AUTHORIZATION, format!("Bearer {}", tokens.access_token))
        .send()
        .await
        .unwrap();
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["method"], json!({ "provider": "test" }), "{session}");
    // The same callback again: the flow is spent.
    let res = http.get(back.as_str()).header(COOKIE, &flow_cookie).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/#error=invalid_token");
}
