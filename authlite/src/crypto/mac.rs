//! HMAC-SHA256, and the one keyed derivation every purpose-specific key comes from:
//! `derive(master, label) = HMAC-SHA256(master, label)`. Distinct labels give independent
//! keys, so a key for one purpose (the audit chain, a future token kind) reveals nothing
//! about another or about the master.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// An HMAC-SHA256 in progress; HMAC accepts keys of any length.
pub(crate) fn hmac(key: &[u8]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// The key for one purpose, derived from the master key.
pub(crate) fn derive(master: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    let mut mac = hmac(master);
    mac.update(label.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_give_independent_keys_and_match_rfc_4231() {
        assert_ne!(*derive(b"master", "a"), *derive(b"master", "b"));
        assert_ne!(*derive(b"master", "a"), *derive(b"other", "a"));
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let out = derive(b"Jefe", "what do ya want for nothing?");
        assert_eq!(
            out.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
