//! # authlite-axum
//!
//! The axum integration of [`authlite`]:
//!
//! - [`Authenticated`]: an extractor giving a handler the caller's [`Principal`] from
//!   `Authorization: Bearer <credential>`: a session's access token, a service token or an
//!   API key (`alk_…`), validated statefully.
//! - [`ApiError`]: every engine error as a response: the status of
//!   [`ErrorKind::http_status`], a small JSON body `{"error", "message", "retry_after"?,
//!   "mfa_challenge"?}`, an RFC 6750 `WWW-Authenticate` header on 401 and 403, and
//!   `Retry-After` on 429.
//! - Guards [`require_role`] and [`require_permission`], and [`blocking`] to run engine calls
//!   that hash passwords (login, register, password changes: ~60 ms of PBKDF2) or may wait
//!   for another process's write lock on tokio's blocking pool instead of an executor thread.
//! - [`Client`] (the `ClientInfo` of a request) and [`refresh_cookie`] / [`cookie_value`] for
//!   an HttpOnly `SameSite=Strict` refresh-token cookie.
//!
//! The engine is taken from the router's state through `FromRef`, so the state can be the
//! [`Auth`] itself or any struct holding one. `authlite-axum/examples/service.rs` is a
//! complete service (register, login, refresh cookie, logout, `/me`, an admin route).
//!
//! ```
//! use authlite::{Auth, Config};
//! use authlite_axum::{ApiError, Authenticated, require_role};
//! use axum::{Json, Router, extract::State, routing::get};
//!
//! async fn me(Authenticated(who): Authenticated) -> Json<authlite::Principal> {
//!     Json(who)
//! }
//!
//! async fn admin(State(auth): State<Auth>, Authenticated(who): Authenticated) -> Result<&'static str, ApiError> {
//!     require_role(&auth, &who, "admin").await?;
//!     Ok("welcome")
//! }
//!
//! # fn main() -> authlite::Result<()> {
//! let auth = Auth::open_with(Config { pbkdf2_iterations: 1_000, ..Config::in_memory() })?;
//! let app: Router = Router::new().route("/me", get(me)).route("/admin", get(admin)).with_state(auth);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

pub use authlite;
use authlite::{Auth, ClientInfo, Error, ErrorKind, Principal};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, USER_AGENT, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "authlite";
/// The prefix that tells an API key from a JWT in `Authorization: Bearer`.
const API_KEY_PREFIX: &str = "alk_";

/// The authenticated caller of a request: extract it to require a valid credential.
/// A missing or bad credential is answered with [`ApiError`] before the handler runs.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<S> FromRequestParts<S> for Authenticated
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let auth = Auth::from_ref(state);
        let credential = bearer(&parts.headers).ok_or(ApiError::MissingCredentials)?;
        let who = if credential.starts_with(API_KEY_PREFIX) {
            // An API key may record its last use (a write, at most hourly): off the executor.
            let key = credential.to_owned();
            blocking(&auth, move |auth| auth.validate_api_key(&key)).await?
        } else {
            // A token is one signature check and an in-memory cache hit, or one indexed read:
            // microseconds, so it runs inline.
            auth.validate(credential)?
        };
        Ok(Authenticated(who))
    }
}

/// The credential of `Authorization: Bearer <credential>` (scheme case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

/// The client address and user agent of a request, for `login` and the audit trail. The
/// address is the socket's peer when the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()`; behind a proxy, build the
/// [`ClientInfo`] from the header your proxy sets instead.
#[derive(Debug, Clone, Default)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let user_agent =
            parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(ClientInfo { ip, user_agent }))
    }
}

/// Runs a blocking engine call (PBKDF2 in `login`/`register`, or any call that may wait
/// for a write lock) on tokio's blocking pool. Requires a tokio runtime.
pub async fn blocking<T, F>(auth: &Auth, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Auth) -> authlite::Result<T> + Send + 'static,
{
    let auth = auth.clone();
    match tokio::task::spawn_blocking(move || call(&auth)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(_) => Err(ApiError::from(Error::new(ErrorKind::Internal, "the engine call panicked"))),
    }
}

/// `Ok` if the caller's account has `role` (read from the database now); otherwise
/// `403` with `WWW-Authenticate: Bearer error="insufficient_scope"` (and the denial is
/// audited).
pub async fn require_role(auth: &Auth, who: &Principal, role: &str) -> Result<(), ApiError> {
    let (who, role) = (who.clone(), role.to_owned());
    blocking(auth, move |auth| auth.require_role(&who, &role)).await
}

/// `Ok` if the caller may do `action` on `resource`: a role grant, and a matching scope for
/// a scoped API key or service token. Otherwise `403`, audited.
pub async fn require_permission(
    auth: &Auth,
    who: &Principal,
    resource: &str,
    action: &str,
) -> Result<(), ApiError> {
    let (who, resource, action) = (who.clone(), resource.to_owned(), action.to_owned());
    blocking(auth, move |auth| auth.authorize(&who, &resource, &action)).await
}

/// A `Set-Cookie` value holding a refresh token: `HttpOnly; SameSite=Strict; Path=<path>`,
/// `Secure` unless `secure` is false (plain-HTTP development only), expiring at `expires`
/// (the token's own end: `TokenPair::refresh_expires_at`). `None` as token clears the
/// cookie.
pub fn refresh_cookie(
    name: &str,
    token: Option<&str>,
    expires: SystemTime,
    path: &str,
    secure: bool,
) -> HeaderValue {
    let max_age = match token {
        Some(_) => expires.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO).as_secs(),
        None => 0,
    };
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{name}={}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}{secure}",
        token.unwrap_or("")
    );
    // Tokens are base64url and dots, names and paths are the caller's constants.
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// An error answered over HTTP: an engine error, or a request without credentials.
#[derive(Debug)]
pub enum ApiError {
    /// No `Authorization: Bearer` credential.
    MissingCredentials,
    /// What the engine refused.
    Engine(Error),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Engine(e)
    }
}

/// The JSON body of an error response.
#[derive(Debug, Serialize)]
struct Body<'a> {
    /// [`ErrorKind::as_str`], or `"missing_credentials"`.
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_challenge: Option<&'a str>,
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Engine(e) => StatusCode::from_u16(e.kind().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message, retry_after, challenge) = match &self {
            ApiError::MissingCredentials => (
                "missing_credentials",
                "an Authorization: Bearer credential is required".to_owned(),
                None,
                None,
            ),
            ApiError::Engine(e) => {
                // Server-side failures say no more than their kind.
                let message =
                    if status.is_server_error() { e.kind().to_string() } else { e.to_string() };
                let wait = e.retry_after().map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
                (e.kind().as_str(), message, wait, e.mfa_challenge())
            }
        };
        let body = Body { error: code, message, retry_after, mfa_challenge: challenge };
        let mut response = (status, axum::Json(&body)).into_response();
        let headers = response.headers_mut();
        // RFC 6750 §3: no error code when the request had no credential; invalid_token for a
        // bad one; insufficient_scope for a valid one lacking permission.
        let challenge = match (&self, status) {
            (ApiError::MissingCredentials, _) => Some(format!("Bearer realm=\"{REALM}\"")),
            (_, StatusCode::UNAUTHORIZED) => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{code}\""
            )),
            (_, StatusCode::FORBIDDEN) => {
                Some(format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\""))
            }
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_cookies_parse_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  tok.en "));
        assert_eq!(bearer(&headers), Some("tok.en"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
        headers.insert(COOKIE, HeaderValue::from_static("a=1; rt=xyz.abc; b=2"));
        assert_eq!(cookie_value(&headers, "rt"), Some("xyz.abc"));
        assert_eq!(cookie_value(&headers, "r"), None);
    }

    #[test]
    fn refresh_cookies_are_http_only_and_strict() {
        let later = SystemTime::now() + Duration::from_secs(3600);
        let set = refresh_cookie("rt", Some("abc.def"), later, "/auth", true);
        let set = set.to_str().unwrap();
        for part in ["rt=abc.def", "HttpOnly", "SameSite=Strict", "Path=/auth", "Secure"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(set.contains("Max-Age=3599") || set.contains("Max-Age=3600"), "{set}");
        let cleared = refresh_cookie("rt", None, later, "/", false);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }
}
