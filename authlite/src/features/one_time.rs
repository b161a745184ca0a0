//! One-time tokens: password reset, email verification and magic sign-in links, all in the
//! crate's one opaque-secret format with a prefix per purpose (`rst_`, `evt_`, `mgl_`;
//! second-factor challenges `mfa_`). Hashed at rest, single use with exactly one winner
//! (spent inside `BEGIN IMMEDIATE`), bound to purpose and user, short-lived, and a new
//! request voids older ones of the same purpose.
//!
//! Lifetimes (`Config`): reset 30 min and magic link 15 min (OWASP Forgot Password Cheat
//! Sheet: tokens short-lived and single use), verification 3 days.

use std::time::Duration;

use super::accounts;
use super::engine::{Engine, Record, Tx};
use super::lifecycle::{self, AccountEvent};
use crate::crypto::secret::{self, Issued, Presented};
use crate::store::{NewOneTime, Purpose};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::UserId;
use crate::values::names;
use crate::values::signin::SignInMethod;
use crate::values::user::{AccountKind, User};

fn prefix(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Reset => "rst_",
        Purpose::Verify => "evt_",
        Purpose::Magic => "mgl_",
        Purpose::Mfa => "mfa_",
    }
}

pub(super) fn invalid() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid or spent one-time token")
}

/// The row of a newly issued token.
fn one_time_row<'a>(
    tx: &Tx<'_, '_>,
    issued: &'a Issued,
    user: UserId,
    purpose: Purpose,
    ttl: Duration,
    email_key: Option<&'a str>,
    method: Option<&'a SignInMethod>,
) -> NewOneTime<'a> {
    let now = tx.now();
    NewOneTime {
        selector: &issued.selector,
        user,
        purpose,
        hash: &issued.hash,
        email_key,
        now,
        expires_at: now.saturating_add(millis(ttl)),
        method,
    }
}

/// Parses a presented token of `purpose` (a token of another purpose has another prefix).
pub(super) fn parse(token: &str, purpose: Purpose) -> Result<Presented<'_>> {
    secret::parse(token, prefix(purpose), "malformed one-time token")
}

impl Engine {
    /// Issues a token of `purpose` for `user`, voiding their older unspent ones of it. A
    /// verification token names the address it proves; a challenge, the first factor.
    pub(super) fn issue_one_time(
        &self,
        tx: &Tx<'_, '_>,
        user: UserId,
        purpose: Purpose,
        ttl: Duration,
        email_key: Option<&str>,
        method: Option<&SignInMethod>,
    ) -> Result<String> {
        let issued = secret::issue(prefix(purpose))?;
        let row = one_time_row(tx, &issued, user, purpose, ttl, email_key, method);
        tx.replace_one_time(&row)?;
        Ok(issued.text)
    }

    /// Spends a presented token of `purpose` inside `tx` and returns its account. Unknown,
    /// tampered, of another purpose or already spent: `InvalidToken`; expired:
    /// `ExpiredToken`. Of concurrent redeemers exactly one gets `Ok`.
    pub(super) fn redeem(
        &self,
        tx: &Tx<'_, '_>,
        presented: &Presented<'_>,
        purpose: Purpose,
    ) -> Result<UserId> {
        let row = self.peek(tx, presented, purpose)?;
        if !tx.spend_one_time(presented.selector, tx.now())? {
            return Err(invalid());
        }
        Ok(row.user)
    }

    /// The checks of [`Engine::redeem`] without spending (to learn whose token it is).
    pub(super) fn peek(
        &self,
        conn: &crate::store::Conn<'_>,
        presented: &Presented<'_>,
        purpose: Purpose,
    ) -> Result<crate::store::OneTimeRow> {
        let row = conn.one_time_token(presented.selector)?.ok_or_else(invalid)?;
        if !presented.matches(&row.secret_hash) {
            return Err(invalid());
        }
        self.live(row, purpose)
    }

    /// `row` if it is a token of `purpose` that is unspent, unexpired and (verification)
    /// still for the account's address: the checks every use of a stored token makes.
    pub(super) fn live(
        &self,
        row: crate::store::OneTimeRow,
        purpose: Purpose,
    ) -> Result<crate::store::OneTimeRow> {
        if !row.is(purpose) || row.spent {
            return Err(invalid());
        }
        if self.now_ms() >= row.expires_at {
            return Err(Error::new(ErrorKind::ExpiredToken, "one-time token expired"));
        }
        if purpose == Purpose::Verify && row.email_key != row.user_email_key {
            return Err(Error::new(ErrorKind::InvalidToken, "the email address has changed"));
        }
        Ok(row)
    }

    /// A token for a person found by username or email, or `None` (unknown, malformed, a
    /// service account). Known and unknown names cost the same: a secret is made and one
    /// audited write transaction runs either way.
    fn request(
        &self,
        name: &str,
        purpose: Purpose,
        ttl: Duration,
        event: AuditKind,
    ) -> Result<Option<String>> {
        let lookup = names::lookup(name).ok();
        let found = match &lookup {
            Some(l) => self.store.read(|conn| conn.credentials(accounts::user_key(l)))?,
            None => None,
        };
        let user = found.filter(|f| f.kind == AccountKind::Person).map(|f| f.id);
        self.write(|tx| match user {
            Some(id) => {
                let token = self.issue_one_time(tx, id, purpose, ttl, None, None)?;
                tx.audit(event, Record::user(id))?;
                Ok(Some(token))
            }
            None => {
                // The same work as for a known name, on a table linked to nobody.
                let issued = secret::issue(prefix(purpose))?;
                let row = one_time_row(tx, &issued, UserId(0), purpose, ttl, None, None);
                tx.pad_one_time(&row)?;
                tx.audit(event, Record::default().detail("unknown name"))?;
                Ok(None)
            }
        })
    }

    pub(crate) fn request_password_reset(&self, name: &str) -> Result<Option<String>> {
        let ttl = self.config.password_reset_ttl;
        self.request(name, Purpose::Reset, ttl, AuditKind::PasswordResetRequested)
    }

    pub(crate) fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        let presented = parse(token, Purpose::Reset)?;
        let user = self.store.read(|conn| self.peek(conn, &presented, Purpose::Reset))?.user;
        let account = self.user(user)?;
        let hash = self.hash_new_password(&account, new_password)?;
        self.write(|tx| {
            if self.redeem(tx, &presented, Purpose::Reset)? != user {
                return Err(invalid());
            }
            tx.set_password(user, &hash, tx.now())?;
            let ended = lifecycle::apply(tx, user, AccountEvent::PasswordReset)?;
            let detail = format!("sessions ended={ended}");
            tx.audit(AuditKind::PasswordReset, Record::user(user).detail(detail))
        })
    }

    pub(crate) fn email_verification_token(&self, user: UserId) -> Result<String> {
        let ttl = self.config.email_verification_ttl;
        self.write(|tx| {
            let account = accounts::load(tx, user)?;
            let email = account
                .email
                .as_deref()
                .ok_or_else(|| Error::invalid_input("the user has no email address"))?;
            let key = names::email(email)?.key;
            let token = self.issue_one_time(tx, user, Purpose::Verify, ttl, Some(&key), None)?;
            tx.audit(AuditKind::EmailVerificationIssued, Record::user(user))?;
            Ok(token)
        })
    }

    pub(crate) fn verify_email(&self, token: &str) -> Result<User> {
        let presented = parse(token, Purpose::Verify)?;
        self.write(|tx| {
            let user = self.redeem(tx, &presented, Purpose::Verify)?;
            tx.set_email_verified(user, tx.now())?;
            tx.audit(AuditKind::EmailVerified, Record::user(user))?;
            accounts::load(tx, user)
        })
    }

    pub(crate) fn request_magic_link(&self, name: &str) -> Result<Option<String>> {
        let ttl = self.config.magic_link_ttl;
        self.request(name, Purpose::Magic, ttl, AuditKind::MagicLinkRequested)
    }
}
