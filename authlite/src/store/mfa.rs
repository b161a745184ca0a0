//! The `totp` and `recovery_codes` tables.

use super::sql::args;

use super::{Conn, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::error::Result;
use crate::values::ids::UserId;

const TOTP: &str = "SELECT secret, confirmed_at IS NOT NULL FROM totp WHERE user_id = ?1";
const PUT_TOTP: &str = "INSERT INTO totp (user_id, secret, confirmed_at, last_step) \
     VALUES (?1, ?2, NULL, 0) ON CONFLICT (user_id) \
     DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0";
const CONFIRM: &str = "UPDATE totp SET confirmed_at = ?2, last_step = ?3 WHERE user_id = ?1";
/// Accepts a time step only if it is newer than every step accepted before.
const USE_STEP: &str = "UPDATE totp SET last_step = ?2 WHERE user_id = ?1 AND last_step < ?2";
const DELETE_TOTP: &str = "DELETE FROM totp WHERE user_id = ?1";
const ADD_CODE: &str = "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)";
const SPEND_CODE: &str = "UPDATE recovery_codes SET spent_at = ?3 \
     WHERE user_id = ?1 AND code_hash = ?2 AND spent_at IS NULL";
const DELETE_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = ?1";
const HAS_UNSPENT_CODE: &str =
    "SELECT EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = ?1 AND spent_at IS NULL)";

/// A user's TOTP enrolment.
pub(crate) struct TotpRow {
    /// Sealed.
    pub(crate) secret: Vec<u8>,
    pub(crate) confirmed: bool,
}

impl Conn<'_> {
    pub(crate) fn totp(&self, user: UserId) -> Result<Option<TotpRow>> {
        self.row(TOTP, args![user], |r| Ok(TotpRow { secret: r.get(0)?, confirmed: r.get(1)? }))
    }

    /// Whether the user has a recovery code left.
    pub(crate) fn has_recovery_code(&self, user: UserId) -> Result<bool> {
        Ok(self.row(HAS_UNSPENT_CODE, args![user], |r| r.get(0))?.unwrap_or(false))
    }
}

impl WriteTx<'_> {
    /// A new, unconfirmed enrolment (replacing any earlier one).
    pub(crate) fn put_totp(&self, user: UserId, sealed: &[u8]) -> Result<()> {
        self.run(PUT_TOTP, args![user, sealed])?;
        Ok(())
    }

    pub(crate) fn confirm_totp(&self, user: UserId, now: i64, step: i64) -> Result<()> {
        self.run(CONFIRM, args![user, now, step])?;
        Ok(())
    }

    /// Records `step` as used; `false` if it (or a newer one) was used already: a replay.
    pub(crate) fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        Ok(self.revoke(USE_STEP, args![user, step])? > 0)
    }

    /// Removes the second factor and its recovery codes.
    pub(crate) fn delete_totp(&self, user: UserId) -> Result<bool> {
        self.run(DELETE_CODES, args![user])?;
        Ok(self.revoke(DELETE_TOTP, args![user])? > 0)
    }

    /// Replaces a user's recovery codes.
    pub(crate) fn set_recovery_codes(&self, user: UserId, hashes: &[SecretHash]) -> Result<()> {
        self.run(DELETE_CODES, args![user])?;
        for hash in hashes {
            self.run(ADD_CODE, args![user, &hash[..]])?;
        }
        Ok(())
    }

    /// Spends the code with this digest; `false` if there is no such unspent code.
    pub(crate) fn spend_recovery_code(
        &self,
        user: UserId,
        hash: &SecretHash,
        now: i64,
    ) -> Result<bool> {
        Ok(self.revoke(SPEND_CODE, args![user, &hash[..], now])? > 0)
    }
}
