//! Sign-in with an identity provider over HTTP with no glue of the application's own:
//! [`oidc_routes`] starts flows, keeps each flow's browser secret in a cookie of its own
//! and finishes them at the provider's callback.

use authlite::{Auth, ErrorKind, OidcStart};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::{ApiError, Authenticated, Client, RefreshCookie, blocking, single_cookie};

/// How long the flow cookie lives: the engine's flow lifetime.
const FLOW_MAX_AGE: u64 = 10 * 60;

/// The provider routes, to nest under a prefix (`/auth/oidc` below; the state must give
/// an [`Auth`] and a [`RefreshCookie`] through `FromRef`). `landing` is the app's page
/// the browser returns to.
///
/// | route | caller | answer |
/// |---|---|---|
/// | `GET` the prefix itself | anyone | the configured providers' names (JSON) |
/// | `GET /{provider}/login` | a browser | `303` to the provider, the flow cookie set |
/// | `POST /{provider}/link` | signed in (Bearer) | `{"authorize_url"}`, the flow cookie set: send the browser there |
/// | `GET /{provider}/callback` | the provider's redirect | `303` to `landing`, the refresh cookie set |
///
/// Register `https://<your host><prefix>/<provider>/callback` as the provider's
/// `redirect_uri`. The flow cookie (`__Host-authlite-oidc`, `HttpOnly`, `SameSite=Lax` so
/// the provider's redirect carries it, 10 minutes) binds the callback to the browser that
/// started the flow; the callback clears it. Outcomes other than a session land on
/// `landing` with a fragment (never sent to a server, kept out of logs):
/// `#mfa_challenge=…&mfa_factors=totp,…` (answer it with `complete_mfa` or a passkey),
/// `#linked=<provider>`, or `#error=<kind>` (`invalid_token` for a foreign or spent flow,
/// `invalid_credentials`, `not_found`, `access_denied` when the person declined at the
/// provider, …).
///
/// ```
/// use authlite::{Auth, Config};
/// use authlite_axum::{RefreshCookie, oidc_routes};
/// use axum::{Router, extract::FromRef};
///
/// #[derive(Clone)]
/// struct AppState { auth: Auth, cookie: RefreshCookie }
/// impl FromRef<AppState> for Auth {
///     fn from_ref(s: &AppState) -> Auth { s.auth.clone() }
/// }
/// impl FromRef<AppState> for RefreshCookie {
///     fn from_ref(s: &AppState) -> RefreshCookie { s.cookie.clone() }
/// }
///
/// # fn main() -> authlite::Result<()> {
/// let auth = Auth::open_with(Config::in_memory())?;
/// let app: Router = Router::new()
///     .nest("/auth/oidc", oidc_routes("/"))
///     .with_state(AppState { auth, cookie: RefreshCookie::default() });
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn oidc_routes<S>(landing: &'static str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
    RefreshCookie: FromRef<S>,
{
    Router::new()
        .route("/", get(providers))
        .route("/{provider}/login", get(login))
        .route("/{provider}/link", post(link))
        .route(
            "/{provider}/callback",
            get(move |auth, cookie, client, query, headers| {
                callback(landing, auth, cookie, client, query, headers)
            }),
        )
}

/// A started link, for the page: send the browser to `authorize_url`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkStarted {
    /// The provider's authorization URL.
    pub authorize_url: String,
}

/// What the provider sends back to the callback.
#[derive(Debug, Deserialize)]
struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

async fn providers(State(auth): State<Auth>) -> Json<Vec<String>> {
    Json(auth.config().identity_providers.iter().map(|p| p.name.clone()).collect())
}

async fn login(
    State(auth): State<Auth>,
    State(cookie): State<RefreshCookie>,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    let start = blocking(&auth, move |auth| auth.start_oidc_login(&provider)).await?;
    let location = HeaderValue::try_from(&start.authorize_url).map_err(|_| internal())?;
    let set = flow_cookie(&cookie, "login", &start);
    Ok((StatusCode::SEE_OTHER, [(LOCATION, location), (SET_COOKIE, set)]).into_response())
}

async fn link(
    State(auth): State<Auth>,
    State(cookie): State<RefreshCookie>,
    Authenticated(who): Authenticated,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    let user = who.user_id;
    let start = blocking(&auth, move |auth| auth.start_oidc_link(user, &provider)).await?;
    let set = flow_cookie(&cookie, "link", &start);
    let body = LinkStarted { authorize_url: start.authorize_url };
    Ok(([(SET_COOKIE, set)], Json(body)).into_response())
}

async fn callback(
    landing: &'static str,
    State(auth): State<Auth>,
    State(cookie): State<RefreshCookie>,
    Client(client): Client,
    Query(query): Query<Callback>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let twice = "the flow cookie appears more than once";
    let flow = single_cookie(&headers, flow_cookie_name(&cookie), twice)?;
    let clear = flow_cookie_header(&cookie, "", 0);
    let land = |fragment: String, extra: Option<HeaderValue>| {
        let location =
            HeaderValue::try_from(format!("{landing}{fragment}")).map_err(|_| internal())?;
        let mut response =
            (StatusCode::SEE_OTHER, [(LOCATION, location), (SET_COOKIE, clear.clone())])
                .into_response();
        if let Some(extra) = extra {
            response.headers_mut().append(SET_COOKIE, extra);
        }
        Ok(response)
    };
    if let Some(error) = &query.error {
        let kind = if error == "access_denied" { "access_denied" } else { "provider_error" };
        return land(format!("#error={kind}"), None);
    }
    let (Some((kind, secret)), Some(state), Some(code)) =
        (flow.and_then(|f| f.split_once('.')), query.state, query.code)
    else {
        return land("#error=invalid_token".into(), None);
    };
    let (kind, secret) = (kind.to_owned(), secret.to_owned());
    // The engine's answer, refusals included, as a value: they become fragments.
    let outcome = blocking(&auth, move |auth| {
        Ok(match kind.as_str() {
            "link" => auth.finish_oidc_link(&secret, &state, &code).map(|i| Err(i.provider)),
            _ => auth.finish_oidc_login(&secret, &state, &code, &client).map(Ok),
        })
    })
    .await?;
    match outcome {
        Ok(Ok(login)) => {
            let set = cookie.set(&login.refresh_token, login.session.idle_expires_at);
            land(String::new(), Some(set))
        }
        Ok(Err(provider)) => land(format!("#linked={provider}"), None),
        Err(e) if e.kind() == ErrorKind::MfaRequired => {
            let challenge = e.mfa_challenge().unwrap_or_default();
            let factors: Vec<&str> = e.mfa_factors().iter().map(|f| f.as_str()).collect();
            land(format!("#mfa_challenge={challenge}&mfa_factors={}", factors.join(",")), None)
        }
        Err(e) if e.kind() == ErrorKind::Internal || e.kind() == ErrorKind::Storage => {
            Err(ApiError::Engine(e))
        }
        Err(e) => land(format!("#error={}", e.kind().as_str()), None),
    }
}

/// `__Host-authlite-oidc` (or `authlite-oidc` for plain-HTTP development, as the refresh
/// cookie is).
fn flow_cookie_name(cookie: &RefreshCookie) -> &'static str {
    if cookie.is_secure() { "__Host-authlite-oidc" } else { "authlite-oidc" }
}

/// The flow cookie of a started flow: `<login|link>.<browser secret>`.
fn flow_cookie(cookie: &RefreshCookie, kind: &str, start: &OidcStart) -> HeaderValue {
    flow_cookie_header(cookie, &format!("{kind}.{}", start.browser_secret), FLOW_MAX_AGE)
}

fn flow_cookie_header(cookie: &RefreshCookie, value: &str, max_age: u64) -> HeaderValue {
    let secure = if cookie.is_secure() { "; Secure" } else { "" };
    let name = flow_cookie_name(cookie);
    let header =
        format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&header)
        .unwrap_or_else(|_| HeaderValue::from_static("authlite-oidc=; Max-Age=0"))
}

fn internal() -> ApiError {
    ApiError::Engine(authlite::Error::new(ErrorKind::Internal, "unrepresentable redirect"))
}
