//! The password factor: `Auth::login`. PBKDF2 runs before the transaction so logins do not
//! queue behind each other's hashing; the transaction then proves the hash it checked is
//! still the stored one and re-reads the throttle state, so parallel guesses cannot
//! overshoot the limit. Unknown names, service accounts and accounts without a password
//! cost one dummy hash, exactly like a wrong password.

use super::{Attempt, record_refusal};
use crate::crypto::password::{self, NO_PASSWORD, Verdict};
use crate::features::accounts;
use crate::features::engine::{Engine, Record, Settled};
use crate::values::audit::AuditKind;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::names;
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;
use crate::values::user::AccountKind;

impl Engine {
    pub(crate) fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let iterations = self.config.pbkdf2_iterations;
        let lookup = names::lookup(username_or_email).ok();
        let lookup_key = lookup.as_ref().map(names::Lookup::key);
        // Stages 1 and 2 in one snapshot: who this is, and whether they (or the address)
        // may try at all. Refused before any hashing is spent.
        let now = self.now_ms();
        let (found, attempt, refusal) = self.store.snapshot(|conn| {
            let found = match &lookup {
                Some(who) => conn.credentials(accounts::user_key(who))?,
                None => None,
            };
            // A service account has no password: its name logs in like an unknown one.
            let found = found.filter(|f| f.kind == AccountKind::Person);
            let user = found.as_ref().map(|f| f.id);
            let attempt = Attempt::named(user, lookup_key, username_or_email, client);
            let refusal = self.refusal(conn, &attempt, now)?;
            Ok((found, attempt, refusal))
        })?;
        if let Some(refusal) = refusal {
            return Err(self.write(|tx| record_refusal(tx, refusal, &attempt))?);
        }

        // Stage 3, the costly part, outside the transaction.
        let normalized = password::normalize(password, password::MAX_VERIFY_CHARS);
        let stored = found.as_ref().map(|f| f.hash.as_str()).filter(|h| *h != NO_PASSWORD);
        let verdict = match (stored, &normalized) {
            (Some(stored), Some(normalized)) => {
                password::verify(password, normalized, stored, iterations)?
            }
            (None, Some(normalized)) => {
                password::burn(normalized, iterations);
                Verdict { matches: false, outdated: false }
            }
            (_, None) => Verdict { matches: false, outdated: false },
        };
        let upgraded = match (&normalized, verdict.matches && verdict.outdated) {
            (Some(normalized), true) => Some(password::hash(normalized, iterations)?),
            _ => None,
        };
        self.write_settled(|tx| {
            if let Some(refused) = self.refused(tx, &attempt)? {
                return Ok(Settled::Refused(refused));
            }
            let found = match (&found, verdict.matches) {
                (Some(found), true) => found,
                (found, _) => {
                    let detail = if found.is_some() { "wrong password" } else { "unknown user" };
                    return Ok(Settled::Refused(self.first_factor_failed(tx, &attempt, detail)?));
                }
            };
            // The hash checked must still be the stored one (not changed meanwhile).
            if tx.account_state(found.id)?.is_none_or(|state| state.hash != found.hash) {
                return Ok(Settled::Refused(Error::from_kind(ErrorKind::InvalidCredentials)));
            }
            if let Some(new_hash) = &upgraded {
                tx.upgrade_hash(found.id, &found.hash, new_hash)?;
                tx.audit(AuditKind::PasswordRehashed, Record::user(found.id))?;
            }
            self.signed_in(tx, &attempt, found.id, SignInMethod::Password)
        })
    }
}
