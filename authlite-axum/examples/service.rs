//! A complete small service on authlite-axum: register, login (the refresh token in an
//! `HttpOnly; Secure; SameSite=Strict` `__Host-` cookie), refresh by the cookie (same-origin
//! requests only), logout, `/me`, an admin-only route, passkeys: the four ceremonies
//! (`authlite_axum::passkey_routes` under `/passkeys`) and a page at `/` that registers and
//! signs in with one (plain HTML and a little JavaScript, no build step), and "Sign in with
//! <provider>" (`authlite_axum::oidc_routes` under `/auth/oidc`) for the OpenID provider in
//! `AUTHLITE_OIDC_ISSUER` / `_CLIENT_ID` / `_CLIENT_SECRET` / `_NAME` (see
//! [`provider_from_env`]; register `<origin>/auth/oidc/<name>/callback` there).
//!
//! Cookies are `Secure`: serve it behind TLS (a TLS-terminating proxy is the usual setup).
//! On a developer's machine over plain HTTP, pass `--insecure-dev-http` as the third
//! argument; the page is then at `http://localhost:<port>/` (passkeys are bound to the
//! origin: pass `--origin https://auth.example.com` in production).
//!
//! ```sh
//! cargo run --release -p authlite-axum --example service -- 127.0.0.1:3000 service.db --insecure-dev-http
//! curl -s localhost:3000/register -H 'content-type: application/json' \
//!      -d '{"username":"alice","password":"a long passphrase"}'
//! curl -si localhost:3000/login -H 'content-type: application/json' \
//!      -d '{"username":"alice","password":"a long passphrase"}'
//! curl -s localhost:3000/me -H "authorization: Bearer $ACCESS_TOKEN"
//! ```
//!
//! The integration tests (`tests/service.rs`) drive this very router over a real socket.

use std::net::SocketAddr;
use std::time::SystemTime;

use authlite::{
    Auth, Claims, Config, IdentityProvider, NewUser, Principal, RelyingParty, Session, User,
};
use authlite_axum::{
    ActiveOrganization, ApiError, Authenticated, Client, JsonBody, RefreshCookie, bearer, blocking,
    oidc_routes, passkey_routes, require_org_permission, require_role, signed_in,
};
use axum::extract::{FromRef, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// The router's state: the engine, and the refresh cookie (`Secure` unless the service was
/// told it is plain-HTTP development).
#[derive(Clone)]
pub struct AppState {
    pub auth: Auth,
    pub cookie: RefreshCookie,
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Auth {
        state.auth.clone()
    }
}

impl FromRef<AppState> for RefreshCookie {
    fn from_ref(state: &AppState) -> RefreshCookie {
        state.cookie
    }
}

/// The relying party of a service whose pages are at `origin` (`http://localhost:3000`):
/// passkeys registered there work only there.
pub fn relying_party(origin: &str) -> Result<RelyingParty, String> {
    let host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
    let host = host.split(['/', ':']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{origin:?} is not an origin"));
    }
    Ok(RelyingParty::new(host, "authlite example", [origin]))
}

/// "Sign in with <provider>": the provider in `AUTHLITE_OIDC_ISSUER`,
/// `AUTHLITE_OIDC_CLIENT_ID` and `AUTHLITE_OIDC_CLIENT_SECRET` (optional), named
/// `AUTHLITE_OIDC_NAME` (default `provider`), its callback under `origin`. None without an
/// issuer.
pub fn provider_from_env(origin: &str) -> Option<IdentityProvider> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let issuer = var("AUTHLITE_OIDC_ISSUER")?;
    let name = var("AUTHLITE_OIDC_NAME").unwrap_or_else(|| "provider".into());
    let client_id = var("AUTHLITE_OIDC_CLIENT_ID").unwrap_or_default();
    let redirect = format!("{origin}/auth/oidc/{name}/callback");
    Some(IdentityProvider {
        client_secret: var("AUTHLITE_OIDC_CLIENT_SECRET"),
        ..IdentityProvider::new(name, issuer, client_id, redirect)
    })
}

/// The service's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/me/stateless", get(me_stateless))
        .route("/me/session", get(my_session))
        .route("/admin", get(admin))
        .route("/org/switch", post(switch_org))
        .route("/org/invoices", get(org_invoices))
        .nest("/passkeys", passkey_routes())
        .nest("/auth/oidc", oidc_routes("/"))
        .with_state(state)
}

#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
}

/// What a login or refresh answers (the refresh token travels only in the cookie).
pub use authlite_axum::SignedIn as Tokens;

fn millis(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

async fn register(
    State(auth): State<Auth>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = blocking(&auth, move |auth| {
        let mut new = NewUser::new(body.username, body.password);
        if let Some(email) = body.email {
            new = new.email(email);
        }
        auth.register(new)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let login =
        blocking(&state.auth, move |auth| auth.login(&body.username, &body.password, &client))
            .await?;
    Ok(signed_in(&state.cookie, login))
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let token = state.cookie.read(&headers)?.ok_or(ApiError::MissingCredentials)?.to_owned();
    let pair = blocking(&state.auth, move |auth| auth.refresh(&token)).await?;
    let cookie = state.cookie.set(&pair.refresh_token, pair.refresh_expires_at);
    let tokens = Tokens {
        access_token: pair.access_token,
        access_expires_at: millis(pair.access_expires_at),
    };
    Ok((AppendHeaders([(SET_COOKIE, cookie)]), Json(tokens)))
}

/// Ends the session of the refresh cookie (or, without one, of the bearer access token).
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = state.cookie.read(&headers)?.map(str::to_owned) {
        blocking(&state.auth, move |auth| auth.logout_with_refresh_token(&token)).await?;
    } else {
        let token = bearer(&headers)?.ok_or(ApiError::MissingCredentials)?.to_owned();
        blocking(&state.auth, move |auth| auth.logout(&token)).await?;
    }
    Ok((StatusCode::NO_CONTENT, AppendHeaders([(SET_COOKIE, state.cookie.clear())])))
}

async fn me(Authenticated(who): Authenticated) -> Json<Principal> {
    Json(who)
}

/// The caller's session, with how it signed in (`method`: `password`, `passkey`, ...).
async fn my_session(
    State(auth): State<Auth>,
    Authenticated(who): Authenticated,
) -> Result<Json<Session>, ApiError> {
    let id = who.session_id.ok_or(ApiError::MissingCredentials)?;
    Ok(Json(blocking(&auth, move |auth| auth.session(id)).await?))
}

/// The passkey page.
async fn page() -> Html<&'static str> {
    Html(include_str!("passkeys.html"))
}

/// The same answer from the signature alone (revocation NOT seen): for comparison only.
async fn me_stateless(
    State(auth): State<Auth>,
    headers: HeaderMap,
) -> Result<Json<Claims>, ApiError> {
    let token = bearer(&headers)?.ok_or(ApiError::MissingCredentials)?;
    Ok(Json(auth.validate_stateless(token)?))
}

async fn admin(
    State(auth): State<Auth>,
    Authenticated(who): Authenticated,
) -> Result<&'static str, ApiError> {
    require_role(&auth, &who, "admin").await?;
    Ok("hello, admin")
}

#[derive(Deserialize)]
struct Switch {
    /// The organization's slug; `null` for none.
    slug: Option<String>,
}

/// Makes an organization the caller's session's active one (the same access token then
/// carries it on every later request).
async fn switch_org(
    State(auth): State<Auth>,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<Switch>,
) -> Result<StatusCode, ApiError> {
    blocking(&auth, move |auth| {
        let org = body.slug.map(|slug| auth.organization_by_slug(&slug)).transpose()?;
        auth.switch_organization(&who, org.map(|o| o.id))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Only for a member of the active organization whose roles there (or globally) allow
/// reading invoices.
async fn org_invoices(
    State(auth): State<Auth>,
    org: ActiveOrganization,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_org_permission(&auth, &org.who, "invoices", "read").await?;
    Ok(Json(serde_json::json!({ "organization": org.id, "invoices": [] })))
}

#[allow(dead_code)] // the tests include this file for `app` only
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().unwrap_or_else(|| "127.0.0.1:3000".into()).parse()?;
    let db = args.next().unwrap_or_else(|| "service.db".into());
    let mut cookie = RefreshCookie::default();
    let mut origin = format!("http://localhost:{}", addr.port());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--insecure-dev-http" => cookie = RefreshCookie::insecure_dev_http(),
            "--origin" => origin = args.next().ok_or("--origin needs a URL")?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let rp = relying_party(&origin)?;
    let identity_providers = provider_from_env(&origin).into_iter().collect();
    let config = Config { relying_party: Some(rp), identity_providers, ..Config::new(db) };
    let auth = Auth::open_with(config)?;
    auth.declare_role("admin", &[("*", "*")])?;
    let state = AppState { auth, cookie };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{addr}");
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}
