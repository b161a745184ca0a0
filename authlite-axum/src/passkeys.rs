//! Passkeys over HTTP with no glue of the application's own: [`passkey_routes`] answers the
//! four WebAuthn ceremonies, taking and returning the browser's JSON untouched.

use authlite::{Auth, PasskeyInfo, PasskeyLogin};
use axum::extract::{FromRef, State};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ApiError, Authenticated, Client, JsonBody, RefreshCookie, blocking, signed_in};

/// The four ceremonies, to nest under a prefix (`/passkeys` below; the state must give an
/// [`Auth`] and a [`RefreshCookie`] through `FromRef`):
///
/// | route | caller | body | answer |
/// |---|---|---|---|
/// | `POST /register/start` | signed in (Bearer) | `{"name"}` | `{"ceremony", "publicKey"}` |
/// | `POST /register/finish` | signed in (Bearer) | `{"ceremony", "credential"}` | the passkey ([`PasskeyInfo`]) |
/// | `POST /login/start` | anyone | `{}`, `{"username"}` or `{"mfa_challenge"}` | `{"ceremony", "publicKey"}` |
/// | `POST /login/finish` | anyone | `{"ceremony", "credential"}` | [`SignedIn`] and the refresh cookie |
///
/// `publicKey` goes to `navigator.credentials.create({ publicKey })` /
/// `.get({ publicKey })` (through `PublicKeyCredential.parseCreationOptionsFromJSON` /
/// `parseRequestOptionsFromJSON`); `credential` is the resulting `PublicKeyCredential`'s
/// `toJSON()`. Registering needs a signed-in caller at both ends; the ceremony (known only
/// to the page that started it) names the account.
/// Errors are [`ApiError`]s (a failed check: 401 `invalid_credentials`).
///
/// ```
/// use authlite::{Auth, Config, RelyingParty};
/// use authlite_axum::{RefreshCookie, passkey_routes};
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
/// let rp = RelyingParty::new("example.com", "Example", ["https://example.com"]);
/// let auth = Auth::open_with(Config { relying_party: Some(rp), ..Config::in_memory() })?;
/// let app: Router = Router::new()
///     .nest("/passkeys", passkey_routes())
///     .with_state(AppState { auth, cookie: RefreshCookie::default() });
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn passkey_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
    RefreshCookie: FromRef<S>,
{
    Router::new()
        .route("/register/start", post(register_start))
        .route("/register/finish", post(register_finish))
        .route("/login/start", post(login_start))
        .route("/login/finish", post(login_finish))
}

/// A started ceremony, for the page.
#[derive(Debug, Serialize, Deserialize)]
pub struct Started {
    /// Names the ceremony when finishing it.
    pub ceremony: String,
    /// The options for `navigator.credentials` (WebAuthn Level 3 JSON).
    #[serde(rename = "publicKey")]
    pub public_key: Value,
}

/// What a page sends to finish a ceremony.
#[derive(Debug, Deserialize)]
pub struct Finish {
    /// The ceremony's id from [`Started`].
    pub ceremony: String,
    /// The browser's `PublicKeyCredential.toJSON()`.
    pub credential: Value,
}

/// The name of a passkey being registered.
#[derive(Debug, Deserialize)]
pub struct NewPasskey {
    /// How the passkey is listed ("Alice's phone").
    pub name: String,
}

/// How a passkey sign-in names its account: nothing (usernameless), a username, or the
/// challenge of an `MfaRequired` answer.
#[derive(Debug, Default, Deserialize)]
pub struct LoginStart {
    /// Sign in to this account.
    pub username: Option<String>,
    /// Answer this second-factor challenge.
    pub mfa_challenge: Option<String>,
}

fn started(ceremony: authlite::PasskeyCeremony) -> Result<Json<Started>, ApiError> {
    let public_key = serde_json::from_str(&ceremony.options).map_err(|_| {
        ApiError::from(authlite::Error::new(authlite::ErrorKind::Internal, "bad options"))
    })?;
    Ok(Json(Started { ceremony: ceremony.id, public_key }))
}

async fn register_start(
    State(auth): State<Auth>,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<NewPasskey>,
) -> Result<Json<Started>, ApiError> {
    let user = who.user_id;
    started(blocking(&auth, move |auth| auth.start_passkey_registration(user, &body.name)).await?)
}

/// Needs a signed-in caller; the ceremony itself names the account that started it.
async fn register_finish(
    State(auth): State<Auth>,
    _: Authenticated,
    JsonBody(body): JsonBody<Finish>,
) -> Result<Json<PasskeyInfo>, ApiError> {
    let credential = body.credential.to_string();
    let info =
        blocking(&auth, move |auth| auth.finish_passkey_registration(&body.ceremony, &credential))
            .await?;
    Ok(Json(info))
}

async fn login_start(
    State(auth): State<Auth>,
    JsonBody(body): JsonBody<LoginStart>,
) -> Result<Json<Started>, ApiError> {
    let ceremony = blocking(&auth, move |auth| match (&body.mfa_challenge, &body.username) {
        (Some(challenge), _) => auth.start_passkey_login(PasskeyLogin::SecondFactor(challenge)),
        (None, Some(name)) => auth.start_passkey_login(PasskeyLogin::Account(name)),
        (None, None) => auth.start_passkey_login(PasskeyLogin::Discoverable),
    })
    .await?;
    started(ceremony)
}

async fn login_finish(
    State(auth): State<Auth>,
    State(cookie): State<RefreshCookie>,
    Client(client): Client,
    JsonBody(body): JsonBody<Finish>,
) -> Result<impl IntoResponse, ApiError> {
    let credential = body.credential.to_string();
    let login = blocking(&auth, move |auth| {
        auth.finish_passkey_login(&body.ceremony, &credential, &client)
    })
    .await?;
    Ok(signed_in(&cookie, login))
}
