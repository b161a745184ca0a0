//! The one liveness rule: whether a session — or an API key, which is live like a session
//! that never idles — can still be used. `validate`, `refresh`, `validate_api_key` and
//! service tokens all ask it, so every path answers the same.

use crate::store::{ApiKeyState, Liveness};
use crate::values::error::{Error, ErrorKind, Result};

/// Whether a session can still be used at `now`: the account is active, the session was
/// not revoked, and neither its idle nor its absolute expiry has passed — checked in that
/// order, so every path answers the same: `InactiveUser`, then `RevokedToken`, then
/// `ExpiredToken`. `validate` and `refresh` both call this after their own
/// credential-specific checks.
pub(super) fn check_live(live: &Liveness, now: i64) -> Result<()> {
    if !live.user_active {
        return Err(Error::from_kind(ErrorKind::InactiveUser));
    }
    if live.revoked {
        return Err(Error::new(ErrorKind::RevokedToken, "session revoked"));
    }
    if now >= live.expires_at || now >= live.idle_expires_at {
        return Err(Error::new(ErrorKind::ExpiredToken, "session expired"));
    }
    Ok(())
}

/// An API key is live like a session that never idles: the account active, the key not
/// revoked, not past its expiry, and (a key of an organization) the account still a member. Checked by the one liveness rule, whose messages then
/// speak of the key.
pub(super) fn check_key_live(state: &ApiKeyState, now: i64) -> Result<()> {
    let live = Liveness {
        user_active: state.user_active,
        revoked: state.revoked,
        idle_expires_at: i64::MAX,
        expires_at: state.expires_at.unwrap_or(i64::MAX),
    };
    check_live(&live, now).map_err(|e| match e.kind() {
        ErrorKind::RevokedToken => Error::new(ErrorKind::RevokedToken, "API key revoked"),
        ErrorKind::ExpiredToken => Error::new(ErrorKind::ExpiredToken, "API key expired"),
        _ => e,
    })?;
    // A key of an organization works only while its account is a member of it.
    if state.organization.is_some() && !state.member {
        let why = "the key's account is no longer a member of its organization";
        return Err(Error::new(ErrorKind::RevokedToken, why));
    }
    Ok(())
}
