//! The one sign-in pipeline (DESIGN §11). Every way in runs the same stages:
//!
//! 1. **identify** the account ([`Attempt`]: the account, or the unknown name, and the
//!    client address, each with its throttle key);
//! 2. **may it sign in** ([`Engine::refusal`]): neither factor's lockout on the account,
//!    the address not throttled — checked before any work is spent, and again inside the
//!    transaction;
//! 3. **verify the first factor**: one file per factor (`password.rs`, `magic_link.rs`);
//!    a failure counts toward the first-factor lockout and the address
//!    ([`Engine::first_factor_failed`]);
//! 4. **second factor when required** ([`Engine::signed_in`]): an account with one, signing
//!    in with a factor that is not phishing-resistant, gets `MfaRequired` with a single-use
//!    challenge that remembers the first factor; `second_factor.rs` answers it;
//! 5. **start the session** ([`Engine::admit`]) with its [`SignInMethod`], clear the
//!    failure counts the success proves, and **audit** — all in the transaction of the
//!    factor that succeeded.

mod magic_link;
mod passkey;
mod password;
mod provider;
mod second_factor;

use std::time::Duration;

use super::engine::{Engine, Record, Settled, Tx, user_not_found};
use super::{accounts, sessions, throttle};
use crate::store::{Conn, NewSession, Purpose};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::factor::Factor;
use crate::values::ids::UserId;
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;

/// How long a second-factor challenge lives.
const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

/// Stage 1: who is trying, from where, and the throttle keys that judge them.
pub(super) struct Attempt {
    /// The account, when the name (or the credential) identified one.
    pub(super) user: Option<UserId>,
    /// The first-factor counter: the account's, or the unknown name's.
    account: String,
    /// The client address's counter, when there is an address.
    address: Option<String>,
    /// The client as stored and audited (truncated, control characters replaced).
    pub(super) client: ClientInfo,
}

impl Attempt {
    /// An attempt naming `user` (or, unknown, the name `lookup_key` / `raw`).
    pub(super) fn named(
        user: Option<UserId>,
        lookup_key: Option<&str>,
        raw: &str,
        client: &ClientInfo,
    ) -> Attempt {
        let client = client.cleaned();
        Attempt {
            user,
            account: throttle::account_key(user, lookup_key, raw),
            address: throttle::address_key(client.ip.as_deref()),
            client,
        }
    }

    /// An attempt whose credential identified `user` (a link, a challenge).
    pub(super) fn of(user: UserId, client: &ClientInfo) -> Attempt {
        Attempt::named(Some(user), None, "", client)
    }

    fn record(&self) -> Record<'_> {
        Record::about(self.user).client(&self.client)
    }
}

/// Why an attempt is refused before its factor is looked at.
#[derive(Debug, Clone, Copy)]
pub(super) enum Refusal {
    Account(Duration),
    Address(Duration),
}

impl Engine {
    /// Stage 2: whether `attempt` may go on at `now`. The account is locked while either
    /// factor's counter locks it; the address while it is throttled.
    pub(super) fn refusal(
        &self,
        conn: &Conn<'_>,
        attempt: &Attempt,
        now: i64,
    ) -> Result<Option<Refusal>> {
        let mut wait = throttle::locked_for(conn, &attempt.account, now)?;
        if let Some(user) = attempt.user {
            let second = throttle::locked_for(conn, &throttle::second_factor_key(user), now)?;
            wait = wait.max(second);
        }
        if let Some(wait) = wait {
            return Ok(Some(Refusal::Account(wait)));
        }
        match &attempt.address {
            Some(address) => Ok(throttle::locked_for(conn, address, now)?.map(Refusal::Address)),
            None => Ok(None),
        }
    }

    /// Stage 2 inside the factor's transaction: `Some(the refusal, audited)` when the
    /// attempt may not go on.
    pub(super) fn refused(&self, tx: &Tx<'_, '_>, attempt: &Attempt) -> Result<Option<Error>> {
        match self.refusal(tx, attempt, tx.now())? {
            Some(refusal) => Ok(Some(record_refusal(tx, refusal, attempt)?)),
            None => Ok(None),
        }
    }

    /// Stage 3 failed: counts toward the first-factor lockout and the address, audited.
    pub(super) fn first_factor_failed(
        &self,
        tx: &Tx<'_, '_>,
        attempt: &Attempt,
        detail: &str,
    ) -> Result<Error> {
        let address = attempt.address.as_deref();
        throttle::count_failure(
            tx,
            &self.config,
            &attempt.account,
            address,
            attempt.record(),
            detail,
        )?;
        Ok(Error::from_kind(ErrorKind::InvalidCredentials))
    }

    /// Stages 4 and 5 after a first factor proved `user` as `method`: refused for an
    /// inactive account, `MfaRequired` when a second factor is due, else the session.
    pub(super) fn signed_in(
        &self,
        tx: &Tx<'_, '_>,
        attempt: &Attempt,
        user: UserId,
        method: SignInMethod,
    ) -> Result<Settled<Login>> {
        let state = tx.account_state(user)?.ok_or_else(user_not_found)?;
        if !state.active {
            return Ok(Settled::Refused(refuse_inactive(tx, attempt)?));
        }
        let factors = self.second_factors(tx, user)?;
        if !factors.is_empty() && !phishing_resistant(&method) {
            // The first-factor count stays until the second factor is shown too.
            let challenge =
                self.issue_one_time(tx, user, Purpose::Mfa, CHALLENGE_TTL, None, Some(&method))?;
            tx.audit(AuditKind::MfaChallenged, attempt.record())?;
            return Ok(Settled::Refused(Error::mfa_required(challenge, factors)));
        }
        Ok(Settled::Done(self.admit(tx, attempt, user, state.token_version, method)?))
    }

    /// Stage 5: the sign-in succeeded. Clears the first-factor count (the second factor's
    /// is cleared by the factor itself), starts the session, audits.
    fn admit(
        &self,
        tx: &Tx<'_, '_>,
        attempt: &Attempt,
        user: UserId,
        token_version: i64,
        method: SignInMethod,
    ) -> Result<Login> {
        tx.clear_throttle(&throttle::user_key(user))?;
        let now = tx.now();
        tx.touch_login(user, now)?;
        let expires_at = now.saturating_add(millis(self.config.session_lifetime));
        let idle_expires_at =
            now.saturating_add(millis(self.config.session_idle_timeout)).min(expires_at);
        let client = &attempt.client;
        let row = NewSession { user, now, idle_expires_at, expires_at, client, method: &method };
        let session_id = tx.insert_session(&row)?;
        let window = (idle_expires_at, expires_at);
        let tokens = self.issue_pair(tx, user, session_id, token_version, window)?;
        let record = Record::session(user, session_id).client(client).detail(method.to_stored());
        tx.audit(AuditKind::LoginSucceeded, record)?;
        Ok(Login {
            user: accounts::load(tx, user)?,
            session: sessions::load(tx, session_id)?,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            access_expires_at: tokens.access_expires_at,
        })
    }

    /// The second factors `user` can answer a challenge with; empty: none is required.
    /// A second factor is required once TOTP is on; the account's passkeys can then answer
    /// too (a passkey alone is an alternative way in, not a requirement on passwords).
    fn second_factors(&self, conn: &Conn<'_>, user: UserId) -> Result<Vec<Factor>> {
        let mut factors = Vec::new();
        if conn.totp(user)?.is_some_and(|t| t.confirmed) {
            factors.push(Factor::Totp);
            if conn.has_recovery_code(user)? {
                factors.push(Factor::RecoveryCode);
            }
            if !conn.passkeys_of(user)?.is_empty() {
                factors.push(Factor::Passkey);
            }
        }
        Ok(factors)
    }
}

/// A first factor that already proves possession of an origin-bound key needs no second.
fn phishing_resistant(method: &SignInMethod) -> bool {
    matches!(method, SignInMethod::Passkey(_))
}

/// Records and returns the refusal of a proven attempt on a deactivated account.
fn refuse_inactive(tx: &Tx<'_, '_>, attempt: &Attempt) -> Result<Error> {
    tx.audit(AuditKind::LoginFailed, attempt.record().detail("user deactivated"))?;
    Ok(Error::from_kind(ErrorKind::InactiveUser))
}

/// Records and returns the refusal of an attempt that was throttled before its factor was
/// looked at.
fn record_refusal(tx: &Tx<'_, '_>, refusal: Refusal, attempt: &Attempt) -> Result<Error> {
    let (kind, audit_kind, wait) = match refusal {
        Refusal::Account(wait) => (ErrorKind::AccountLocked, AuditKind::LoginLocked, wait),
        Refusal::Address(wait) => (ErrorKind::RateLimited, AuditKind::LoginRateLimited, wait),
    };
    tx.audit(audit_kind, attempt.record())?;
    Ok(Error::from_kind(kind).with_retry_after(wait))
}
