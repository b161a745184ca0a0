//! The settings that bind a database file, recorded at creation: signing algorithm,
//! issuer, audience, a random instance id, and whether a master secret is in use (with a
//! check value derived from it). A later opener whose `Config` conflicts is refused with a
//! `Config` error before it writes anything; a setting the config left at its default is
//! adopted from the file instead, so a CLI or a script opens any application's database
//! with no options and acts exactly as the application would.

use subtle::ConstantTimeEq;

use crate::crypto::{mac, random};
use crate::store::WriteTx;
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
/// against them, adopting recorded values where `config` has the default. Returns the
/// database's instance id. Runs in the caller's transaction; an error leaves no write.
pub(crate) fn bind(tx: &WriteTx<'_>, config: &mut Config) -> Result<String> {
    let defaults = Config::new("");
    let algorithm = algorithm_name(config.signing_algorithm);
    let recorded = setting(tx, ALGORITHM, algorithm, algorithm_name(defaults.signing_algorithm))?;
    config.signing_algorithm = match recorded.as_str() {
        "HS256" => SigningAlgorithm::Hs256,
        "EdDSA" => SigningAlgorithm::EdDsa,
        other => {
            return Err(Error::new(
                ErrorKind::Storage,
                format!("the database records an unknown signing algorithm {other:?}"),
            ));
        }
    };
    config.issuer = setting(tx, ISSUER, &config.issuer, &defaults.issuer)?;
    config.audience = setting(tx, AUDIENCE, &config.audience, &defaults.audience)?;
    if config.signing_secret.is_some() && config.signing_algorithm != SigningAlgorithm::Hs256 {
        return Err(Error::new(
            ErrorKind::Config,
            "this database signs with EdDSA; a signing_secret (HS256) cannot be used with it",
        ));
    }
    check_master(tx, config)?;
    let fresh = random::token(INSTANCE_BYTES)?;
    let id = tx.meta_or_insert(INSTANCE_ID, fresh.as_bytes())?;
    String::from_utf8(id).map_err(|_| Error::new(ErrorKind::Storage, "malformed instance id"))
}

/// The recorded value of `key`, recording `wanted` first if there is none. A recorded value
/// other than `wanted` is adopted when `wanted` is the default, and refused otherwise.
fn setting(tx: &WriteTx<'_>, key: &str, wanted: &str, default: &str) -> Result<String> {
    let stored = tx.meta_or_insert(key, wanted.as_bytes())?;
    let stored = String::from_utf8(stored)
        .map_err(|_| Error::new(ErrorKind::Storage, format!("malformed recorded {key}")))?;
    if stored == wanted || wanted == default {
        return Ok(stored);
    }
    Err(Error::new(
        ErrorKind::Config,
        format!("this database was created with {key} {stored:?}; the config asks for {wanted:?}"),
    ))
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
