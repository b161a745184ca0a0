//! Passkeys in a build without the `passkeys` feature: nothing can be verified.

use super::{Registered, Rejected, Started, Verified};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::passkey::RelyingParty;

/// Cannot be made in this build.
pub(crate) enum Verifier {}

/// Cannot be made in this build.
pub(crate) enum Assertion {}

impl Verifier {
    pub(crate) fn new(_: &RelyingParty, _: &[u8; 32]) -> Result<Verifier> {
        Err(Error::new(
            ErrorKind::Config,
            "passkeys need authlite built with the `passkeys` feature",
        ))
    }

    pub(crate) fn start_registration(&self, _: &[u8], _: &str, _: &[&[u8]]) -> Result<Started> {
        match *self {}
    }

    pub(crate) fn finish_registration(
        &self,
        _: &str,
        _: &str,
    ) -> std::result::Result<Registered, Rejected> {
        match *self {}
    }

    pub(crate) fn start_login(&self, _: &[&[u8]], _: Option<&str>) -> Result<Started> {
        match *self {}
    }

    pub(crate) fn finish_login(
        &self,
        _: &str,
        _: &Assertion,
        _: &str,
    ) -> std::result::Result<Verified, Rejected> {
        match *self {}
    }
}

impl Assertion {
    pub(crate) fn parse(_: &str) -> std::result::Result<Assertion, Rejected> {
        Err(Rejected::Invalid("passkeys are not built in".into()))
    }

    pub(crate) fn credential_id(&self) -> &[u8] {
        match *self {}
    }

    pub(crate) fn user_handle(&self) -> Option<&[u8]> {
        match *self {}
    }
}
