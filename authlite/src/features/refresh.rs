//! Refresh tokens: opaque `<selector>.<secret>` (the crate's one opaque-secret format),
//! single use, rotated on every redemption; a replayed token revokes its whole session
//! (RFC 9700 §4.14.2).

use super::engine::{Engine, Record, Settled};
use super::liveness::check_live;
use crate::crypto::secret;
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::session::TokenPair;

/// Refresh tokens carry no prefix.
pub(crate) const PREFIX: &str = "";
const MALFORMED: &str = "malformed refresh token";

/// Refresh-token rotation.
impl Engine {
    pub(crate) fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let presented = secret::parse(refresh_token, PREFIX, MALFORMED)?;
        let idle = millis(self.config.session_idle_timeout);
        // Reuse detection commits the revocation and still fails.
        self.write_settled(|tx| {
            let now = tx.now();
            let unknown = || Error::new(ErrorKind::InvalidToken, "unknown refresh token");
            let row = tx.refresh_token(presented.selector)?.ok_or_else(unknown)?;
            if !presented.matches(&row.secret_hash) {
                return Err(unknown());
            }
            let record = || Record::session(row.user, row.session);
            if row.spent {
                tx.revoke_session(row.session, now, "refresh token reuse")?;
                tx.audit(AuditKind::RefreshReused, record())?;
                return Ok(Settled::Refused(Error::from_kind(ErrorKind::TokenReused)));
            }
            check_live(&row.live, now)?;
            tx.spend_refresh_token(presented.selector, now)?;
            let idle_expires_at = now.saturating_add(idle).min(row.live.expires_at);
            tx.slide_session(row.session, now, idle_expires_at)?;
            let window = (idle_expires_at, row.live.expires_at);
            let pair = self.issue_pair(tx, row.user, row.session, row.token_version, window)?;
            tx.audit(AuditKind::TokenRefreshed, record())?;
            Ok(Settled::Done(pair))
        })
    }

    /// Ends the session a refresh token belongs to (for a client that holds only the
    /// refresh token, e.g. in a cookie). A spent token ends it too, as reuse would.
    pub(crate) fn logout_with_refresh_token(&self, refresh_token: &str) -> Result<()> {
        let presented = secret::parse(refresh_token, PREFIX, MALFORMED)?;
        self.write(|tx| {
            let unknown = || Error::new(ErrorKind::InvalidToken, "unknown refresh token");
            let row = tx.refresh_token(presented.selector)?.ok_or_else(unknown)?;
            if !presented.matches(&row.secret_hash) {
                return Err(unknown());
            }
            if tx.revoke_session(row.session, tx.now(), "logout")? {
                tx.audit(AuditKind::Logout, Record::session(row.user, row.session))?;
            }
            Ok(())
        })
    }
}
