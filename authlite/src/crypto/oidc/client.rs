//! Providers through the `openidconnect` crate: discovery (cached; the JWKS fetched again
//! once on an unknown `kid`), the authorization URL, and redeeming a code for a verified
//! ID token (the checks are listed in the module above).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use parking_lot::Mutex;

use super::http::{Http, HttpError};
use super::{Asserted, FLOW_TTL, Rejected};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::identity::IdentityProvider;

/// How far a provider's clock may run ahead of ours (`iat`).
const SKEW: Duration = Duration::from_secs(5 * 60);

/// The signature algorithms an ID token may use: asymmetric only (a client secret is no
/// key to sign identities with, and `none` is no signature).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 8] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The configured providers, by name.
pub(crate) struct Providers {
    list: Vec<Provider>,
}

/// One configured provider and what was learnt from it.
pub(crate) struct Provider {
    config: IdentityProvider,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: Http,
    /// The discovery document with its keys, once fetched.
    metadata: Mutex<Option<CoreProviderMetadata>>,
}

impl Providers {
    /// Checks every provider's URLs; fetches nothing.
    pub(crate) fn new(configs: &[IdentityProvider], timeout: Duration) -> Result<Providers> {
        let list = configs.iter().map(|c| Provider::new(c, timeout)).collect::<Result<_>>()?;
        Ok(Providers { list })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.config.name == name)
    }
}

impl Provider {
    fn new(config: &IdentityProvider, timeout: Duration) -> Result<Provider> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::Config,
                format!("identity provider {:?}: {what}: {e}", config.name),
            )
        };
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| bad("issuer", &e))?;
        let redirect =
            RedirectUrl::new(config.redirect_uri.clone()).map_err(|e| bad("redirect_uri", &e))?;
        Ok(Provider {
            config: config.clone(),
            issuer,
            redirect,
            http: Http::new(timeout),
            metadata: Mutex::new(None),
        })
    }

    pub(crate) fn config(&self) -> &IdentityProvider {
        &self.config
    }

    /// The authorization URL of a flow with these `state`, `nonce` and PKCE verifier.
    ///
    /// # Errors
    /// `Config` when the provider cannot be discovered.
    pub(crate) fn authorize_url(&self, state: &str, nonce: &str, verifier: &str) -> Result<String> {
        let metadata = self.metadata(false).map_err(|r| self.unavailable(r))?;
        let verifier = PkceCodeVerifier::new(verifier.to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let client = self.client(metadata);
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        Ok(request.url().0.to_string())
    }

    /// Redeems `code` at the token endpoint with the flow's PKCE `verifier` and returns
    /// what the verified ID token asserts; `now` judges `exp` and `iat`.
    pub(crate) fn redeem(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
        now: SystemTime,
    ) -> std::result::Result<Asserted, Rejected> {
        let metadata = self.metadata(false)?;
        let client = self.client(metadata.clone());
        let http = |request| self.http.call(request);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Rejected::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request(&http)
            .map_err(token_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| Rejected::Invalid("the token endpoint sent no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let asserted = match self.verified(&metadata, id_token, &nonce, now) {
            // The provider may have rotated its keys since they were fetched: once more.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let metadata = self.metadata(true)?;
                self.verified(&metadata, id_token, &nonce, now)
            }
            other => other,
        };
        asserted.map_err(|e| Rejected::Invalid(format!("ID token refused: {e}")))
    }

    /// The ID token's claims, every check passed.
    fn verified(
        &self,
        metadata: &CoreProviderMetadata,
        id_token: &CoreIdToken,
        nonce: &Nonce,
        now: SystemTime,
    ) -> std::result::Result<Asserted, ClaimsVerificationError> {
        let now: DateTime<Utc> = now.into();
        let client_id = ClientId::new(self.config.client_id.clone());
        let verifier = CoreIdTokenVerifier::new_public_client(
            client_id,
            self.issuer.clone(),
            metadata.jwks().clone(),
        )
        .set_allowed_algs(ALGORITHMS)
        .set_time_fn(move || now)
        .set_issue_time_verifier_fn(move |iat| issued_in_time(iat, now));
        let claims = id_token.claims(&verifier, nonce)?;
        let client_id = self.config.client_id.as_str();
        match claims.authorized_party() {
            Some(azp) if azp.as_str() != client_id => {
                return Err(ClaimsVerificationError::InvalidAudience(format!(
                    "azp is {:?}, not this client",
                    azp.as_str()
                )));
            }
            None if claims.audiences().len() > 1 => {
                return Err(ClaimsVerificationError::InvalidAudience(
                    "several audiences and no azp".into(),
                ));
            }
            _ => {}
        }
        Ok(Asserted {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified() == Some(true),
            preferred_username: claims.preferred_username().map(|u| u.to_string()),
        })
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        let client_id = ClientId::new(self.config.client_id.clone());
        let secret = self.config.client_secret.clone().map(ClientSecret::new);
        CoreClient::from_provider_metadata(metadata, client_id, secret)
            .set_redirect_uri(self.redirect.clone())
    }

    /// The discovery document and keys: cached after the first fetch; with `new_keys`,
    /// the JWKS fetched again (a rotation at the provider).
    fn metadata(&self, new_keys: bool) -> std::result::Result<CoreProviderMetadata, Rejected> {
        let http = |request| self.http.call(request);
        let mut cached = self.metadata.lock();
        let metadata = match cached.take() {
            Some(metadata) if !new_keys => metadata,
            Some(metadata) => {
                let keys = CoreJsonWebKeySet::fetch(metadata.jwks_uri(), &http);
                match keys {
                    Ok(keys) => metadata.set_jwks(keys),
                    Err(e) => {
                        *cached = Some(metadata);
                        return Err(Rejected::Unavailable(format!("fetching its keys: {e}")));
                    }
                }
            }
            None => CoreProviderMetadata::discover(&self.issuer, &http)
                .map_err(|e| Rejected::Unavailable(format!("discovery: {}", chain(&e))))?,
        };
        *cached = Some(metadata.clone());
        Ok(metadata)
    }

    fn unavailable(&self, rejected: Rejected) -> Error {
        let (Rejected::Invalid(why) | Rejected::Unavailable(why)) = rejected;
        Error::new(
            ErrorKind::Config,
            format!(
                "identity provider {:?} ({}) cannot be used: {why}",
                self.config.name,
                self.issuer.as_str()
            ),
        )
    }
}

/// For the fuzz target: `id_token` verified against the provider `config` described by
/// the discovery document `metadata` and the key set `jwks` (all outside input); whether
/// it passed. Never a panic.
#[cfg(fuzzing)]
pub(crate) fn fuzz_verify(
    config: &IdentityProvider,
    metadata: &[u8],
    jwks: &[u8],
    id_token: &str,
    nonce: &str,
    now: SystemTime,
) -> bool {
    let Ok(provider) = Provider::new(config, super::HTTP_TIMEOUT) else { return false };
    let Ok(metadata) = serde_json::from_slice::<CoreProviderMetadata>(metadata) else {
        return false;
    };
    let Ok(keys) = serde_json::from_slice::<CoreJsonWebKeySet>(jwks) else { return false };
    let Ok(id_token) = id_token.parse::<CoreIdToken>() else { return false };
    let metadata = metadata.set_jwks(keys);
    provider.verified(&metadata, &id_token, &Nonce::new(nonce.to_owned()), now).is_ok()
}

/// `iat` not ahead of us by more than the skew, nor older than a flow lives.
fn issued_in_time(iat: DateTime<Utc>, now: DateTime<Utc>) -> std::result::Result<(), String> {
    let skew = chrono::Duration::from_std(SKEW).unwrap_or_default();
    let flow = chrono::Duration::from_std(FLOW_TTL).unwrap_or_default();
    if iat > now + skew {
        return Err(format!("issued in the future ({iat})"));
    }
    if iat < now - flow - skew {
        return Err(format!("issued too long ago ({iat})"));
    }
    Ok(())
}

/// A refused code is the user's (or an attacker's) failure; anything else is the provider's.
fn token_error<T: openidconnect::ErrorResponse + 'static>(
    e: RequestTokenError<HttpError, T>,
) -> Rejected {
    match e {
        RequestTokenError::ServerResponse(refusal) => {
            Rejected::Invalid(format!("the provider refused the code: {refusal}"))
        }
        other => Rejected::Unavailable(format!("token endpoint: {}", chain(&other))),
    }
}

/// An error with its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
