//! The identity-provider factor (DESIGN §13): `Auth::start_oidc_login` /
//! `finish_oidc_login`. Finishing runs the pipeline: the flow is spent first (its own
//! transaction: single use, bound to the browser, 10 minutes), the provider redeems the
//! code (outside any transaction: a network call never holds the writer), then one
//! transaction identifies the account, checks it may sign in, links or creates it when the
//! identity is new, and hands over to the pipeline's second-factor and session stages. A
//! provider is not phishing-resistant as authlite can judge it, so an account with a second
//! factor still answers `MfaRequired`.
//!
//! Which account a new identity (issuer, subject) signs in to:
//!
//! | provider says email verified | an account has that email, verified | outcome |
//! |------------------------------|-------------------------------------|---------|
//! | yes (and `link_verified_email`) | yes                              | linked to that account |
//! | yes                          | only unverified                     | new account, without the email |
//! | yes                          | no account has it                   | new account, email verified |
//! | no (or absent)               | any                                 | new account; the email only if nobody has it, unverified |
//!
//! "New account" is a passwordless account (`oidc_auto_register`, default on); with it off
//! the sign-in is `NotFound`. A linked identity always signs in its own account, whatever
//! the emails say.

use super::Attempt;
use crate::crypto::oidc::Asserted;
use crate::crypto::password;
use crate::crypto::random;
use crate::features::accounts::insert_account;
use crate::features::engine::{Engine, Settled, Tx};
use crate::features::identities::{link, parse_flow, provider_failed};
use crate::store::{FlowKind, UserKey};
use crate::values::audit::AuditKind;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::identity::{IdentityProvider, OidcStart};
use crate::values::ids::UserId;
use crate::values::names::{self, Name};
use crate::values::session::{ClientInfo, Login};
use crate::values::signin::SignInMethod;
use crate::values::user::AccountKind;

impl Engine {
    pub(crate) fn start_oidc_login(&self, provider: &str) -> Result<OidcStart> {
        self.start_flow(provider, FlowKind::Login, None)
    }

    pub(crate) fn finish_oidc_login(
        &self,
        browser_secret: &str,
        state: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Login> {
        let presented = parse_flow(state, browser_secret)?;
        // Stage 2 before the provider is asked: the address may not be throttled. A refused
        // flow counts toward the address (its own counter keyed by the state presented).
        let flow_attempt = Attempt::named(None, None, state, client);
        let flow = self.spend_flow(&presented, FlowKind::Login, |tx, flow| match flow {
            Ok(_) => self.refused(tx, &flow_attempt),
            Err(e) => {
                self.first_factor_failed(tx, &flow_attempt, &format!("provider: {e}"))?;
                Ok(None)
            }
        })?;
        let redeemed = self.redeem_code(&flow, code)?;
        let config = self.provider(&flow.provider)?.config().clone();
        self.write_settled(|tx| {
            let asserted = match redeemed {
                Ok(asserted) => asserted,
                Err(rejected) => {
                    let failed = provider_failed(tx, None, rejected)?;
                    if failed.kind() == ErrorKind::InvalidCredentials {
                        self.first_factor_failed(tx, &flow_attempt, "provider refused")?;
                    }
                    return Ok(Settled::Refused(failed));
                }
            };
            // Stage 1: the linked account, or the new identity's own counter.
            let linked = tx.identity_by_subject(&asserted.issuer, &asserted.subject)?;
            let attempt = match &linked {
                Some(identity) => Attempt::of(identity.user_id, client),
                None => {
                    let raw = format!("oidc:{}:{}", asserted.issuer, asserted.subject);
                    Attempt::named(None, None, &raw, client)
                }
            };
            if let Some(refused) = self.refused(tx, &attempt)? {
                return Ok(Settled::Refused(refused));
            }
            let user = match linked {
                Some(identity) => {
                    tx.identity_used(identity.id, asserted.email.as_deref(), tx.now())?;
                    identity.user_id
                }
                None => match self.account_for(tx, &config, &asserted, client)? {
                    Settled::Done(Some(user)) => user,
                    Settled::Refused(refused) => return Ok(Settled::Refused(refused)),
                    Settled::Done(None) => {
                        let detail =
                            "no account is linked to this identity (oidc_auto_register is off)";
                        tx.audit(AuditKind::ProviderFailed, attempt.record().detail(detail))?;
                        return Ok(Settled::Refused(Error::new(ErrorKind::NotFound, detail)));
                    }
                },
            };
            let attempt = Attempt::of(user, client);
            self.signed_in(tx, &attempt, user, SignInMethod::Provider(config.name.clone()))
        })
    }

    /// The account a new identity joins (the table in the module docs), linked; `None`
    /// when none matches and accounts are not created. An existing account is judged
    /// first (stage 2: its lockouts), so a locked account gains no link.
    fn account_for(
        &self,
        tx: &Tx<'_, '_>,
        provider: &IdentityProvider,
        asserted: &Asserted,
        client: &ClientInfo,
    ) -> Result<Settled<Option<UserId>>> {
        let email = asserted.email.as_deref().and_then(|e| names::email(e).ok());
        if provider.link_verified_email && asserted.email_verified {
            let owner = match &email {
                Some(email) => tx.user(UserKey::Email(&email.key))?,
                None => None,
            };
            if let Some(owner) = owner
                && owner.email_verified_at.is_some()
                && owner.kind == AccountKind::Person
            {
                if let Some(refused) = self.refused(tx, &Attempt::of(owner.id, client))? {
                    return Ok(Settled::Refused(refused));
                }
                let how = "by verified email";
                link(tx, owner.id, &provider.name, asserted, how)?;
                return Ok(Settled::Done(Some(owner.id)));
            }
        }
        if !self.config.oidc_auto_register {
            return Ok(Settled::Done(None));
        }
        let email = match email {
            Some(email) if !tx.email_taken(&email.key, None)? => Some(email),
            _ => None,
        };
        let username = free_username(tx, provider, asserted)?;
        let hash = password::NO_PASSWORD;
        let id = insert_account(
            tx,
            &username,
            email.as_ref(),
            hash,
            AccountKind::Person,
            AuditKind::UserRegistered,
        )?;
        if email.is_some() && asserted.email_verified {
            tx.set_email_verified(id, tx.now())?;
        }
        link(tx, id, &provider.name, asserted, "a new account")?;
        Ok(Settled::Done(Some(id)))
    }
}

/// A username for a new account: the provider's `preferred_username`, else the email's
/// local part, when valid and free; else `<provider>-<random>`.
fn free_username(
    tx: &Tx<'_, '_>,
    provider: &IdentityProvider,
    asserted: &Asserted,
) -> Result<Name> {
    let local = asserted.email.as_deref().and_then(|e| e.split('@').next());
    let wanted = [asserted.preferred_username.as_deref(), local];
    for candidate in wanted.into_iter().flatten() {
        if let Ok(name) = names::username(candidate)
            && !tx.username_taken(&name.key, &names::skeleton(&name.display))?
        {
            return Ok(name);
        }
    }
    loop {
        let suffix =
            random::b64(&random::bytes::<6>()?).to_ascii_lowercase().replace(['-', '_'], "x");
        let name = names::username(&format!("{}-{suffix}", provider.name))?;
        if !tx.username_taken(&name.key, &names::skeleton(&name.display))? {
            return Ok(name);
        }
    }
}
