//! The settings that bind a database file, recorded at creation: signing algorithm,
//! issuer, audience, a random instance id, and whether a master secret is in use (with a
//! check value derived from it). A later opener whose `Config` conflicts is refused with a
//! `Config` error before it writes anything. A tool that must open any application's
//! database (the CLI, a script) starts from [`recorded_config`], so it acts exactly as the
//! application would.

use subtle::ConstantTimeEq;

use crate::crypto::{mac, random};
use std::path::Path;

use crate::store::{self, WriteTx};
use crate::values::config::{Config, SigningAlgorithm};
use crate::values::error::{Error, ErrorKind, Result};

const INSTANCE_ID: &str = "instance_id";
const ALGORITHM: &str = "signing_algorithm";
const ISSUER: &str = "issuer";
const AUDIENCE: &str = "audience";
/// `derive(master_secret, MASTER_CHECK_LABEL)`, or empty when no master secret is used.
const MASTER_CHECK: &str = "master_check";
const MASTER_CHECK_LABEL: &str = "authlite/master-check/v1";
const INSTANCE_BYTES: usize = 16;

/// Records the binding settings of a new (or not yet bound) file, or checks `config`
/// against them: any difference is a `Config` error. Returns the database's instance id.
/// Runs in the caller's transaction; an error leaves no write.
pub(crate) fn bind(tx: &WriteTx<'_>, config: &Config) -> Result<String> {
    setting(tx, ALGORITHM, algorithm_name(config.signing_algorithm))?;
    setting(tx, ISSUER, &config.issuer)?;
    setting(tx, AUDIENCE, &config.audience)?;
    check_master(tx, config)?;
    let fresh = random::token(INSTANCE_BYTES)?;
    let id = tx.meta_or_insert(INSTANCE_ID, fresh.as_bytes())?;
    String::from_utf8(id).map_err(|_| Error::new(ErrorKind::Storage, "malformed instance id"))
}

/// Records `wanted` under `key` if nothing is recorded; otherwise the recorded value must be
/// `wanted`.
fn setting(tx: &WriteTx<'_>, key: &str, wanted: &str) -> Result<()> {
    let stored = tx.meta_or_insert(key, wanted.as_bytes())?;
    if stored == wanted.as_bytes() {
        return Ok(());
    }
    let stored = String::from_utf8_lossy(&stored);
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "this database was created with {key} {stored:?}; the config asks for {wanted:?} \
             (Auth::recorded_config gives the recorded settings)"
        ),
    ))
}

/// The configuration an existing database records (path, signing algorithm, issuer,
/// audience; every other field at its default), read without writing a byte. `NotFound`
/// for a missing file; `Storage` for a file that is not an authlite database.
pub(crate) fn recorded_config(path: &Path) -> Result<Config> {
    let recorded = store::recorded_settings(path, &[ALGORITHM, ISSUER, AUDIENCE])?;
    let mut config = Config::new(path);
    let text = |i: usize| recorded[i].as_deref().map(|v| String::from_utf8_lossy(v).into_owned());
    if let Some(algorithm) = text(0) {
        config.signing_algorithm = match algorithm.as_str() {
            "HS256" => SigningAlgorithm::Hs256,
            "EdDSA" => SigningAlgorithm::EdDsa,
            other => {
                let message =
                    format!("the database records an unknown signing algorithm {other:?}");
                return Err(Error::new(ErrorKind::Storage, message));
            }
        };
    }
    if let Some(issuer) = text(1) {
        config.issuer = issuer;
    }
    if let Some(audience) = text(2) {
        config.audience = audience;
    }
    Ok(config)
}

/// A file made with a master secret opens only with that secret; one made without opens
/// only without (the audit chain and every derived key depend on it).
fn check_master(tx: &WriteTx<'_>, config: &Config) -> Result<()> {
    let check = match &config.master_secret {
        Some(secret) => mac::derive(secret.expose(), MASTER_CHECK_LABEL).to_vec(),
        None => Vec::new(),
    };
    let stored = tx.meta_or_insert(MASTER_CHECK, &check)?;
    match (stored.is_empty(), check.is_empty()) {
        (true, true) => Ok(()),
        (false, false) if bool::from(stored.ct_eq(&check)) => Ok(()),
        (false, false) => {
            Err(Error::new(ErrorKind::Config, "wrong master_secret for this database"))
        }
        (false, true) => Err(Error::new(
            ErrorKind::Config,
            "this database was created with a master_secret; supply it in the config",
        )),
        (true, false) => Err(Error::new(
            ErrorKind::Config,
            "this database was created without a master_secret; remove it from the config",
        )),
    }
}

pub(crate) fn algorithm_name(algorithm: SigningAlgorithm) -> &'static str {
    match algorithm {
        SigningAlgorithm::Hs256 => "HS256",
        SigningAlgorithm::EdDsa => "EdDSA",
    }
}
