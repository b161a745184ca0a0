//! The second factor: `Auth::complete_mfa` answers the challenge of an `MfaRequired` with a
//! typed code — a TOTP code or a recovery code (`features/mfa.rs` checks both); a passkey
//! answers it through `passkey.rs`. The challenge identifies the account and remembers the
//! first factor, which becomes the session's method (a passkey's own method when a passkey
//! answered, so that revoking it ends the session). Wrong answers count toward the
//! second-factor lockout (and the address), which only a correct second factor or the
//! lockout's expiry clears.

use super::{Attempt, refuse_inactive};
use crate::features::engine::{Engine, Settled, Tx};
use crate::features::mfa::WRONG_CODE;
use crate::features::one_time::parse;
use crate::features::throttle;
use crate::store::{OneTimeRow, Purpose};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;

pub(super) fn invalid_challenge() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid or spent challenge; sign in again")
}

/// A one-time-token refusal, said as a challenge's (an expiry stays an expiry).
fn challenge_error(e: Error) -> Error {
    match e.kind() {
        ErrorKind::ExpiredToken => e,
        _ => invalid_challenge(),
    }
}

impl Engine {
    pub(crate) fn complete_mfa(
        &self,
        challenge: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        self.write_settled(|tx| {
            // The challenge must be live before a code is even looked at.
            let (row, selector) = self.mfa_challenge(tx, challenge)?;
            let attempt = Attempt::of(row.user, client);
            if let Some(refused) = self.refused(tx, &attempt)? {
                return Ok(Settled::Refused(refused));
            }
            if !self.second_factor_accepts(tx, row.user, code)? {
                return Ok(Settled::Refused(self.wrong_second_factor(tx, &attempt, WRONG_CODE)?));
            }
            let method = row.method.clone().unwrap_or(SignInMethod::Password);
            self.second_factor_passed(tx, &attempt, selector, method)
        })
    }

    /// The live MFA challenge `text` names, with its selector: `InvalidToken` for anything
    /// else (malformed, unknown, spent, voided), `ExpiredToken` after its 5 minutes.
    pub(super) fn mfa_challenge<'t>(
        &self,
        tx: &Tx<'_, '_>,
        text: &'t str,
    ) -> Result<(OneTimeRow, &'t str)> {
        let presented = parse(text, Purpose::Mfa).map_err(|_| invalid_challenge())?;
        let row = self.peek(tx, &presented, Purpose::Mfa).map_err(challenge_error)?;
        Ok((row, presented.selector))
    }

    /// The challenge `selector` of `user`, if still live (a check that needs no secret: the
    /// caller proved it earlier, when a passkey ceremony was started for it).
    pub(super) fn live_challenge(
        &self,
        tx: &Tx<'_, '_>,
        selector: &str,
        user: UserId,
    ) -> Result<OneTimeRow> {
        let row = tx.one_time_token(selector)?.filter(|row| row.user == user);
        let row = row.ok_or_else(invalid_challenge)?;
        self.live(row, Purpose::Mfa).map_err(challenge_error)
    }

    /// A wrong second factor of the attempt's account, counted and audited.
    pub(super) fn wrong_second_factor(
        &self,
        tx: &Tx<'_, '_>,
        attempt: &Attempt,
        detail: &str,
    ) -> Result<Error> {
        let user = attempt.user.ok_or_else(invalid_challenge)?;
        let address = attempt.address.as_deref();
        self.second_factor_failed(tx, user, address, attempt.record(), detail)
    }

    /// The second factor was right: spends the challenge `selector` (the one-winner step),
    /// clears the second-factor count and starts the session as `method`.
    pub(super) fn second_factor_passed(
        &self,
        tx: &Tx<'_, '_>,
        attempt: &Attempt,
        selector: &str,
        method: SignInMethod,
    ) -> Result<Settled<Login>> {
        let user = attempt.user.ok_or_else(invalid_challenge)?;
        if !tx.spend_one_time(selector, tx.now())? {
            return Err(invalid_challenge());
        }
        let state = tx.account_state(user)?.ok_or_else(invalid_challenge)?;
        if !state.active {
            return Ok(Settled::Refused(refuse_inactive(tx, attempt)?));
        }
        tx.clear_throttle(&throttle::second_factor_key(user))?;
        Ok(Settled::Done(self.admit(tx, attempt, user, state.token_version, method)?))
    }
}
