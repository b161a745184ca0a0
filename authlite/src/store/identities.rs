//! The `identities` and `oidc_flows` tables (DESIGN §13).

use super::sql::{Row, args, malformed};
use super::{Conn, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::clock::from_millis;
use crate::values::error::Result;
use crate::values::identity::Identity;
use crate::values::ids::{IdentityId, UserId};

/// A `SELECT` of every identity column (in `identity_from_row`'s order) `WHERE ...`.
macro_rules! select_identities {
    ($where:literal) => {
        concat!(
            "SELECT id, user_id, provider, issuer, subject, email, linked_at, last_used_at ",
            "FROM identities ",
            $where
        )
    };
}
const BY_ID: &str = select_identities!("WHERE id = ?1");
const BY_SUBJECT: &str = select_identities!("WHERE issuer = ?1 AND subject = ?2");
const OF_USER: &str = select_identities!("WHERE user_id = ?1 ORDER BY id");
const COUNT_OF_USER: &str = "SELECT count(*) FROM identities WHERE user_id = ?1";
const INSERT: &str = "INSERT INTO identities (user_id, provider, issuer, subject, email, \
     linked_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id";
const USED: &str = "UPDATE identities SET email = ?2, last_used_at = ?3 WHERE id = ?1";
const DELETE: &str = "DELETE FROM identities WHERE id = ?1";

const INSERT_FLOW: &str = "INSERT INTO oidc_flows (selector, secret_hash, kind, provider, \
     user_id, nonce, pkce_verifier, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const FLOW: &str = "SELECT secret_hash, kind, provider, user_id, nonce, pkce_verifier, \
     expires_at FROM oidc_flows WHERE selector = ?1";
const DELETE_FLOW: &str = "DELETE FROM oidc_flows WHERE selector = ?1";
const PURGE_FLOWS: &str = "DELETE FROM oidc_flows WHERE expires_at <= ?1";

/// What a provider flow is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlowKind {
    /// Sign in (or up).
    Login,
    /// Link another identity to a signed-in account.
    Link,
}

impl FlowKind {
    fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Link => "link",
        }
    }

    fn from_stored(stored: &str) -> Option<FlowKind> {
        [FlowKind::Login, FlowKind::Link].into_iter().find(|k| k.as_str() == stored)
    }
}

/// A started flow's row (its selector and secret hash aside).
pub(crate) struct Flow<'a> {
    pub(crate) kind: FlowKind,
    pub(crate) provider: &'a str,
    /// The account a link is for.
    pub(crate) user: Option<UserId>,
    pub(crate) nonce: &'a str,
    pub(crate) pkce_verifier: &'a str,
}

/// A flow as stored.
pub(crate) struct FlowRow {
    pub(crate) secret_hash: Vec<u8>,
    pub(crate) kind: FlowKind,
    pub(crate) provider: String,
    pub(crate) user: Option<UserId>,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    pub(crate) expires_at: i64,
}

/// A new identity's row.
pub(crate) struct NewIdentity<'a> {
    pub(crate) user: UserId,
    pub(crate) provider: &'a str,
    pub(crate) issuer: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) email: Option<&'a str>,
    pub(crate) now: i64,
}

fn identity_from_row(r: &Row<'_>) -> Result<Identity> {
    Ok(Identity {
        id: r.get(0)?,
        user_id: r.get(1)?,
        provider: r.get(2)?,
        issuer: r.get(3)?,
        subject: r.get(4)?,
        email: r.get(5)?,
        linked_at: from_millis(r.get(6)?),
        last_used_at: r.get::<Option<i64>>(7)?.map(from_millis),
    })
}

impl Conn<'_> {
    pub(crate) fn identity(&self, id: IdentityId) -> Result<Option<Identity>> {
        self.row(BY_ID, args![id], identity_from_row)
    }

    pub(crate) fn identity_by_subject(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Identity>> {
        self.row(BY_SUBJECT, args![issuer, subject], identity_from_row)
    }

    /// A user's identities, oldest first.
    pub(crate) fn identities_of(&self, user: UserId) -> Result<Vec<Identity>> {
        self.rows(OF_USER, args![user], identity_from_row)
    }

    pub(crate) fn identity_count(&self, user: UserId) -> Result<usize> {
        let n: i64 = self.row(COUNT_OF_USER, args![user], |r| r.get(0))?.unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(crate) fn oidc_flow(&self, selector: &str) -> Result<Option<FlowRow>> {
        self.row(FLOW, args![selector], |r| {
            let kind: String = r.get(1)?;
            Ok(FlowRow {
                secret_hash: r.get(0)?,
                kind: FlowKind::from_stored(&kind).ok_or_else(|| malformed("flow kind"))?,
                provider: r.get(2)?,
                user: r.get(3)?,
                nonce: r.get(4)?,
                pkce_verifier: r.get(5)?,
                expires_at: r.get(6)?,
            })
        })
    }
}

impl WriteTx<'_> {
    pub(crate) fn insert_identity(&self, i: &NewIdentity<'_>) -> Result<IdentityId> {
        let args = args![i.user, i.provider, i.issuer, i.subject, i.email, i.now];
        self.insert(INSERT, args).map(IdentityId)
    }

    /// Records a sign-in with the identity and the email the provider asserted.
    pub(crate) fn identity_used(
        &self,
        id: IdentityId,
        email: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.run(USED, args![id, email, now])?;
        Ok(())
    }

    /// `false` when there is no such identity.
    pub(crate) fn delete_identity(&self, id: IdentityId) -> Result<bool> {
        Ok(self.revoke(DELETE, args![id])? > 0)
    }

    pub(crate) fn insert_oidc_flow(
        &self,
        selector: &str,
        hash: &SecretHash,
        f: &Flow<'_>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let args = args![
            selector,
            &hash[..],
            f.kind.as_str(),
            f.provider,
            f.user,
            f.nonce,
            f.pkce_verifier,
            now,
            expires_at
        ];
        self.run(INSERT_FLOW, args)?;
        Ok(())
    }

    /// Ends a flow; `false` if it was already gone (exactly one finisher wins).
    pub(crate) fn delete_oidc_flow(&self, selector: &str) -> Result<bool> {
        Ok(self.run(DELETE_FLOW, args![selector])? > 0)
    }

    /// Deletes expired flows.
    pub(crate) fn purge_oidc_flows(&self, now: i64) -> Result<usize> {
        self.run(PURGE_FLOWS, args![now])
    }
}
