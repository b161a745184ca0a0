//! The one opaque-secret primitive: `<selector>.<secret>` tokens whose selector finds the
//! row and whose secret is kept only as SHA-256 and compared in constant time. Refresh
//! tokens use it; every later opaque credential (API keys, one-time tokens, recovery codes)
//! is meant to as well, with its own prefix.
//!
//! The selector is 128 random bits, the secret 256, both unpadded base64url.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::random;
use crate::values::error::{Error, ErrorKind, Result};

const SELECTOR_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;
/// base64url lengths of the two parts.
const SELECTOR_CHARS: usize = 22;
const SECRET_CHARS: usize = 43;

/// A SHA-256 digest of a secret: what the database keeps.
pub(crate) type SecretHash = [u8; 32];

/// A freshly generated secret: the text to hand out once, and what to store.
pub(crate) struct Issued {
    pub(crate) selector: String,
    pub(crate) hash: SecretHash,
    /// `<prefix><selector>.<secret>`; shown once, never stored.
    pub(crate) text: String,
}

/// A new random secret with `prefix` (may be empty) in front of its text form.
pub(crate) fn issue(prefix: &str) -> Result<Issued> {
    let selector = random::token(SELECTOR_BYTES)?;
    let secret = Zeroizing::new(random::bytes::<SECRET_BYTES>()?);
    let text = format!("{prefix}{selector}.{}", random::b64(&secret[..]));
    Ok(Issued { selector, hash: digest(&secret[..]), text })
}

/// A presented token split into its lookup part and the digest of its secret.
pub(crate) struct Presented<'t> {
    pub(crate) selector: &'t str,
    hash: SecretHash,
}

impl Presented<'_> {
    /// Whether `stored` is the digest of the presented secret, in constant time.
    pub(crate) fn matches(&self, stored: &[u8]) -> bool {
        bool::from(stored.ct_eq(&self.hash[..]))
    }
}

/// Parses `<prefix><selector>.<secret>` of exactly the issued shape. Anything else is
/// `InvalidToken` naming `what`, before any database read.
pub(crate) fn parse<'t>(token: &'t str, prefix: &str, what: &'static str) -> Result<Presented<'t>> {
    let invalid = || Error::new(ErrorKind::InvalidToken, what);
    let body = token.strip_prefix(prefix).ok_or_else(invalid)?;
    if body.len() != SELECTOR_CHARS + 1 + SECRET_CHARS {
        return Err(invalid());
    }
    let (selector, secret) = body.split_once('.').ok_or_else(invalid)?;
    if selector.len() != SELECTOR_CHARS || random::b64_decode(selector.as_bytes()).is_none() {
        return Err(invalid());
    }
    let secret = Zeroizing::new(random::b64_decode(secret.as_bytes()).ok_or_else(invalid)?);
    Ok(Presented { selector, hash: digest(&secret) })
}

fn digest(secret: &[u8]) -> SecretHash {
    Sha256::digest(secret).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_secrets_parse_and_match_only_themselves() {
        let a = issue("").unwrap();
        let b = issue("").unwrap();
        let parsed = parse(&a.text, "", "bad").unwrap();
        assert_eq!(parsed.selector, a.selector);
        assert!(parsed.matches(&a.hash));
        assert!(!parsed.matches(&b.hash));
        let prefixed = issue("al_").unwrap();
        assert!(parse(&prefixed.text, "al_", "bad").is_ok());
        assert!(parse(&prefixed.text, "", "bad").is_err());
    }

    #[test]
    fn parse_rejects_anything_but_the_exact_shape() {
        let good = format!("{}.{}", "A".repeat(22), "A".repeat(43));
        assert!(parse(&good, "", "bad").is_ok());
        for bad in [
            String::new(),
            "x.y".into(),
            format!("{}.{}", "A".repeat(21), "A".repeat(44)),
            format!("{}{}", "A".repeat(23), "A".repeat(43)),
            format!("{}.{}", "A".repeat(22), "+".repeat(43)),
            format!("{}.{}", "é".repeat(11), "A".repeat(43)),
        ] {
            let err = parse(&bad, "", "bad").err().expect("refused");
            assert_eq!(err.kind(), ErrorKind::InvalidToken, "{bad}");
        }
    }
}
