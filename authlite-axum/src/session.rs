//! How a successful sign-in answers: the access token as JSON, the refresh token in the
//! [`RefreshCookie`].

use authlite::Login;
use axum::Json;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse};
use serde::{Deserialize, Serialize};

use crate::RefreshCookie;

/// A sign-in's answer (the refresh token travels only in the [`RefreshCookie`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct SignedIn {
    /// The access token, for `Authorization: Bearer`.
    pub access_token: String,
    /// When it expires, in milliseconds since the Unix epoch.
    pub access_expires_at: u128,
}

/// The answer to a sign-in: [`SignedIn`] as JSON and the refresh token in `cookie`.
/// The one way this crate's routes (and the example service's password login) answer a
/// successful sign-in.
pub fn signed_in(cookie: &RefreshCookie, login: Login) -> impl IntoResponse + use<> {
    // The session's idle expiry bounds the refresh token.
    let set = cookie.set(&login.refresh_token, login.session.idle_expires_at);
    let expires = login.access_expires_at.duration_since(std::time::UNIX_EPOCH);
    let body = SignedIn {
        access_token: login.access_token,
        access_expires_at: expires.map_or(0, |d| d.as_millis()),
    };
    (AppendHeaders([(SET_COOKIE, set)]), Json(body))
}
