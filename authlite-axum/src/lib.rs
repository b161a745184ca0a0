//! # authlite-axum
//!
//! The axum integration of [`authlite`]: a `Principal` extractor for `Authorization:
//! Bearer`, rejections that answer 401/403/429 with RFC 6750 `WWW-Authenticate` headers,
//! role and permission guards, and helpers that keep blocking engine calls off the async
//! executor.
//!
//! This crate is the workspace seat for that integration. What exists today is the mapping
//! every response is built from ([`status_for`]); the extractor and guards come with the
//! integration issue.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use authlite;

/// The HTTP status for an engine error (401 credentials and tokens, 403 denials and
/// deactivated users, 429 lockouts, ...), as [`authlite::ErrorKind::http_status`] defines.
pub fn status_for(error: &authlite::Error) -> u16 {
    error.kind().http_status()
}

#[cfg(test)]
mod tests {
    use authlite::{Error, ErrorKind};

    #[test]
    fn statuses_follow_the_engine() {
        assert_eq!(super::status_for(&Error::from(ErrorKind::Forbidden)), 403);
        assert_eq!(super::status_for(&Error::from(ErrorKind::RevokedToken)), 401);
    }
}
