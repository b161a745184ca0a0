//! # authlite-axum
//!
//! The axum integration of [`authlite`]:
//!
//! - [`Authenticated`]: an extractor giving a handler the caller's [`Principal`] from
//!   `Authorization: Bearer <credential>`: a session's access token, a service token or an
//!   API key (`alk_…`), validated statefully. More than one `Authorization` header is
//!   `400 invalid_request` (RFC 6750 §3.1); a refused credential (bad, expired, revoked,
//!   its account deactivated) is `401 invalid_token`.
//! - [`ApiError`]: every engine error as a response: the status of
//!   [`ErrorKind::http_status`], a small JSON body `{"error", "message", "retry_after"?,
//!   "mfa_challenge"?, "mfa_factors"?}`, an RFC 6750 `WWW-Authenticate` header on 401 and 403, and
//!   `Retry-After` on 429.
//! - [`ActiveOrganization`]: the caller and their active organization (403 without one),
//!   and the guard [`require_org_permission`] for a permission in it.
//! - Guards [`require_role`] and [`require_permission`], and [`blocking`] to run engine calls
//!   that hash passwords (login, register, password changes: ~60 ms of PBKDF2) or may wait
//!   for another process's write lock on tokio's blocking pool instead of an executor thread.
//! - [`Client`] (the `ClientInfo` of a request), [`RefreshCookie`] for the refresh token in
//!   an `HttpOnly; Secure; SameSite=Strict` cookie named with the `__Host-` prefix (no
//!   sibling subdomain can set or shadow it; two of them are refused), read only by requests
//!   that pass [`same_origin`] (an `Origin` / `Sec-Fetch-Site` check against cross-site
//!   requests), and [`JsonBody`], a JSON extractor whose rejections never echo the input.
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

#[cfg(feature = "oidc")]
mod oidc;
#[cfg(feature = "passkeys")]
mod passkeys;
mod session;
#[cfg(feature = "oidc")]
pub use oidc::{LinkStarted, oidc_routes};
#[cfg(feature = "passkeys")]
pub use passkeys::{Finish, LoginStart, NewPasskey, Started, passkey_routes};
pub use session::{SignedIn, signed_in};

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

pub use authlite;
use authlite::{Auth, ClientInfo, CredentialKind, Error, ErrorKind, OrgId, Principal};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts};
use axum::http::header::{
    AUTHORIZATION, COOKIE, HOST, ORIGIN, RETRY_AFTER, USER_AGENT, WWW_AUTHENTICATE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "authlite";

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
        let credential = bearer(&parts.headers)?.ok_or(ApiError::MissingCredentials)?;
        let who = match CredentialKind::of(credential) {
            CredentialKind::ApiKey => {
                // An API key may record its last use (a write, at most hourly): off the
                // executor.
                let key = credential.to_owned();
                blocking(&auth, move |auth| auth.validate_api_key(&key)).await
            }
            // A cache hit is microseconds and runs inline; a miss reads the database (a
            // network round trip on PostgreSQL) on the blocking pool, so no executor thread
            // is ever held for longer than a hit.
            _ => match auth.validate_cached(credential) {
                Ok(Some(who)) => Ok(who),
                Ok(None) => {
                    let token = credential.to_owned();
                    blocking(&auth, move |auth| auth.validate(&token)).await
                }
                Err(e) => Err(ApiError::from(e)),
            },
        };
        who.map(Authenticated).map_err(ApiError::into_credential)
    }
}

/// The credential of `Authorization: Bearer <credential>` (scheme case-insensitive):
/// `Ok(None)` without one (or with another scheme), `Err` (400 `invalid_request`) when the
/// request carries more than one `Authorization` header: which one a proxy or the
/// application would read is ambiguous, so neither is.
///
/// ```
/// use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// let mut headers = HeaderMap::new();
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc.def"));
/// assert_eq!(authlite_axum::bearer(&headers).unwrap(), Some("abc.def"));
/// headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer other"));
/// assert!(authlite_axum::bearer(&headers).is_err());
/// ```
///
/// # Errors
/// [`ApiError::InvalidRequest`] for more than one `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest("more than one Authorization header"));
    }
    let Some((scheme, credential)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Ok(None);
    };
    let credential = credential.trim();
    Ok((scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential))
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

/// The caller and their active organization (DESIGN §14): the session's, chosen with
/// [`Auth::switch_organization`], or an organization API key's. A request whose caller has
/// none is `403 forbidden` before the handler runs; one without a valid credential is
/// answered as by [`Authenticated`].
#[derive(Debug, Clone)]
pub struct ActiveOrganization {
    /// The organization.
    pub id: OrgId,
    /// The caller (with `organization_id == Some(id)`).
    pub who: Principal,
}

impl<S> FromRequestParts<S> for ActiveOrganization
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Authenticated(who) = Authenticated::from_request_parts(parts, state).await?;
        match who.organization_id {
            Some(id) => Ok(ActiveOrganization { id, who }),
            None => Err(no_active_organization()),
        }
    }
}

fn no_active_organization() -> ApiError {
    ApiError::from(Error::new(ErrorKind::Forbidden, "no active organization"))
}

/// `Ok` if the caller has an active organization and may do `action` on `resource` in it
/// (their global roles and their roles in that organization; a scoped credential's scopes
/// narrow it as for [`require_permission`]). Otherwise `403`, audited.
pub async fn require_org_permission(
    auth: &Auth,
    who: &Principal,
    resource: &str,
    action: &str,
) -> Result<(), ApiError> {
    if who.organization_id.is_none() {
        return Err(no_active_organization());
    }
    require_permission(auth, who, resource, action).await
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

/// The refresh-token cookie: `HttpOnly; Secure; SameSite=Strict; Path=/`, named
/// `__Host-authlite-refresh` (browsers accept a `__Host-` cookie only over HTTPS, from the
/// host itself, without a `Domain`: a sibling subdomain can neither set nor shadow it).
/// [`RefreshCookie::insecure_dev_http`] drops `Secure` and the prefix for plain-HTTP
/// development only.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use authlite_axum::RefreshCookie;
/// let cookie = RefreshCookie::default();
/// let set = cookie.set("abc.def", SystemTime::now() + Duration::from_secs(60));
/// let set = set.to_str().unwrap();
/// assert!(set.starts_with("__Host-authlite-refresh=abc.def;"));
/// assert!(set.contains("; Secure") && set.contains("; HttpOnly") && set.contains("; Path=/;"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCookie {
    secure: bool,
}

impl Default for RefreshCookie {
    fn default() -> Self {
        RefreshCookie { secure: true }
    }
}

impl RefreshCookie {
    /// The production cookie (the default): `Secure`, `__Host-` prefixed.
    pub const SECURE: RefreshCookie = RefreshCookie { secure: true };

    /// For a service answering plain HTTP on a developer's machine: no `Secure`, no
    /// `__Host-` prefix (browsers refuse both without HTTPS). Never behind a TLS proxy: a
    /// proxy terminating TLS is exactly where `Secure` belongs.
    pub const fn insecure_dev_http() -> RefreshCookie {
        RefreshCookie { secure: false }
    }

    /// Whether the cookie is `Secure` (and `__Host-` prefixed).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The cookie's name.
    pub fn name(&self) -> &'static str {
        if self.secure { "__Host-authlite-refresh" } else { "authlite-refresh" }
    }

    /// A `Set-Cookie` value holding `token` until `expires` (the token's own end:
    /// `TokenPair::refresh_expires_at`, or the session's idle expiry after a login).
    pub fn set(&self, token: &str, expires: SystemTime) -> HeaderValue {
        let max_age = expires.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        self.header(token, max_age.as_secs())
    }

    /// A `Set-Cookie` value that removes the cookie.
    pub fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, token: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let value = format!(
            "{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}",
            self.name()
        );
        // Tokens are base64url and dots; anything else clears the cookie.
        HeaderValue::from_str(&value).unwrap_or_else(|_| self.clear())
    }

    /// The refresh token of a request, for a route the cookie authenticates: only when the
    /// request passes [`same_origin`], and `Ok(None)` without the cookie.
    ///
    /// # Errors
    /// [`ApiError::CrossSite`] for a cross-site request; [`ApiError::InvalidRequest`] when
    /// the cookie appears more than once (one of them was planted).
    pub fn read<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, ApiError> {
        same_origin(headers)?;
        single_cookie(headers, self.name(), "the refresh cookie appears more than once")
    }
}

/// The value of the cookie `name`, if the request has it; `InvalidRequest(twice)` when it
/// appears more than once (one of them was planted).
fn single_cookie<'h>(
    headers: &'h HeaderMap,
    name: &str,
    twice: &'static str,
) -> Result<Option<&'h str>, ApiError> {
    let mut found = cookies(headers).filter(|(key, _)| *key == name).map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        return Err(ApiError::InvalidRequest(twice));
    }
    Ok(first)
}

/// Every `name=value` pair of the request's `Cookie` headers.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// `Ok` unless the request is a browser's cross-site request: `Sec-Fetch-Site` must be
/// `same-origin` or `none` when present; otherwise an `Origin`, when present, must name the
/// request's own `Host`. Requests with neither (not from a browser) pass. Use it on every
/// route a cookie authenticates (CSRF), beside `SameSite=Strict`.
///
/// ```
/// use axum::http::{HeaderMap, HeaderValue};
/// let mut headers = HeaderMap::new();
/// headers.insert("host", HeaderValue::from_static("shop.example"));
/// headers.insert("origin", HeaderValue::from_static("https://shop.example"));
/// assert!(authlite_axum::same_origin(&headers).is_ok());
/// headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
/// assert!(authlite_axum::same_origin(&headers).is_err());
/// ```
///
/// # Errors
/// [`ApiError::CrossSite`] (403).
pub fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or(""));
    if let Some(site) = text(SEC_FETCH_SITE) {
        return if matches!(site, "same-origin" | "none") {
            Ok(())
        } else {
            Err(ApiError::CrossSite)
        };
    }
    match (text(ORIGIN.as_str()), text(HOST.as_str())) {
        (None, _) => Ok(()),
        (Some(origin), Some(host)) => {
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            if authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host)) {
                Ok(())
            } else {
                Err(ApiError::CrossSite)
            }
        }
        (Some(_), None) => Err(ApiError::CrossSite),
    }
}

/// The `Sec-Fetch-Site` request header (Fetch Metadata).
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// A JSON request body, like `axum::Json`, whose rejection never echoes the input (a
/// mistyped password must not come back in an error body or a log): 422 `invalid_input`
/// with a fixed message, or 415 without a JSON content type.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::UnsupportedMediaType)
            }
            Err(_) => Err(ApiError::Engine(Error::new(
                ErrorKind::InvalidInput,
                "the body is not a JSON object of the expected shape",
            ))),
        }
    }
}

/// An error answered over HTTP: an engine error, a refused credential, or a request that
/// is wrong before the engine sees it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// No `Authorization: Bearer` credential (401, a bare challenge).
    MissingCredentials,
    /// The request's credential was refused (bad, expired, revoked, its account
    /// deactivated): 401 `invalid_token`; server-side failures stay 500 and throttling 429.
    Credential(Error),
    /// Malformed in a way that makes it ambiguous (two `Authorization` headers, two refresh
    /// cookies): 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// A browser's cross-site request to a cookie-authenticated route: 403.
    CrossSite,
    /// A body that should be JSON was sent as something else: 415.
    UnsupportedMediaType,
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
    /// With `mfa_challenge`: what the account can answer it with (`"totp"`, ...).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    mfa_factors: Vec<&'static str>,
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials => StatusCode::UNAUTHORIZED,
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::CrossSite => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Credential(e) => match engine_status(e) {
                status if status.is_server_error() => status,
                StatusCode::TOO_MANY_REQUESTS => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            },
            ApiError::Engine(e) => engine_status(e),
        }
    }

    /// An engine error met while checking the request's credential.
    fn into_credential(self) -> ApiError {
        match self {
            ApiError::Engine(e) => ApiError::Credential(e),
            other => other,
        }
    }
}

fn engine_status(e: &Error) -> StatusCode {
    StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let fixed = |code, message: &str| (code, message.to_owned(), None, None, Vec::new());
        let (code, message, retry_after, challenge, factors) = match &self {
            ApiError::MissingCredentials => {
                fixed("missing_credentials", "an Authorization: Bearer credential is required")
            }
            ApiError::InvalidRequest(why) => fixed("invalid_request", why),
            ApiError::CrossSite => fixed("cross_site_request", "cross-site requests are refused"),
            ApiError::UnsupportedMediaType => {
                fixed("unsupported_media_type", "the body must be application/json")
            }
            ApiError::Engine(e) | ApiError::Credential(e) => {
                // Server-side failures say no more than their kind.
                let message =
                    if status.is_server_error() { e.kind().to_string() } else { e.to_string() };
                let factors = e.mfa_factors().iter().map(|f| f.as_str()).collect();
                (e.kind().as_str(), message, e.retry_after_secs(), e.mfa_challenge(), factors)
            }
        };
        let body = Body {
            error: code,
            message,
            retry_after,
            mfa_challenge: challenge,
            mfa_factors: factors,
        };
        let mut response = (status, axum::Json(&body)).into_response();
        let headers = response.headers_mut();
        // RFC 6750 §3: no error code when the request had no credential; invalid_token for a
        // bad one; insufficient_scope for a valid one lacking permission.
        let challenge = match (&self, status) {
            (ApiError::MissingCredentials, _) => Some(format!("Bearer realm=\"{REALM}\"")),
            (ApiError::InvalidRequest(_), _) => {
                Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_request\""))
            }
            (ApiError::CrossSite, _) => None,
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

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn bearer_parses_strictly_and_refuses_two_headers() {
        assert_eq!(bearer(&HeaderMap::new()).unwrap(), None);
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])).unwrap(), None);
        let spaced = headers(&[("authorization", "bearer  tok.en ")]);
        assert_eq!(bearer(&spaced).unwrap(), Some("tok.en"));
        assert_eq!(bearer(&headers(&[("authorization", "Bearer ")])).unwrap(), None);
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert!(matches!(bearer(&two), Err(ApiError::InvalidRequest(_))));
    }

    #[test]
    fn the_refresh_cookie_is_host_prefixed_secure_and_unique() {
        let cookie = RefreshCookie::default();
        let later = SystemTime::now() + Duration::from_secs(3600);
        let set = cookie.set("abc.def", later);
        let set = set.to_str().unwrap();
        for part in ["__Host-authlite-refresh=abc.def", "HttpOnly", "SameSite=Strict", "Path=/;"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(set.ends_with("; Secure") && !set.contains("Domain"), "{set}");
        assert!(set.contains("Max-Age=3599") || set.contains("Max-Age=3600"), "{set}");
        assert!(cookie.clear().to_str().unwrap().contains("Max-Age=0"));

        let one = headers(&[("cookie", "a=1; __Host-authlite-refresh=xyz.abc; b=2")]);
        assert_eq!(cookie.read(&one).unwrap(), Some("xyz.abc"));
        let planted = headers(&[
            ("cookie", "__Host-authlite-refresh=mine"),
            ("cookie", "__Host-authlite-refresh=theirs"),
        ]);
        assert!(matches!(cookie.read(&planted), Err(ApiError::InvalidRequest(_))));
        // The unprefixed name (settable from a sibling subdomain) is not read.
        let tossed = headers(&[("cookie", "authlite-refresh=theirs")]);
        assert_eq!(cookie.read(&tossed).unwrap(), None);

        let dev = RefreshCookie::insecure_dev_http().set("abc.def", later);
        assert!(!dev.to_str().unwrap().contains("Secure"));
        assert!(dev.to_str().unwrap().starts_with("authlite-refresh="));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let host = ("host", "shop.example:8443");
        assert!(same_origin(&headers(&[host])).is_ok(), "not a browser");
        assert!(same_origin(&headers(&[host, ("origin", "https://shop.example:8443")])).is_ok());
        for origin in ["https://evil.example", "null", "https://shop.example", "shop.example:8443"]
        {
            let h = headers(&[host, ("origin", origin)]);
            assert!(matches!(same_origin(&h), Err(ApiError::CrossSite)), "{origin}");
        }
        for site in ["cross-site", "same-site"] {
            let h = headers(&[host, ("sec-fetch-site", site)]);
            assert!(matches!(same_origin(&h), Err(ApiError::CrossSite)), "{site}");
        }
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])).is_ok());
    }
}
