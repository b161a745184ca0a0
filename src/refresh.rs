//! Refresh tokens: opaque `<selector>.<secret>`, single use, rotated on every redemption;
//! a replayed token revokes its whole session (RFC 9700 §4.14.2).

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::audit::{AuditKind, Record};
use crate::clock::millis;
use crate::error::{Error, ErrorKind, Result};
use crate::sessions::{TokenPair, revoke};
use crate::{Auth, random};

const SELECTOR_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;
/// base64url lengths of the two parts, and of the whole token.
const SELECTOR_CHARS: usize = 22;
const SECRET_CHARS: usize = 43;
const TOKEN_CHARS: usize = SELECTOR_CHARS + 1 + SECRET_CHARS;

const INSERT: &str = "INSERT INTO refresh_tokens (selector, session_id, secret_hash, created_at) \
                      VALUES (?1, ?2, ?3, ?4)";
const LOOKUP: &str = "SELECT rt.session_id, rt.secret_hash, rt.spent_at IS NOT NULL, \
     s.user_id, s.revoked_at IS NOT NULL, s.idle_expires_at, s.expires_at, \
     u.active, u.token_version \
     FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id \
     JOIN users u ON u.id = s.user_id WHERE rt.selector = ?1";
const SPEND: &str =
    "UPDATE refresh_tokens SET spent_at = ?2 WHERE selector = ?1 AND spent_at IS NULL";
const SLIDE: &str =
    "UPDATE sessions SET last_refreshed_at = ?2, idle_expires_at = ?3 WHERE id = ?1";

/// Creates the session's next refresh token and returns it; only its hash is stored.
pub(crate) fn create(conn: &Connection, session: i64, now: i64) -> Result<String> {
    let selector = random::token(SELECTOR_BYTES)?;
    let secret = Zeroizing::new(random::bytes::<SECRET_BYTES>()?);
    conn.prepare_cached(INSERT)?.execute(params![selector, session, digest(&secret[..]), now])?;
    Ok(format!("{selector}.{}", random::b64(&secret[..])))
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// A presented token split into its lookup part and its secret.
pub(crate) struct Presented<'t> {
    selector: &'t str,
    secret: Zeroizing<Vec<u8>>,
}

pub(crate) fn parse(token: &str) -> Result<Presented<'_>> {
    let invalid = || Error::new(ErrorKind::InvalidToken, "malformed refresh token");
    if token.len() != TOKEN_CHARS {
        return Err(invalid());
    }
    let (selector, secret) = token.split_once('.').ok_or_else(invalid)?;
    if selector.len() != SELECTOR_CHARS || random::b64_decode(selector.as_bytes()).is_none() {
        return Err(invalid());
    }
    let secret = random::b64_decode(secret.as_bytes()).ok_or_else(invalid)?;
    Ok(Presented { selector, secret: Zeroizing::new(secret) })
}

struct Row {
    session: i64,
    secret_hash: Vec<u8>,
    spent: bool,
    user: i64,
    revoked: bool,
    idle_expires_at: i64,
    expires_at: i64,
    active: bool,
    token_version: i64,
}

/// Refresh-token rotation.
impl Auth {
    /// Redeems a refresh token for a new access token and a new refresh token, in one
    /// transaction: the presented token is spent, the session's idle expiry slides forward
    /// (never past its absolute end).
    ///
    /// Errors: `InvalidToken` (malformed or unknown), `TokenReused` (already spent: the
    /// whole session is revoked, so whoever holds its other tokens is cut off too),
    /// `RevokedToken`, `InactiveUser`, `ExpiredToken` (session idle or past its lifetime).
    /// Of concurrent redeemers of one token exactly one succeeds.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let presented = parse(refresh_token)?;
        let presented_hash = digest(&presented.secret);
        let idle = millis(self.config().session_idle_timeout);
        // The inner result lets reuse detection commit the revocation and still fail.
        self.write(|tx| {
            let now = tx.now();
            let row = tx
                .prepare_cached(LOOKUP)?
                .query_row([presented.selector], |r| {
                    Ok(Row {
                        session: r.get(0)?,
                        secret_hash: r.get(1)?,
                        spent: r.get(2)?,
                        user: r.get(3)?,
                        revoked: r.get(4)?,
                        idle_expires_at: r.get(5)?,
                        expires_at: r.get(6)?,
                        active: r.get(7)?,
                        token_version: r.get(8)?,
                    })
                })
                .optional()?
                .ok_or_else(|| Error::new(ErrorKind::InvalidToken, "unknown refresh token"))?;
            if !bool::from(row.secret_hash.ct_eq(&presented_hash[..])) {
                return Err(Error::new(ErrorKind::InvalidToken, "unknown refresh token"));
            }
            let record = || Record::session(row.user, row.session);
            if row.spent {
                revoke(tx, row.session, now, "refresh token reuse")?;
                tx.audit(AuditKind::RefreshReused, record())?;
                return Ok(Err(Error::from_kind(ErrorKind::TokenReused)));
            }
            if row.revoked {
                return Err(Error::new(ErrorKind::RevokedToken, "session revoked"));
            }
            if !row.active {
                return Err(Error::from_kind(ErrorKind::InactiveUser));
            }
            if now >= row.expires_at || now >= row.idle_expires_at {
                return Err(Error::new(ErrorKind::ExpiredToken, "session expired"));
            }
            tx.prepare_cached(SPEND)?.execute(params![presented.selector, now])?;
            let idle_expires_at = now.saturating_add(idle).min(row.expires_at);
            tx.prepare_cached(SLIDE)?.execute(params![row.session, now, idle_expires_at])?;
            let pair =
                self.issue_pair(tx, row.user, row.session, row.token_version, now, row.expires_at)?;
            tx.audit(AuditKind::TokenRefreshed, record())?;
            Ok(Ok(pair))
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_anything_but_the_exact_shape() {
        let good = format!("{}.{}", "A".repeat(22), "A".repeat(43));
        assert!(parse(&good).is_ok());
        for bad in [
            String::new(),
            "x.y".into(),
            format!("{}.{}", "A".repeat(21), "A".repeat(44)),
            format!("{}{}", "A".repeat(23), "A".repeat(43)),
            format!("{}.{}", "A".repeat(22), "+".repeat(43)),
            format!("{}.{}", "é".repeat(11), "A".repeat(43)),
        ] {
            assert_eq!(parse(&bad).err().map(|e| e.kind()), Some(ErrorKind::InvalidToken), "{bad}");
        }
    }
}
