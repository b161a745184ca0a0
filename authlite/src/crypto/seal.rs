//! Sealing small secrets at rest (TOTP secrets): XChaCha20-Poly1305 with a key derived from
//! the master key, a random 192-bit nonce per seal, and associated data that binds the
//! sealed value to its place (database instance and row), so it cannot be moved to another.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::crypto::random;
use crate::values::error::{Error, ErrorKind, Result};

const NONCE_BYTES: usize = 24;

/// `nonce || ciphertext+tag`.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let nonce = random::bytes::<NONCE_BYTES>()?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| Error::new(ErrorKind::Internal, "sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plaintext of a value sealed with `key` and `aad`; `Storage` if it was altered,
/// moved, or sealed under another key.
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let unusable = || Error::new(ErrorKind::Storage, "a sealed secret does not open");
    if sealed.len() <= NONCE_BYTES {
        return Err(unusable());
    }
    let (nonce, body) = sealed.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| unusable())?;
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
        .map(Zeroizing::new)
        .map_err(|_| unusable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_its_key_and_place() {
        let key = [3u8; 32];
        let sealed = seal(&key, b"db:user 1", b"JBSWY3DPEHPK3PXP").unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(&open(&key, b"db:user 1", &sealed).unwrap()[..], b"JBSWY3DPEHPK3PXP");
        assert!(open(&key, b"db:user 2", &sealed).is_err(), "moved to another row");
        assert!(open(&[4u8; 32], b"db:user 1", &sealed).is_err(), "another key");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(open(&key, b"db:user 1", &altered).is_err());
        assert!(open(&key, b"", &[]).is_err());
    }
}
