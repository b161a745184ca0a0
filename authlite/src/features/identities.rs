//! Identities at OpenID Connect providers (DESIGN §13): the stored flows that sign-in
//! (`signin/provider.rs`) and linking share, linking another identity to a signed-in
//! account, listing and unlinking. The protocol checks themselves are `crypto/oidc`'s.
//!
//! A flow is one opaque secret split in two: its selector is the `state` sent through the
//! provider, its secret (kept here only as SHA-256) the `browser_secret` the app keeps in
//! the browser that started it. Finishing needs both, so a callback replayed into another
//! browser — a forged login (login CSRF) or a stolen `state` — finds no flow. The flow is
//! deleted by the first attempt to finish it, whatever the outcome, before the provider is
//! asked, and refused after 10 minutes; its `nonce` and PKCE verifier are what the provider
//! must match.

use super::engine::{Engine, Record, Settled, Taken, Tx, require_user, user_not_found};
use super::lifecycle::{self, AccountEvent};
use crate::crypto::oidc::{Asserted, FLOW_TTL, Provider, Rejected};
use crate::crypto::random;
use crate::crypto::secret::{self, Presented};
use crate::store::{Flow, FlowKind, FlowRow, NewIdentity, UserKey};
use crate::values::audit::AuditKind;
use crate::values::clock::millis;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::identity::{Identity, OidcStart};
use crate::values::ids::{IdentityId, UserId};
use crate::values::user::AccountKind;

/// The random bytes of a flow's nonce and PKCE verifier (43 base64url characters: the
/// verifier's minimum length, 256 bits).
const FLOW_SECRET_BYTES: usize = 32;

fn invalid_flow() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid, finished or unknown sign-in flow")
}

fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no such identity")
}

/// What a finished flow's provider asserted, or why it could not.
pub(super) type Redeemed = std::result::Result<Asserted, Rejected>;

impl Engine {
    /// The configured provider `name`.
    pub(super) fn provider(&self, name: &str) -> Result<&Provider> {
        self.providers.get(name).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("no identity provider named {name:?}"))
        })
    }

    /// Starts a flow at `provider`: discovers it on first use (outside any transaction),
    /// stores the flow for 10 minutes, returns where to send the browser.
    pub(super) fn start_flow(
        &self,
        provider: &str,
        kind: FlowKind,
        user: Option<UserId>,
    ) -> Result<OidcStart> {
        let at = self.provider(provider)?;
        let issued = secret::issue("")?;
        let (state, browser_secret) = issued.text.split_once('.').ok_or_else(invalid_flow)?;
        let nonce = random::token(FLOW_SECRET_BYTES)?;
        let pkce_verifier = random::token(FLOW_SECRET_BYTES)?;
        let authorize_url = at.authorize_url(state, &nonce, &pkce_verifier)?;
        self.write(|tx| {
            if let Some(user) = user {
                let account = tx.user(UserKey::Id(user))?.ok_or_else(user_not_found)?;
                if account.kind != AccountKind::Person {
                    return Err(Error::invalid_input("a service account cannot link identities"));
                }
                if !account.active {
                    return Err(Error::from_kind(ErrorKind::InactiveUser));
                }
            }
            let flow = Flow { kind, provider, user, nonce: &nonce, pkce_verifier: &pkce_verifier };
            let expires_at = tx.now().saturating_add(millis(FLOW_TTL));
            tx.insert_oidc_flow(&issued.selector, &issued.hash, &flow, tx.now(), expires_at)
        })?;
        Ok(OidcStart {
            authorize_url,
            state: state.to_owned(),
            browser_secret: browser_secret.to_owned(),
        })
    }

    /// Ends the flow `presented` of `kind` and returns it; refused when it is unknown,
    /// finished, of another kind or not this browser's (`InvalidToken`) or past its 10
    /// minutes (`ExpiredToken`). A found flow is deleted whatever follows: the caller
    /// commits (a `Settled::Refused` does), so a failed callback uses the flow up too.
    pub(super) fn take_flow(
        &self,
        tx: &Tx<'_, '_>,
        presented: &Presented<'_>,
        kind: FlowKind,
    ) -> Result<Taken<FlowRow>> {
        let row = match tx.oidc_flow(presented.selector)? {
            Some(row) => row,
            None => return Ok(Taken::Refused(invalid_flow(), None)),
        };
        tx.delete_oidc_flow(presented.selector)?;
        if !presented.matches(&row.secret_hash) || row.kind != kind {
            return Ok(Taken::Refused(invalid_flow(), row.user));
        }
        if tx.now() >= row.expires_at {
            let expired = Error::new(ErrorKind::ExpiredToken, "sign-in flow expired");
            return Ok(Taken::Refused(expired, row.user));
        }
        Ok(Taken::Live(row))
    }

    /// Spends the flow in a transaction of its own (committed, so it is used up before
    /// the provider is asked). `judge` sees the flow, or why it is refused, inside that
    /// transaction: it may count the failure, or refuse a live flow (`Some(error)`).
    pub(super) fn spend_flow(
        &self,
        presented: &Presented<'_>,
        kind: FlowKind,
        judge: impl FnOnce(&Tx<'_, '_>, std::result::Result<&FlowRow, &Error>) -> Result<Option<Error>>,
    ) -> Result<FlowRow> {
        self.write_settled(|tx| match self.take_flow(tx, presented, kind)? {
            Taken::Live(row) => match judge(tx, Ok(&row))? {
                Some(refused) => Ok(Settled::Refused(refused)),
                None => Ok(Settled::Done(row)),
            },
            Taken::Refused(e, user) => {
                let detail = format!("flow refused: {e}");
                tx.audit(AuditKind::ProviderFailed, Record::about(user).detail(detail))?;
                judge(tx, Err(&e))?;
                Ok(Settled::Refused(e))
            }
        })
    }

    /// Redeems `code` at the flow's provider (a network call: never inside a transaction).
    pub(super) fn redeem_code(&self, flow: &FlowRow, code: &str) -> Result<Redeemed> {
        let provider = self.provider(&flow.provider)?;
        let now = self.config.clock.now();
        Ok(provider.redeem(code, &flow.pkce_verifier, &flow.nonce, now))
    }

    pub(crate) fn start_oidc_link(&self, user: UserId, provider: &str) -> Result<OidcStart> {
        self.start_flow(provider, FlowKind::Link, Some(user))
    }

    pub(crate) fn finish_oidc_link(
        &self,
        browser_secret: &str,
        state: &str,
        code: &str,
    ) -> Result<Identity> {
        let presented = parse_flow(state, browser_secret)?;
        let flow = self.spend_flow(&presented, FlowKind::Link, |_, _| Ok(None))?;
        let user = flow.user.ok_or_else(invalid_flow)?;
        let redeemed = self.redeem_code(&flow, code)?;
        self.write_settled(|tx| {
            let asserted = match redeemed {
                Ok(asserted) => asserted,
                Err(rejected) => {
                    return Ok(Settled::Refused(provider_failed(tx, Some(user), rejected)?));
                }
            };
            let account = tx.user(UserKey::Id(user))?.ok_or_else(user_not_found)?;
            if !account.active {
                return Err(Error::from_kind(ErrorKind::InactiveUser));
            }
            match tx.identity_by_subject(&asserted.issuer, &asserted.subject)? {
                Some(linked) if linked.user_id == user => Ok(Settled::Done(linked)),
                Some(other) => {
                    let detail = format!("{} is linked to another account", other.id);
                    tx.audit(AuditKind::ProviderFailed, Record::user(user).detail(detail))?;
                    let message = "that identity is linked to another account";
                    Ok(Settled::Refused(Error::new(ErrorKind::Conflict, message)))
                }
                None => {
                    let id = link(tx, user, &flow.provider, &asserted, "by the signed-in user")?;
                    Ok(Settled::Done(load(tx, id)?))
                }
            }
        })
    }

    pub(crate) fn identities(&self, user: UserId) -> Result<Vec<Identity>> {
        self.store.snapshot(|conn| {
            require_user(conn, user)?;
            conn.identities_of(user)
        })
    }

    pub(crate) fn unlink_identity(&self, id: IdentityId) -> Result<()> {
        self.write(|tx| {
            let identity = load(tx, id)?;
            let user = identity.user_id;
            lifecycle::ensure_another_way_in(tx, user)?;
            tx.delete_identity(id)?;
            let event = AccountEvent::IdentityUnlinked(&identity.provider);
            let ended = lifecycle::apply(tx, user, event)?;
            let detail = format!(
                "{id}: {} {} at {}; {ended} session(s) ended",
                identity.provider, identity.subject, identity.issuer
            );
            tx.audit(AuditKind::IdentityUnlinked, Record::user(user).detail(detail))
        })
    }
}

/// Links the identity `asserted` to `user` (`how` for the audit trail); its id.
pub(super) fn link(
    tx: &Tx<'_, '_>,
    user: UserId,
    provider: &str,
    asserted: &Asserted,
    how: &str,
) -> Result<IdentityId> {
    let row = NewIdentity {
        user,
        provider,
        issuer: &asserted.issuer,
        subject: &asserted.subject,
        email: asserted.email.as_deref(),
        now: tx.now(),
    };
    let id = tx.insert_identity(&row)?;
    lifecycle::apply(tx, user, AccountEvent::IdentityLinked)?;
    let detail = format!("{id}: {provider} {} at {}, {how}", asserted.subject, asserted.issuer);
    tx.audit(AuditKind::IdentityLinked, Record::user(user).detail(detail))?;
    Ok(id)
}

/// Audits a code the provider (or the ID-token checks) refused and returns the error: a
/// refusal is `InvalidCredentials`, a provider that could not be asked `Internal`.
pub(super) fn provider_failed(
    tx: &Tx<'_, '_>,
    user: Option<UserId>,
    rejected: Rejected,
) -> Result<Error> {
    let (why, error) = match rejected {
        Rejected::Invalid(why) => (why, Error::from_kind(ErrorKind::InvalidCredentials)),
        Rejected::Unavailable(why) => {
            let why = format!("provider unavailable: {why}");
            (why.clone(), Error::new(ErrorKind::Internal, why))
        }
    };
    tx.audit(AuditKind::ProviderFailed, Record::about(user).detail(why))?;
    Ok(error)
}

/// The flow a callback names: its `state` and the browser's secret (anything that is not
/// of the issued shape is `InvalidToken`).
pub(super) fn parse_flow<'t>(state: &'t str, browser_secret: &str) -> Result<Presented<'t>> {
    secret::parse_parts(state, browser_secret, "malformed sign-in flow").map_err(|_| invalid_flow())
}

fn load(tx: &Tx<'_, '_>, id: IdentityId) -> Result<Identity> {
    tx.identity(id)?.ok_or_else(not_found)
}
