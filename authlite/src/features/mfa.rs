//! The TOTP second factor (RFC 6238) with recovery codes. After the first factor succeeds
//! (password or magic link), an account with a confirmed TOTP gets `MfaRequired` and a
//! single-use five-minute challenge; `complete_mfa` takes the challenge with a TOTP code
//! (one step of drift, each step accepted once) or a recovery code (single use). Wrong
//! codes count toward the account's lockout, and the count is not reset until the second
//! factor succeeds.
//!
//! The TOTP secret is sealed (XChaCha20-Poly1305) with a key derived from the master key,
//! bound to the database instance and the user. With `Config::master_secret` set, a copy of
//! the file alone does not yield it; without, the master key is in the file and the seal
//! only keeps the secret out of casual view (as the audit chain's key).

use std::time::Duration;

use zeroize::Zeroizing;

use super::engine::{Engine, Record, Tx, require_user, user_not_found};
use super::one_time::parse;
use super::throttle;
use crate::crypto::secret::{self, SecretHash};
use crate::crypto::{random, seal, totp};
use crate::store::Purpose;
use crate::values::audit::AuditKind;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::session::{ClientInfo, Login};
use crate::values::user::{AccountKind, TotpEnrollment};

const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
const RECOVERY_CODES: usize = 10;

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

    /// After a first factor: `Some(MfaRequired with a challenge)` when the account has a
    /// confirmed second factor, else `None` (go on and start the session).
    pub(super) fn second_factor(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
        client: &ClientInfo,
    ) -> Result<Option<Error>> {
        if !tx.totp(user)?.is_some_and(|t| t.confirmed) {
            return Ok(None);
        }
        let challenge = self.issue_one_time(tx, user, Purpose::Mfa, CHALLENGE_TTL, None)?;
        tx.audit(AuditKind::MfaChallenged, Record::user(user).client(client))?;
        Ok(Some(Error::from_kind(ErrorKind::MfaRequired).with_challenge(challenge)))
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
        self.write(|tx| {
            let (secret, confirmed) = self.totp_secret(tx, user)?.ok_or_else(|| {
                Error::new(ErrorKind::NotFound, "no TOTP enrolment; enroll first")
            })?;
            if confirmed {
                return Ok(Err(Error::new(ErrorKind::Conflict, "TOTP is already on")));
            }
            let Some(step) = totp::check(&secret, code, now) else {
                return Ok(Err(self.wrong_code(tx, user)?));
            };
            tx.confirm_totp(user, tx.now(), step_i64(step))?;
            tx.set_recovery_codes(user, &hashes)?;
            tx.audit(AuditKind::MfaEnabled, Record::user(user))?;
            Ok(Ok(codes))
        })?
    }

    pub(crate) fn complete_mfa(
        &self,
        challenge: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let presented = parse(challenge, Purpose::Mfa)?;
        let client = client.cleaned();
        let now_secs = self.unix_seconds();
        self.write(|tx| {
            // The challenge must be live before a code is even looked at.
            let user = self.peek(tx, &presented, Purpose::Mfa)?.user;
            let account = throttle::user_key(user);
            if let Some(wait) = throttle::locked_for(tx, &account, tx.now())? {
                return Ok(Err(Error::from_kind(ErrorKind::AccountLocked).with_retry_after(wait)));
            }
            let state = tx.account_state(user)?.ok_or_else(user_not_found)?;
            let accepted = match self.totp_secret(tx, user)? {
                Some((secret, true)) => match totp::check(&secret, code, now_secs) {
                    Some(step) => tx.use_totp_step(user, step_i64(step))?, // false: a replay
                    None => self.spend_recovery_code(tx, user, code)?,
                },
                _ => false, // the factor was turned off meanwhile: nothing to check against
            };
            if !accepted {
                return Ok(Err(self.wrong_code(tx, user)?));
            }
            // Checked live above; spending it is the one-winner step.
            if !tx.spend_one_time(presented.selector, tx.now())? {
                return Err(invalid_challenge());
            }
            if !state.active {
                return Ok(Err(Error::from_kind(ErrorKind::InactiveUser)));
            }
            tx.clear_throttle(&account)?;
            Ok(Ok(self.start_session(tx, user, state.token_version, &client)?))
        })?
    }

    fn spend_recovery_code(&self, tx: &Tx<'_, '_>, user: UserId, code: &str) -> Result<bool> {
        let Some(hash) = secret::typed_code_digest(code) else { return Ok(false) };
        if !tx.spend_recovery_code(user, &hash, tx.now())? {
            return Ok(false);
        }
        tx.audit(AuditKind::RecoveryCodeUsed, Record::user(user))?;
        Ok(true)
    }

    /// Counts a wrong second-factor code toward the account's lockout and audits it.
    fn wrong_code(&self, tx: &Tx<'_, '_>, user: UserId) -> Result<Error> {
        let account = throttle::user_key(user);
        throttle::count_failure(
            tx,
            &self.config,
            &account,
            None,
            Record::user(user),
            "wrong second-factor code",
        )?;
        tx.audit(AuditKind::MfaFailed, Record::user(user))?;
        Ok(Error::from_kind(ErrorKind::InvalidCredentials))
    }

    pub(crate) fn disable_totp(&self, user: UserId) -> Result<()> {
        self.write(|tx| {
            require_user(tx, user)?;
            if tx.delete_totp(user)? {
                tx.void_one_time(user, Purpose::Mfa)?;
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

fn invalid_challenge() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid or spent challenge; log in again")
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
