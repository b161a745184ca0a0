//! Identity providers in a build without the `oidc` feature: none can be configured.

use std::time::{Duration, SystemTime};

use super::{Asserted, Rejected};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::identity::IdentityProvider;

/// Always empty in this build.
pub(crate) struct Providers;

/// Cannot be made in this build.
pub(crate) enum Provider {}

impl Providers {
    pub(crate) fn new(configs: &[IdentityProvider], _: Duration) -> Result<Providers> {
        if configs.is_empty() {
            return Ok(Providers);
        }
        Err(Error::new(
            ErrorKind::Config,
            "identity_providers need authlite built with the `oidc` feature",
        ))
    }

    pub(crate) fn get(&self, _: &str) -> Option<&Provider> {
        None
    }
}

impl Provider {
    pub(crate) fn config(&self) -> &IdentityProvider {
        match *self {}
    }

    pub(crate) fn authorize_url(&self, _: &str, _: &str, _: &str) -> Result<String> {
        match *self {}
    }

    pub(crate) fn redeem(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: SystemTime,
    ) -> std::result::Result<Asserted, Rejected> {
        match *self {}
    }
}
