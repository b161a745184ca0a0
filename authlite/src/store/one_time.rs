//! The `one_time_tokens` table: password reset, email verification, magic links and
//! second-factor challenges.

use super::sql::{args, malformed};

use super::{Conn, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::error::Result;
use crate::values::ids::UserId;
use crate::values::signin::SignInMethod;

const INSERT: &str = "INSERT INTO one_time_tokens \
     (selector, user_id, purpose, secret_hash, email_key, created_at, expires_at, method) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const LOOKUP: &str = "SELECT t.user_id, t.purpose, t.secret_hash, t.email_key, t.expires_at, \
     t.spent_at IS NOT NULL, u.email_key, t.method \
     FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE t.selector = ?1";
const SPEND: &str =
    "UPDATE one_time_tokens SET spent_at = ?2 WHERE selector = ?1 AND spent_at IS NULL";
/// Voids (deletes) a user's unspent tokens of one purpose.
const VOID: &str =
    "DELETE FROM one_time_tokens WHERE user_id = ?1 AND purpose = ?2 AND spent_at IS NULL";
/// The same two statements on `one_time_pad`, for requests naming nobody.
const INSERT_PAD: &str = "INSERT INTO one_time_pad \
     (selector, user_id, purpose, secret_hash, email_key, created_at, expires_at, method) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const VOID_PAD: &str =
    "DELETE FROM one_time_pad WHERE user_id = ?1 AND purpose = ?2 AND spent_at IS NULL";
const PURGE: &str = "DELETE FROM one_time_tokens WHERE expires_at <= ?1 OR spent_at IS NOT NULL";

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Reset,
    Verify,
    Magic,
    Mfa,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Verify => "verify",
            Purpose::Magic => "magic",
            Purpose::Mfa => "mfa",
        }
    }
}

/// A stored one-time token, with the account's current email key.
pub(crate) struct OneTimeRow {
    pub(crate) user: UserId,
    pub(crate) purpose: String,
    pub(crate) secret_hash: Vec<u8>,
    /// For verification: the address the token proves.
    pub(crate) email_key: Option<String>,
    pub(crate) expires_at: i64,
    pub(crate) spent: bool,
    pub(crate) user_email_key: Option<String>,
    /// For a second-factor challenge: the first factor it follows.
    pub(crate) method: Option<SignInMethod>,
}

impl OneTimeRow {
    pub(crate) fn is(&self, purpose: Purpose) -> bool {
        self.purpose == purpose.as_str()
    }
}

/// A new token's row.
pub(crate) struct NewOneTime<'a> {
    pub(crate) selector: &'a str,
    pub(crate) user: UserId,
    pub(crate) purpose: Purpose,
    pub(crate) hash: &'a SecretHash,
    pub(crate) email_key: Option<&'a str>,
    pub(crate) now: i64,
    pub(crate) expires_at: i64,
    pub(crate) method: Option<&'a SignInMethod>,
}

impl Conn<'_> {
    pub(crate) fn one_time_token(&self, selector: &str) -> Result<Option<OneTimeRow>> {
        self.row(LOOKUP, args![selector], |r| {
            Ok(OneTimeRow {
                user: r.get(0)?,
                purpose: r.get(1)?,
                secret_hash: r.get(2)?,
                email_key: r.get(3)?,
                expires_at: r.get(4)?,
                spent: r.get(5)?,
                user_email_key: r.get(6)?,
                method: match r.get::<Option<String>>(7)? {
                    Some(stored) => Some(
                        SignInMethod::from_stored(&stored)
                            .ok_or_else(|| malformed("sign-in method"))?,
                    ),
                    None => None,
                },
            })
        })
    }
}

impl WriteTx<'_> {
    /// Voids the user's older tokens of the purpose and stores the new one.
    pub(crate) fn replace_one_time(&self, t: &NewOneTime<'_>) -> Result<()> {
        self.void_one_time(t.user, t.purpose)?;
        self.insert_into(INSERT, t)
    }

    /// Does what [`WriteTx::replace_one_time`] does, on the unlinked `one_time_pad` table:
    /// the same work for a request that names nobody.
    pub(crate) fn pad_one_time(&self, t: &NewOneTime<'_>) -> Result<()> {
        self.run(VOID_PAD, args![t.user, t.purpose.as_str()])?;
        self.insert_into(INSERT_PAD, t)
    }

    fn insert_into(&self, sql: &'static str, t: &NewOneTime<'_>) -> Result<()> {
        let method = t.method.map(SignInMethod::to_stored);
        self.run(
            sql,
            args![
                t.selector,
                t.user,
                t.purpose.as_str(),
                &t.hash[..],
                t.email_key,
                t.now,
                t.expires_at,
                method.as_deref()
            ],
        )?;
        Ok(())
    }

    /// Spends a token; `false` if someone already did (exactly one redeemer wins).
    pub(crate) fn spend_one_time(&self, selector: &str, now: i64) -> Result<bool> {
        Ok(self.revoke(SPEND, args![selector, now])? > 0)
    }

    /// Voids a user's unspent tokens of `purpose`; returns how many.
    pub(crate) fn void_one_time(&self, user: UserId, purpose: Purpose) -> Result<usize> {
        self.revoke(VOID, args![user, purpose.as_str()])
    }

    /// Deletes spent and expired tokens.
    pub(crate) fn purge_one_time(&self, now: i64) -> Result<usize> {
        self.run(PURGE, args![now])
    }
}
