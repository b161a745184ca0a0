//! The TOTP second factor (RFC 6238) with recovery codes: enrolment, confirmation,
//! removal, and the check of a typed code ([`Engine::second_factor_accepts`]: a TOTP code
//! with one step of drift, each step accepted once, or a single-use recovery code) that the
//! sign-in pipeline's `complete_mfa` (`signin/second_factor.rs`) asks. Turning TOTP on ends
//! every session that never showed it; turning it off voids pending challenges (both
//! through the lifecycle rule).
//!
//! The TOTP secret is sealed (XChaCha20-Poly1305) with a key derived from the master key,
//! bound to the database instance and the user. With `Config::master_secret` set, a copy of
//! the file alone does not yield it; without, the master key is in the file and the seal
//! only keeps the secret out of casual view (as the audit chain's key).

use zeroize::Zeroizing;

use super::engine::{Engine, Record, Settled, Tx, require_user};
use super::lifecycle::{self, AccountEvent};
use super::throttle;
use crate::crypto::secret::{self, SecretHash};
use crate::crypto::{random, seal, totp};
use crate::values::audit::AuditKind;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::user::{AccountKind, TotpEnrollment};

const RECOVERY_CODES: usize = 10;

/// The detail and message of a wrong TOTP or recovery code.
pub(super) const WRONG_CODE: &str = "wrong second-factor code";

impl Engine {
    /// The sealing context of a user's TOTP secret.
    fn totp_aad(&self, user: UserId) -> Vec<u8> {
        format!("{}\0totp\0{user}", self.instance_id).into_bytes()
    }

    /// The user's TOTP secret and whether it is confirmed; `None` when not enrolled.
    fn totp_secret(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
    ) -> Result<Option<(Zeroizing<Vec<u8>>, bool)>> {
        let Some(row) = tx.totp(user)? else { return Ok(None) };
        let secret = seal::open(&self.totp_key, &self.totp_aad(user), &row.secret)?;
        Ok(Some((secret, row.confirmed)))
    }

    pub(crate) fn enroll_totp(&self, user: UserId) -> Result<TotpEnrollment> {
        let account = self.user(user)?;
        if account.kind != AccountKind::Person {
            return Err(Error::invalid_input("service accounts have no second factor"));
        }
        let raw = Zeroizing::new(random::bytes::<{ totp::SECRET_BYTES }>()?);
        let uri = totp::uri(&raw[..], &self.config.issuer, &account.username)?;
        let sealed = seal::seal(&self.totp_key, &self.totp_aad(user), &raw[..])?;
        self.write(|tx| {
            if tx.totp(user)?.is_some_and(|t| t.confirmed) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "TOTP is already on; disable it first",
                ));
            }
            tx.put_totp(user, &sealed)?;
            tx.audit(AuditKind::MfaEnrolled, Record::user(user))
        })?;
        Ok(TotpEnrollment { secret: totp::base32(&raw[..]).to_string(), otpauth_uri: uri })
    }

    pub(crate) fn confirm_totp(&self, user: UserId, code: &str) -> Result<Vec<String>> {
        let (codes, hashes) = recovery_codes()?;
        let now = self.unix_seconds();
        self.write_settled(|tx| {
            let (secret, confirmed) = self.totp_secret(tx, user)?.ok_or_else(|| {
                Error::new(ErrorKind::NotFound, "no TOTP enrolment; enroll first")
            })?;
            if confirmed {
                return Err(Error::new(ErrorKind::Conflict, "TOTP is already on"));
            }
            let Some(step) = totp::check(&secret, code, now) else {
                let wrong =
                    self.second_factor_failed(tx, user, None, Record::user(user), WRONG_CODE)?;
                return Ok(Settled::Refused(wrong));
            };
            tx.confirm_totp(user, tx.now(), step_i64(step))?;
            tx.set_recovery_codes(user, &hashes)?;
            let ended = lifecycle::apply(tx, user, AccountEvent::FactorEnabled)?;
            let record = Record::user(user).detail(format!("sessions ended={ended}"));
            tx.audit(AuditKind::MfaEnabled, record)?;
            Ok(Settled::Done(codes))
        })
    }

    /// Whether `code` is a right second factor for `user` now: a TOTP code not used before,
    /// else one of their unspent recovery codes (spent by this call).
    pub(super) fn second_factor_accepts(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
        code: &str,
    ) -> Result<bool> {
        match self.totp_secret(tx, user)? {
            Some((secret, true)) => match totp::check(&secret, code, self.unix_seconds()) {
                Some(step) => tx.use_totp_step(user, step_i64(step)), // false: a replay
                None => self.spend_recovery_code(tx, user, code),
            },
            _ => Ok(false), // the factor was turned off meanwhile: nothing to check against
        }
    }

    fn spend_recovery_code(&self, tx: &Tx<'_, '_>, user: UserId, code: &str) -> Result<bool> {
        let Some(hash) = secret::typed_code_digest(code) else { return Ok(false) };
        if !tx.spend_recovery_code(user, &hash, tx.now())? {
            return Ok(false);
        }
        tx.audit(AuditKind::RecoveryCodeUsed, Record::user(user))?;
        Ok(true)
    }

    /// Counts a wrong second factor (a code at confirmation or sign-in, a passkey that did
    /// not verify) toward the second-factor lockout and the client `address`, if any,
    /// audited as `record` with `detail`.
    pub(super) fn second_factor_failed(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
        address: Option<&str>,
        record: Record<'_>,
        detail: &str,
    ) -> Result<Error> {
        let key = throttle::second_factor_key(user);
        throttle::count_failure(tx, &self.config, &key, address, record.clone(), detail)?;
        tx.audit(AuditKind::MfaFailed, record.detail(detail))?;
        Ok(Error::new(ErrorKind::InvalidCredentials, detail.to_owned()))
    }

    pub(crate) fn disable_totp(&self, user: UserId) -> Result<()> {
        self.write(|tx| {
            require_user(tx, user)?;
            if tx.delete_totp(user)? {
                lifecycle::apply(tx, user, AccountEvent::FactorRemoved)?;
                tx.audit(AuditKind::MfaDisabled, Record::user(user))?;
            }
            Ok(())
        })
    }

    pub(crate) fn regenerate_recovery_codes(&self, user: UserId) -> Result<Vec<String>> {
        let (codes, hashes) = recovery_codes()?;
        self.write(|tx| {
            require_user(tx, user)?;
            if !tx.totp(user)?.is_some_and(|t| t.confirmed) {
                return Err(Error::invalid_input("recovery codes need TOTP turned on"));
            }
            tx.set_recovery_codes(user, &hashes)?;
            tx.audit(AuditKind::RecoveryCodesRegenerated, Record::user(user))?;
            Ok(codes)
        })
    }

    fn unix_seconds(&self) -> u64 {
        u64::try_from(self.now_ms() / 1000).unwrap_or(0)
    }
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Ten fresh recovery codes and their digests.
fn recovery_codes() -> Result<(Vec<String>, Vec<SecretHash>)> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let (code, hash) = secret::issue_code()?;
        codes.push(code.to_string());
        hashes.push(hash);
    }
    Ok((codes, hashes))
}
