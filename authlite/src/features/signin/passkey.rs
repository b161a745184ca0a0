//! The passkey factor (DESIGN §12): `Auth::start_passkey_login` / `finish_passkey_login`.
//! A passkey signs in on its own — usernameless (the authenticator names the account by
//! its WebAuthn user id) or for a named account — and, being phishing-resistant, needs no
//! second factor; or it answers the challenge of an `MfaRequired` as the second factor.
//!
//! Finishing runs the pipeline: the ceremony is used up first (single use, 5 minutes); the
//! account is identified (the ceremony's, or the passkey's owner, whose user id must be
//! the one the authenticator returned); its lockouts and the address are checked; then the
//! WebAuthn checks (`crypto/passkey`). A failure counts like a wrong password (or, as the
//! second factor, like a wrong code) and is audited; a sign counter that went backwards is
//! audited as a suspected clone as well.

use super::Attempt;
use super::second_factor::invalid_challenge;
use crate::crypto::passkey::{Assertion, Rejected, Verified};
use crate::crypto::random;
use crate::features::accounts;
use crate::features::engine::{Engine, Settled, Taken, Tx};
use crate::features::passkeys::parse_ceremony;
use crate::store::{Ceremony, CeremonyKind, CeremonyRow, PasskeyRow};
use crate::values::audit::AuditKind;
use crate::values::error::{Error, Result};
use crate::values::names;
use crate::values::passkey::{PasskeyCeremony, PasskeyLogin};
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;
use crate::values::user::AccountKind;

impl Engine {
    pub(crate) fn start_passkey_login(&self, how: PasskeyLogin<'_>) -> Result<PasskeyCeremony> {
        let verifier = self.passkey_verifier()?;
        self.write(|tx| {
            let (started, kind, user, name, challenge) = match how {
                PasskeyLogin::Discoverable => {
                    (verifier.start_login(&[], None)?, CeremonyKind::Login, None, None, None)
                }
                PasskeyLogin::Account(name) => {
                    let found = match names::lookup(name) {
                        Ok(who) => tx.user(accounts::user_key(&who))?,
                        Err(_) => None,
                    };
                    let user = found.filter(|u| u.kind == AccountKind::Person).map(|u| u.id);
                    let passkeys = match user {
                        Some(user) => tx.passkeys_of(user)?,
                        None => Vec::new(),
                    };
                    let ids: Vec<&[u8]> = passkeys.iter().map(|p| &p.credential_id[..]).collect();
                    // A name without passkeys is offered made-up ones, stable per name.
                    let unknown = ids.is_empty().then_some(name);
                    let started = verifier.start_login(&ids, unknown)?;
                    (started, CeremonyKind::Login, user, Some(name), None)
                }
                PasskeyLogin::SecondFactor(challenge) => {
                    let (row, selector) = self.mfa_challenge(tx, challenge)?;
                    let passkeys = tx.passkeys_of(row.user)?;
                    if passkeys.is_empty() {
                        return Err(Error::invalid_input("this account has no passkey"));
                    }
                    let ids: Vec<&[u8]> = passkeys.iter().map(|p| &p.credential_id[..]).collect();
                    let started = verifier.start_login(&ids, None)?;
                    (started, CeremonyKind::SecondFactor, Some(row.user), None, Some(selector))
                }
            };
            let ceremony =
                Ceremony { kind, user, name, user_handle: None, challenge, state: &started.state };
            let id = self.store_ceremony(tx, &ceremony)?;
            Ok(PasskeyCeremony { id, options: started.options })
        })
    }

    pub(crate) fn finish_passkey_login(
        &self,
        ceremony: &str,
        response: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let verifier = self.passkey_verifier()?;
        let presented = parse_ceremony(ceremony)?;
        let assertion = Assertion::parse(response);
        self.write_settled(|tx| {
            let accept = [CeremonyKind::Login, CeremonyKind::SecondFactor];
            let row = match self.take_ceremony(tx, &presented, &accept)? {
                Taken::Live(row) => row,
                // A replayed, expired or foreign ceremony counts like a wrong answer.
                Taken::Refused(e, user) => {
                    let attempt = match user {
                        Some(user) => Attempt::of(user, client),
                        None => Attempt::named(None, None, "", client),
                    };
                    self.passkey_failed(tx, CeremonyKind::Login, &attempt, &format!("{e}"))?;
                    return Ok(Settled::Refused(e));
                }
            };
            // Stage 1: the passkey the answer names, if it parses and names one.
            let key = match &assertion {
                Ok(assertion) => tx.passkey_by_credential(assertion.credential_id())?,
                Err(_) => None,
            };
            let attempt = identify(&row, key.as_ref(), &assertion, client);
            if let Some(refused) = self.refused(tx, &attempt)? {
                return Ok(Settled::Refused(refused));
            }
            // Stage 3: whose it is, then the WebAuthn checks.
            let checked = match (&assertion, key) {
                (Ok(assertion), Some(key)) => owned_by(&row, &attempt, assertion, &key)
                    .and_then(|()| verifier.finish_login(&row.state, assertion, &key.credential))
                    .map(|verified| (key, verified)),
                (Ok(_), None) => Err(Rejected::Invalid("unknown passkey".into())),
                (Err(rejected), _) => Err(rejected.clone()),
            };
            let (key, verified) = match checked {
                Ok(checked) => checked,
                Err(Rejected::Invalid(reason)) => {
                    let failed = self.passkey_failed(tx, row.kind, &attempt, &reason)?;
                    return Ok(Settled::Refused(failed));
                }
                Err(Rejected::Cloned) => {
                    let record = attempt.record().detail("the sign counter went backwards");
                    tx.audit(AuditKind::PasskeyCloneSuspected, record)?;
                    let reason = "sign counter went backwards (cloned?)";
                    let failed = self.passkey_failed(tx, row.kind, &attempt, reason)?;
                    return Ok(Settled::Refused(failed));
                }
            };
            let (id, user) = (key.info.id, key.info.user_id);
            let Verified { credential, backup_eligible, backed_up } = verified;
            tx.passkey_used(id, &credential, backup_eligible, backed_up, tx.now())?;
            let method = SignInMethod::Passkey(id);
            match (row.kind, &row.challenge) {
                (CeremonyKind::SecondFactor, Some(selector)) => {
                    if let Err(e) = self.live_challenge(tx, selector, user) {
                        return Ok(Settled::Refused(e));
                    }
                    self.second_factor_passed(tx, &attempt, selector, method)
                }
                (CeremonyKind::SecondFactor, None) => Err(invalid_challenge()),
                _ => self.signed_in(tx, &attempt, user, method),
            }
        })
    }

    /// Counts a passkey answer that was refused (`reason`) like a wrong password — or, for a
    /// second-factor ceremony, like a wrong code — and audits it as `passkey.failed`.
    fn passkey_failed(
        &self,
        tx: &Tx<'_, '_>,
        kind: CeremonyKind,
        attempt: &Attempt,
        reason: &str,
    ) -> Result<Error> {
        let detail = format!("passkey: {reason}");
        tx.audit(AuditKind::PasskeyFailed, attempt.record().detail(detail.clone()))?;
        match kind {
            CeremonyKind::SecondFactor => self.wrong_second_factor(tx, attempt, &detail),
            _ => self.first_factor_failed(tx, attempt, &detail),
        }
    }
}

/// Stage 1 for a passkey: the ceremony's account (named, or the challenge's), else the
/// presented passkey's owner; with neither, the counter of the credential id presented.
fn identify(
    row: &CeremonyRow,
    key: Option<&PasskeyRow>,
    assertion: &std::result::Result<Assertion, Rejected>,
    client: &ClientInfo,
) -> Attempt {
    if let Some(user) = row.user {
        return Attempt::of(user, client);
    }
    if let Some(name) = &row.name {
        let lookup = names::lookup(name).ok();
        return Attempt::named(None, lookup.as_ref().map(names::Lookup::key), name, client);
    }
    match (key, assertion) {
        (Some(key), _) => Attempt::of(key.info.user_id, client),
        (None, Ok(a)) => Attempt::named(None, None, &random::b64(a.credential_id()), client),
        (None, Err(_)) => Attempt::named(None, None, "", client),
    }
}

/// The presented passkey must be the attempt's account's, and the WebAuthn user id the
/// authenticator returned (required when no account was named) must be that passkey's.
fn owned_by(
    row: &CeremonyRow,
    attempt: &Attempt,
    assertion: &Assertion,
    key: &PasskeyRow,
) -> std::result::Result<(), Rejected> {
    if attempt.user != Some(key.info.user_id) {
        return Err(Rejected::Invalid("another account's passkey".into()));
    }
    match assertion.user_handle() {
        Some(handle) if handle != key.user_handle.as_slice() => {
            Err(Rejected::Invalid("the user handle is not the passkey's".into()))
        }
        None if row.user.is_none() => Err(Rejected::Invalid("no user handle".into())),
        _ => Ok(()),
    }
}
