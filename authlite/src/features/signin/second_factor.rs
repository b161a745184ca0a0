//! The second factor: `Auth::complete_mfa` answers the challenge of an `MfaRequired` with a
//! typed code — a TOTP code or a recovery code (`features/mfa.rs` checks both). The
//! challenge identifies the account and remembers the first factor, which becomes the
//! session's method. Wrong codes count toward the second-factor lockout (and the address),
//! which only a correct second factor or the lockout's expiry clears.

use super::{Attempt, refuse_inactive};
use crate::features::engine::{Engine, Settled};
use crate::features::one_time::parse;
use crate::features::throttle;
use crate::store::Purpose;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;

fn invalid_challenge() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid or spent challenge; sign in again")
}

impl Engine {
    pub(crate) fn complete_mfa(
        &self,
        challenge: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let presented = parse(challenge, Purpose::Mfa).map_err(|_| invalid_challenge())?;
        self.write_settled(|tx| {
            // The challenge must be live before a code is even looked at.
            let row = self.peek(tx, &presented, Purpose::Mfa).map_err(|e| match e.kind() {
                ErrorKind::ExpiredToken => e,
                _ => invalid_challenge(),
            })?;
            let user = row.user;
            let attempt = Attempt::of(user, client);
            if let Some(refused) = self.refused(tx, &attempt)? {
                return Ok(Settled::Refused(refused));
            }
            if !self.second_factor_accepts(tx, user, code)? {
                let address = attempt.address.as_deref();
                let wrong = self.wrong_code(tx, user, address, attempt.record())?;
                return Ok(Settled::Refused(wrong));
            }
            // Checked live above; spending it is the one-winner step.
            if !tx.spend_one_time(presented.selector, tx.now())? {
                return Err(invalid_challenge());
            }
            let state = tx.account_state(user)?.ok_or_else(invalid_challenge)?;
            if !state.active {
                return Ok(Settled::Refused(refuse_inactive(tx, &attempt)?));
            }
            tx.clear_throttle(&throttle::second_factor_key(user))?;
            let method = row.method.unwrap_or(SignInMethod::Password);
            let login = self.admit(tx, &attempt, user, state.token_version, method)?;
            Ok(Settled::Done(login))
        })
    }
}
