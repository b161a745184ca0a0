//! The `passkeys` and `passkey_ceremonies` tables.

use super::sql::{Row, args, malformed};
use super::{Conn, WriteTx};
use crate::crypto::secret::SecretHash;
use crate::values::clock::from_millis;
use crate::values::error::Result;
use crate::values::ids::{PasskeyId, UserId};
use crate::values::passkey::PasskeyInfo;

/// A `SELECT` of every passkey column (in `passkey_from_row`'s order) `WHERE ...`.
macro_rules! select_passkeys {
    ($where:literal) => {
        concat!(
            "SELECT id, user_id, name, created_at, last_used_at, backup_eligible, backed_up, ",
            "credential_id, user_handle, credential FROM passkeys ",
            $where
        )
    };
}
const BY_ID: &str = select_passkeys!("WHERE id = ?1");
const BY_CREDENTIAL: &str = select_passkeys!("WHERE credential_id = ?1");
const OF_USER: &str = select_passkeys!("WHERE user_id = ?1 ORDER BY id");
const INSERT: &str = "INSERT INTO passkeys (user_id, credential_id, user_handle, name, \
     credential, backup_eligible, backed_up, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id";
const RENAME: &str = "UPDATE passkeys SET name = ?2 WHERE id = ?1";
const DELETE: &str = "DELETE FROM passkeys WHERE id = ?1";
const USED: &str = "UPDATE passkeys SET credential = ?2, backup_eligible = ?3, backed_up = ?4, \
     last_used_at = ?5 WHERE id = ?1";
const CREDENTIAL_TAKEN: &str = "SELECT 1 FROM passkeys WHERE credential_id = ?1";

const INSERT_CEREMONY: &str = "INSERT INTO passkey_ceremonies \
     (selector, secret_hash, kind, user_id, name, user_handle, challenge, state, created_at, \
     expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const CEREMONY: &str = "SELECT secret_hash, kind, user_id, name, user_handle, challenge, state, \
     expires_at FROM passkey_ceremonies WHERE selector = ?1";
const DELETE_CEREMONY: &str = "DELETE FROM passkey_ceremonies WHERE selector = ?1";
const PURGE_CEREMONIES: &str = "DELETE FROM passkey_ceremonies WHERE expires_at <= ?1";

/// A stored passkey: what callers see, and what the WebAuthn check needs.
pub(crate) struct PasskeyRow {
    pub(crate) info: PasskeyInfo,
    pub(crate) credential_id: Vec<u8>,
    /// The account's WebAuthn user id.
    pub(crate) user_handle: Vec<u8>,
    /// The WebAuthn library's credential (public key, sign counter, flags), JSON.
    pub(crate) credential: String,
}

/// A new passkey's row.
pub(crate) struct NewPasskey<'a> {
    pub(crate) user: UserId,
    pub(crate) credential_id: &'a [u8],
    pub(crate) user_handle: &'a [u8],
    pub(crate) name: &'a str,
    pub(crate) credential: &'a str,
    pub(crate) backup_eligible: bool,
    pub(crate) backed_up: bool,
    pub(crate) now: i64,
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CeremonyKind {
    Register,
    Login,
    SecondFactor,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Login => "login",
            CeremonyKind::SecondFactor => "second",
        }
    }

    fn from_stored(stored: &str) -> Option<CeremonyKind> {
        [CeremonyKind::Register, CeremonyKind::Login, CeremonyKind::SecondFactor]
            .into_iter()
            .find(|k| k.as_str() == stored)
    }
}

/// A started ceremony's row.
pub(crate) struct Ceremony<'a> {
    pub(crate) kind: CeremonyKind,
    /// The account it is for, when one is known at the start.
    pub(crate) user: Option<UserId>,
    /// Registration: the new passkey's name; sign-in: the name the account was asked by.
    pub(crate) name: Option<&'a str>,
    /// Registration: the account's WebAuthn user id.
    pub(crate) user_handle: Option<&'a [u8]>,
    /// Second factor: the selector of the MFA challenge it answers.
    pub(crate) challenge: Option<&'a str>,
    /// The WebAuthn library's state, JSON.
    pub(crate) state: &'a str,
}

/// A ceremony as stored.
pub(crate) struct CeremonyRow {
    pub(crate) secret_hash: Vec<u8>,
    pub(crate) kind: CeremonyKind,
    pub(crate) user: Option<UserId>,
    pub(crate) name: Option<String>,
    pub(crate) user_handle: Option<Vec<u8>>,
    pub(crate) challenge: Option<String>,
    pub(crate) state: String,
    pub(crate) expires_at: i64,
}

fn passkey_from_row(r: &Row<'_>) -> Result<PasskeyRow> {
    Ok(PasskeyRow {
        info: PasskeyInfo {
            id: r.get(0)?,
            user_id: r.get(1)?,
            name: r.get(2)?,
            created_at: from_millis(r.get(3)?),
            last_used_at: r.get::<Option<i64>>(4)?.map(from_millis),
            backup_eligible: r.get(5)?,
            backed_up: r.get(6)?,
        },
        credential_id: r.get(7)?,
        user_handle: r.get(8)?,
        credential: r.get(9)?,
    })
}

impl Conn<'_> {
    pub(crate) fn passkey(&self, id: PasskeyId) -> Result<Option<PasskeyRow>> {
        self.row(BY_ID, args![id], passkey_from_row)
    }

    pub(crate) fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRow>> {
        self.row(BY_CREDENTIAL, args![credential_id], passkey_from_row)
    }

    /// A user's passkeys, oldest first.
    pub(crate) fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRow>> {
        self.rows(OF_USER, args![user], passkey_from_row)
    }

    /// Whether any account already registered this credential id.
    pub(crate) fn credential_taken(&self, credential_id: &[u8]) -> Result<bool> {
        self.exists(CREDENTIAL_TAKEN, args![credential_id])
    }

    pub(crate) fn ceremony(&self, selector: &str) -> Result<Option<CeremonyRow>> {
        self.row(CEREMONY, args![selector], |r| {
            let kind: String = r.get(1)?;
            Ok(CeremonyRow {
                secret_hash: r.get(0)?,
                kind: CeremonyKind::from_stored(&kind).ok_or_else(|| malformed("ceremony kind"))?,
                user: r.get(2)?,
                name: r.get(3)?,
                user_handle: r.get(4)?,
                challenge: r.get(5)?,
                state: r.get(6)?,
                expires_at: r.get(7)?,
            })
        })
    }
}

impl WriteTx<'_> {
    pub(crate) fn insert_passkey(&self, p: &NewPasskey<'_>) -> Result<PasskeyId> {
        let args = args![
            p.user,
            p.credential_id,
            p.user_handle,
            p.name,
            p.credential,
            p.backup_eligible,
            p.backed_up,
            p.now
        ];
        self.insert(INSERT, args).map(PasskeyId)
    }

    /// `false` when there is no such passkey.
    pub(crate) fn rename_passkey(&self, id: PasskeyId, name: &str) -> Result<bool> {
        Ok(self.run(RENAME, args![id, name])? > 0)
    }

    pub(crate) fn delete_passkey(&self, id: PasskeyId) -> Result<bool> {
        Ok(self.revoke(DELETE, args![id])? > 0)
    }

    /// Records a sign-in with the passkey: its updated credential (counter) and flags.
    pub(crate) fn passkey_used(
        &self,
        id: PasskeyId,
        credential: &str,
        backup_eligible: bool,
        backed_up: bool,
        now: i64,
    ) -> Result<()> {
        self.run(USED, args![id, credential, backup_eligible, backed_up, now])?;
        Ok(())
    }

    pub(crate) fn insert_ceremony(
        &self,
        selector: &str,
        hash: &SecretHash,
        c: &Ceremony<'_>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let args = args![
            selector,
            &hash[..],
            c.kind.as_str(),
            c.user,
            c.name,
            c.user_handle,
            c.challenge,
            c.state,
            now,
            expires_at
        ];
        self.run(INSERT_CEREMONY, args)?;
        Ok(())
    }

    /// Ends a ceremony; `false` if it was already gone (exactly one finisher wins).
    pub(crate) fn delete_ceremony(&self, selector: &str) -> Result<bool> {
        Ok(self.run(DELETE_CEREMONY, args![selector])? > 0)
    }

    /// Deletes expired ceremonies.
    pub(crate) fn purge_ceremonies(&self, now: i64) -> Result<usize> {
        self.run(PURGE_CEREMONIES, args![now])
    }
}
