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

/// The fixed prefix of API keys, so secret scanners can spot a leaked one.
pub(crate) use crate::values::credential::API_KEY_PREFIX;
const CHECKSUM_HEX: usize = 8;
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
    let (selector, secret) = body.split_once('.').ok_or_else(invalid)?;
    parse_parts(selector, secret, what)
}

/// Parses an issued secret handed out in its two parts (the selector and the secret
/// apart, as a provider flow's `state` and browser secret are), of exactly the issued shape.
pub(crate) fn parse_parts<'t>(
    selector: &'t str,
    secret: &str,
    what: &'static str,
) -> Result<Presented<'t>> {
    let invalid = || Error::new(ErrorKind::InvalidToken, what);
    if selector.len() != SELECTOR_CHARS || random::b64_decode(selector.as_bytes()).is_none() {
        return Err(invalid());
    }
    if secret.len() != SECRET_CHARS {
        return Err(invalid());
    }
    let secret = Zeroizing::new(random::b64_decode(secret.as_bytes()).ok_or_else(invalid)?);
    Ok(Presented { selector, hash: digest(&secret) })
}

/// Like [`issue`], with a CRC-32 of the text appended (`.<8 hex digits>`), so a mistyped
/// or truncated token is refused by [`parse_checked`] without a database read.
pub(crate) fn issue_checked(prefix: &str) -> Result<Issued> {
    let mut issued = issue(prefix)?;
    let crc = crc32fast::hash(issued.text.as_bytes());
    issued.text = format!("{}.{crc:08x}", issued.text);
    Ok(issued)
}

/// Parses what [`issue_checked`] made: the checksum first, then the shape.
pub(crate) fn parse_checked<'t>(
    token: &'t str,
    prefix: &str,
    what: &'static str,
) -> Result<Presented<'t>> {
    let invalid = || Error::new(ErrorKind::InvalidToken, what);
    let (body, crc) = token.rsplit_once('.').ok_or_else(invalid)?;
    let well_formed = crc.len() == CHECKSUM_HEX
        && crc.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let expected = format!("{:08x}", crc32fast::hash(body.as_bytes()));
    if !well_formed || crc != expected {
        return Err(invalid());
    }
    parse(body, prefix, what)
}

/// A human-typeable single-use code (recovery codes): 16 random base32 characters in four
/// groups, `xxxx-xxxx-xxxx-xxxx` (80 bits), and its digest.
pub(crate) fn issue_code() -> Result<(Zeroizing<String>, SecretHash)> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let raw = Zeroizing::new(random::bytes::<16>()?);
    let mut code = Zeroizing::new(String::with_capacity(19));
    for (i, byte) in raw.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(byte % 32)]));
    }
    let hash = code_digest(&code);
    Ok((code, hash))
}

/// The digest of a typed code, ignoring case, spaces and dashes; `None` if it cannot be
/// a code at all.
pub(crate) fn typed_code_digest(typed: &str) -> Option<SecretHash> {
    let letters: String =
        typed.chars().filter(|c| !matches!(c, '-' | ' ')).flat_map(char::to_lowercase).collect();
    if letters.len() != 16
        || !letters.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        return None;
    }
    let grouped: Vec<&str> = (0..4).map(|i| &letters[i * 4..i * 4 + 4]).collect();
    Some(code_digest(&grouped.join("-")))
}

fn code_digest(code: &str) -> SecretHash {
    digest(code.as_bytes())
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
    fn checked_secrets_refuse_any_typo() {
        let key = issue_checked(API_KEY_PREFIX).unwrap();
        assert!(key.text.starts_with("alk_"));
        let parsed = parse_checked(&key.text, API_KEY_PREFIX, "bad").unwrap();
        assert!(parsed.matches(&key.hash));
        // Every single-character change is caught by the checksum or the shape.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
        for i in 0..key.text.len() {
            for c in alphabet.chars().step_by(7) {
                let mut typo = key.text.clone();
                typo.replace_range(i..i + 1, &c.to_string());
                if typo != key.text {
                    assert!(parse_checked(&typo, API_KEY_PREFIX, "bad").is_err(), "{typo}");
                }
            }
        }
        assert!(parse_checked(&key.text[..key.text.len() - 1], API_KEY_PREFIX, "bad").is_err());
    }

    #[test]
    fn codes_are_typeable_and_forgiving_of_case_and_dashes() {
        let (code, hash) = issue_code().unwrap();
        assert_eq!(code.len(), 19);
        assert_eq!(typed_code_digest(&code), Some(hash));
        assert_eq!(typed_code_digest(&code.to_uppercase().replace('-', " ")), Some(hash));
        assert_eq!(typed_code_digest("not-a-code"), None);
        assert_ne!(issue_code().unwrap().1, hash);
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
