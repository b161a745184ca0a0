//! Scoped capability tokens (a QR code on a restaurant table, a share link): stateless and
//! HMAC-signed (`crypto::scoped`), checked against the database only for revocation, and
//! that through the exact epoch cache: no read on a hit, and a revocation by any process
//! is seen by the next verify.

use std::sync::Arc;
use std::time::Duration;

use super::cache::VerifiedScoped;
use super::engine::{Engine, Record};
use crate::crypto::scoped::{self, MAX_SUBJECT_BYTES, Scoped};
use crate::values::audit::AuditKind;
use crate::values::clock::{from_millis, millis};
use crate::values::credential::ScopedGrant;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::names;

const MAX_LIFETIME: Duration = Duration::from_secs(366 * 86_400);

fn check_subject(subject: &str) -> Result<()> {
    if subject.is_empty()
        || subject.len() > MAX_SUBJECT_BYTES
        || subject.chars().any(char::is_control)
    {
        return Err(Error::invalid_input(
            "subject must be 1 to 256 bytes without control characters",
        ));
    }
    Ok(())
}

fn expired() -> Error {
    Error::new(ErrorKind::ExpiredToken, "scoped token expired")
}

/// Scoped capability tokens.
impl Engine {
    pub(crate) fn issue_scoped(&self, scope: &str, subject: &str, ttl: Duration) -> Result<String> {
        names::identifier("scope", scope, false)?;
        check_subject(subject)?;
        if ttl.is_zero() || ttl > MAX_LIFETIME {
            return Err(Error::invalid_input("lifetime must be within 1 ms..=366 days"));
        }
        self.write(|tx| {
            let now = tx.now();
            // Under the writer lock: a revocation that returned before this is counted in
            // the generation, one that runs after counts past it.
            let generation = tx.scoped_state(scope, subject)?.generation;
            let token = Scoped {
                subject: subject.to_owned(),
                issued_at: now,
                expires_at: now.saturating_add(millis(ttl)),
                generation: Some(u32::try_from(generation).map_err(|_| {
                    Error::new(ErrorKind::Conflict, "this subject was revoked too often")
                })?),
            };
            let text = scoped::issue(&self.scoped_key, &self.instance_id, scope, &token);
            let detail = format!("scope={scope} subject={subject}");
            tx.audit(AuditKind::ScopedIssued, Record::default().detail(detail))?;
            Ok(text)
        })
    }

    pub(crate) fn verify_scoped(&self, token: &str, scope: &str) -> Result<ScopedGrant> {
        let verified = match self.hit(&self.caches.scoped, token)? {
            // A token verified for another scope is checked afresh (and fails its tag).
            Some(verified) if verified.scope == scope => verified,
            _ => {
                names::identifier("scope", scope, false)?;
                let found = scoped::verify(&self.scoped_key, &self.instance_id, scope, token)?;
                if self.now_ms() >= found.expires_at {
                    return Err(expired());
                }
                self.fill(&self.caches.scoped, token, |conn| {
                    let state = conn.scoped_state(scope, &found.subject)?;
                    Ok(Arc::new(VerifiedScoped { scope: scope.to_owned(), found, state }))
                })?
            }
        };
        let VerifiedScoped { found, state, .. } = &*verified;
        if self.now_ms() >= found.expires_at {
            return Err(expired());
        }
        let revoked = match found.generation {
            Some(generation) => i64::from(generation) < state.generation,
            None => state.revoked_before.is_some_and(|before| found.issued_at <= before),
        };
        if revoked {
            return Err(Error::new(ErrorKind::RevokedToken, "scoped token revoked"));
        }
        Ok(ScopedGrant {
            scope: scope.to_owned(),
            subject: found.subject.clone(),
            issued_at: from_millis(found.issued_at),
            expires_at: from_millis(found.expires_at),
        })
    }

    pub(crate) fn revoke_scoped(&self, scope: &str, subject: &str) -> Result<()> {
        names::identifier("scope", scope, false)?;
        check_subject(subject)?;
        self.write(|tx| {
            tx.revoke_scoped(scope, subject, tx.now())?;
            let detail = format!("scope={scope} subject={subject}");
            tx.audit(AuditKind::ScopedRevoked, Record::default().detail(detail))
        })
    }
}
