//! Passkeys an account holds (DESIGN §12): registering one (a ceremony started and finished
//! by a signed-in user), listing, renaming and revoking them, and the stored ceremonies that
//! registration and sign-in (`signin/passkey.rs`) share. The WebAuthn checks themselves are
//! `crypto/passkey`'s.
//!
//! A ceremony is named by an opaque secret (`pkc_…`, hashed at rest), lives 5 minutes and
//! is deleted by the first attempt to finish it, whatever the outcome: a replayed or second
//! answer finds nothing.

use std::time::Duration;

use super::engine::{Engine, Record, Settled, Taken, Tx, require_user, user_not_found};
use super::lifecycle::{self, AccountEvent};
use crate::crypto::passkey::{Rejected, Verifier};
use crate::crypto::random;
use crate::crypto::secret::{self, Presented};
use crate::store::{Ceremony, CeremonyKind, CeremonyRow, Conn, NewPasskey, UserKey};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{PasskeyId, UserId};
use crate::values::names;
use crate::values::passkey::{PasskeyCeremony, PasskeyInfo};
use crate::values::user::AccountKind;

/// How long a started ceremony can be finished (the browser's own timeout is the same).
const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
const CEREMONY_PREFIX: &str = "pkc_";
/// The WebAuthn user id's length: webauthn-rs takes a UUID.
const HANDLE_LEN: usize = 16;

fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such passkey")
}

pub(super) fn invalid_ceremony() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid, finished or unknown passkey ceremony")
}

impl Engine {
    /// The relying party's verifier, or `Config` when passkeys are not configured.
    pub(super) fn passkey_verifier(&self) -> Result<&Verifier> {
        self.passkeys.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::Config, "passkeys are off: set Config::relying_party")
        })
    }

    /// Stores a started ceremony, to be finished within 5 minutes; its id for the browser.
    pub(super) fn store_ceremony(
        &self,
        tx: &Tx<'_, '_>,
        ceremony: &Ceremony<'_>,
    ) -> Result<String> {
        let issued = secret::issue(CEREMONY_PREFIX)?;
        let expires_at = tx.now().saturating_add(millis(CEREMONY_TTL));
        tx.insert_ceremony(&issued.selector, &issued.hash, ceremony, tx.now(), expires_at)?;
        Ok(issued.text)
    }

    /// Ends the ceremony `presented`, of a kind in `accept`, and returns it; refused when
    /// it is unknown, finished or of another kind (`InvalidToken`) or past its 5 minutes
    /// (`ExpiredToken`). A found ceremony is deleted whatever follows: the caller commits
    /// (a `Settled::Refused` does), so a failed answer uses the ceremony up too.
    pub(super) fn take_ceremony(
        &self,
        tx: &Tx<'_, '_>,
        presented: &Presented<'_>,
        accept: &[CeremonyKind],
    ) -> Result<Taken<CeremonyRow>> {
        let row = match tx.ceremony(presented.selector)? {
            Some(row) if presented.matches(&row.secret_hash) => row,
            _ => return Ok(Taken::Refused(invalid_ceremony(), None)),
        };
        tx.delete_ceremony(presented.selector)?;
        if !accept.contains(&row.kind) {
            return Ok(Taken::Refused(invalid_ceremony(), row.user));
        }
        if tx.now() >= row.expires_at {
            let expired = Error::new(ErrorKind::ExpiredToken, "passkey ceremony expired");
            return Ok(Taken::Refused(expired, row.user));
        }
        Ok(Taken::Live(row))
    }

    pub(crate) fn start_passkey_registration(
        &self,
        user: UserId,
        name: &str,
    ) -> Result<PasskeyCeremony> {
        names::label("passkey name", name)?;
        let verifier = self.passkey_verifier()?;
        self.write(|tx| {
            let account = tx.user(UserKey::Id(user))?.ok_or_else(user_not_found)?;
            if account.kind != AccountKind::Person {
                return Err(Error::invalid_input("a service account cannot hold passkeys"));
            }
            if !account.active {
                return Err(Error::from_kind(ErrorKind::InactiveUser));
            }
            let existing = tx.passkeys_of(user)?;
            let handle = match existing.first() {
                Some(p) => p.user_handle.clone(),
                None => random::bytes::<HANDLE_LEN>()?.to_vec(),
            };
            let exclude: Vec<&[u8]> = existing.iter().map(|p| &p.credential_id[..]).collect();
            let started = verifier.start_registration(&handle, &account.username, &exclude)?;
            let ceremony = Ceremony {
                kind: CeremonyKind::Register,
                user: Some(user),
                name: Some(name),
                user_handle: Some(&handle),
                challenge: None,
                state: &started.state,
            };
            let id = self.store_ceremony(tx, &ceremony)?;
            Ok(PasskeyCeremony { id, options: started.options })
        })
    }

    pub(crate) fn finish_passkey_registration(
        &self,
        ceremony: &str,
        response: &str,
    ) -> Result<PasskeyInfo> {
        let verifier = self.passkey_verifier()?;
        let presented = parse_ceremony(ceremony)?;
        self.write_settled(|tx| {
            let row = match self.take_ceremony(tx, &presented, &[CeremonyKind::Register])? {
                Taken::Live(row) => row,
                Taken::Refused(e, _) => return Ok(Settled::Refused(e)),
            };
            let (Some(user), Some(name), Some(handle)) = (row.user, &row.name, &row.user_handle)
            else {
                return Err(invalid_ceremony());
            };
            if !tx.account_state(user)?.is_some_and(|s| s.active) {
                return Ok(Settled::Refused(Error::from_kind(ErrorKind::InactiveUser)));
            }
            let registered = match verifier.finish_registration(&row.state, response) {
                Ok(registered) => registered,
                Err(rejected) => {
                    let reason = match rejected {
                        Rejected::Invalid(reason) => reason,
                        Rejected::Cloned => "sign counter".to_owned(),
                    };
                    let record = Record::user(user).detail(format!("registration: {reason}"));
                    tx.audit(AuditKind::PasskeyFailed, record)?;
                    let message = format!("the passkey registration did not verify: {reason}");
                    return Ok(Settled::Refused(Error::new(
                        ErrorKind::InvalidCredentials,
                        message,
                    )));
                }
            };
            if tx.credential_taken(&registered.credential_id)? {
                return Ok(Settled::Refused(Error::new(
                    ErrorKind::Conflict,
                    "this passkey is already registered",
                )));
            }
            let id = tx.insert_passkey(&NewPasskey {
                user,
                credential_id: &registered.credential_id,
                user_handle: handle,
                name,
                credential: &registered.credential,
                backup_eligible: registered.backup_eligible,
                backed_up: registered.backed_up,
                now: tx.now(),
            })?;
            lifecycle::apply(tx, user, AccountEvent::PasskeyAdded)?;
            tx.audit(AuditKind::PasskeyRegistered, Record::user(user).detail(format!("{id}")))?;
            Ok(Settled::Done(load(tx, id)?))
        })
    }

    pub(crate) fn passkeys(&self, user: UserId) -> Result<Vec<PasskeyInfo>> {
        self.store.snapshot(|conn| {
            require_user(conn, user)?;
            Ok(conn.passkeys_of(user)?.into_iter().map(|p| p.info).collect())
        })
    }

    pub(crate) fn rename_passkey(&self, id: PasskeyId, name: &str) -> Result<()> {
        names::label("passkey name", name)?;
        self.write(|tx| {
            let user = load(tx, id)?.user_id;
            tx.rename_passkey(id, name)?;
            tx.audit(AuditKind::PasskeyRenamed, Record::user(user).detail(format!("{id}")))
        })
    }

    pub(crate) fn revoke_passkey(&self, id: PasskeyId) -> Result<()> {
        self.write(|tx| {
            let user = load(tx, id)?.user_id;
            lifecycle::ensure_another_way_in(tx, user)?;
            tx.delete_passkey(id)?;
            let ended = lifecycle::apply(tx, user, AccountEvent::PasskeyRemoved(id))?;
            let detail = format!("{id}; {ended} session(s) ended");
            tx.audit(AuditKind::PasskeyRevoked, Record::user(user).detail(detail))
        })
    }
}

/// Parses a ceremony id (anything else is `InvalidToken`).
pub(super) fn parse_ceremony(id: &str) -> Result<Presented<'_>> {
    secret::parse(id, CEREMONY_PREFIX, "malformed passkey ceremony id")
        .map_err(|_| invalid_ceremony())
}

pub(super) fn load(conn: &Conn<'_>, id: PasskeyId) -> Result<PasskeyInfo> {
    conn.passkey(id)?.map(|p| p.info).ok_or_else(not_found)
}
