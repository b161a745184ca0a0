//! Signing-key administration: rotation, retirement, listing and JWKS export.

use super::engine::{Engine, Record};
use crate::crypto::random;
use crate::values::audit::AuditKind;
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::key::SigningKeyInfo;

/// Key management.
impl Engine {
    pub(crate) fn rotate_signing_key(&self) -> Result<String> {
        if self.keys.configured() {
            return Err(Error::new(
                ErrorKind::Conflict,
                "the signing key is supplied in Config; rotate it there",
            ));
        }
        let kid = self.write(|tx| {
            let kid = self.keys.insert_new(tx, tx.now())?;
            tx.audit(AuditKind::KeyRotated, Record::default().detail(format!("kid={kid}")))?;
            Ok(kid)
        })?;
        self.keys.reload(&self.store)?;
        Ok(kid)
    }

    pub(crate) fn retire_signing_key(&self, kid: &str) -> Result<()> {
        self.write(|tx| {
            match tx.key_retired(kid)? {
                None => return Err(Error::new(ErrorKind::NotFound, "no such signing key")),
                Some(true) => return Ok(()),
                Some(false) => {}
            }
            if self.keys.newest(tx)?.as_deref() == Some(kid) && !self.keys.configured() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "cannot retire the current signing key; rotate first",
                ));
            }
            tx.retire_key(kid, tx.now())?;
            tx.audit(AuditKind::KeyRetired, Record::default().detail(format!("kid={kid}")))
        })?;
        self.keys.reload(&self.store)?;
        Ok(())
    }

    pub(crate) fn signing_keys(&self) -> Result<Vec<SigningKeyInfo>> {
        let signer = self.keys.reload(&self.store)?.signer.kid.clone();
        let mut keys = self.store.read(|conn| conn.signing_keys())?;
        for key in &mut keys {
            key.signing = key.kid == signer;
        }
        Ok(keys)
    }

    pub(crate) fn jwks(&self) -> Result<String> {
        let ring = self.keys.reload(&self.store)?;
        let keys: Vec<serde_json::Value> = ring
            .keys
            .iter()
            .filter_map(|k| {
                k.public.as_ref().map(|public| {
                    serde_json::json!({
                        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                        "kid": k.kid, "x": random::b64(public),
                    })
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }).to_string())
    }
}
