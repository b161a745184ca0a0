//! Randomness from the operating system, and the base64url text form of random values.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::values::error::{Error, ErrorKind, Result};

/// `N` bytes from the OS random source. Fails (never falls back) if it is unavailable.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    fill(&mut buf)?;
    Ok(buf)
}

/// `n` random bytes as unpadded base64url text (`n * 8` bits of entropy).
pub(crate) fn token(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    fill(&mut buf)?;
    Ok(b64(&buf))
}

fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::new(ErrorKind::Internal, "the OS random source failed"))
}

/// Unpadded base64url.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict unpadded base64url: no padding, no stray bits, no other alphabet.
pub(crate) fn b64_decode(text: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_sized() {
        let a = token(16).unwrap();
        let b = token(16).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert_eq!(b64_decode(a.as_bytes()).unwrap().len(), 16);
    }

    #[test]
    fn decoding_is_strict() {
        assert!(b64_decode(b"AA==").is_none(), "padding");
        assert!(b64_decode(b"AB").is_none(), "non-zero trailing bits");
        assert!(b64_decode(b"A+").is_none(), "standard alphabet");
        assert_eq!(b64_decode(b"AA").unwrap(), vec![0]);
    }
}
