//! Scoped capability tokens: `<payload>.<tag>`, both unpadded base64url, about 50
//! characters for a short subject (a small QR code). The payload is a version byte, the
//! issue and expiry times in milliseconds (6 bytes each), the revocation generation of the
//! (scope, subject) the token was issued under (4 bytes; version 2 — version 1 tokens have
//! none and are judged by their issue time) and the subject; the tag is the
//! first 128 bits of HMAC-SHA256 over the database instance, the scope and the payload, with
//! a key derived from the master key. The scope is not in the token: the verifier names
//! it, so a token of one scope never verifies as another.

use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::crypto::{mac, random};
use crate::values::error::{Error, ErrorKind, Result};

/// The label the scoped-token key is derived with from the master key.
pub(crate) const KEY_LABEL: &str = "authlite/scoped/v1";
/// The format issued: with the revocation generation.
const VERSION: u8 = 2;
/// The first format, still verified: issue and expiry times only.
const VERSION_1: u8 = 1;
const TIME_BYTES: usize = 6;
const GENERATION_BYTES: usize = 4;
const HEADER_1_BYTES: usize = 1 + 2 * TIME_BYTES;
const HEADER_BYTES: usize = HEADER_1_BYTES + GENERATION_BYTES;
const TAG_BYTES: usize = 16;
/// Longer input is refused before decoding.
const MAX_TOKEN_CHARS: usize = 512;
/// The longest subject, in bytes.
pub(crate) const MAX_SUBJECT_BYTES: usize = 256;

/// What a genuine token says; times in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scoped {
    pub(crate) subject: String,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    /// The (scope, subject)'s revocation generation at issue; `None` for a version 1 token.
    pub(crate) generation: Option<u32>,
}

/// Signs a token for `scope` and `subject`.
pub(crate) fn issue(key: &[u8; 32], instance: &str, scope: &str, token: &Scoped) -> String {
    let mut payload = Vec::with_capacity(HEADER_BYTES + token.subject.len());
    payload.push(VERSION);
    payload.extend_from_slice(&time_bytes(token.issued_at));
    payload.extend_from_slice(&time_bytes(token.expires_at));
    payload.extend_from_slice(&token.generation.unwrap_or(0).to_be_bytes());
    payload.extend_from_slice(token.subject.as_bytes());
    let tag = tag(key, instance, scope, &payload);
    format!("{}.{}", random::b64(&payload), random::b64(&tag))
}

/// Checks the shape and the tag for `scope`; `InvalidToken` for anything else. Time and
/// revocation are the caller's.
pub(crate) fn verify(key: &[u8; 32], instance: &str, scope: &str, text: &str) -> Result<Scoped> {
    if text.len() > MAX_TOKEN_CHARS {
        return Err(invalid());
    }
    let (payload, tag_text) = text.split_once('.').ok_or_else(invalid)?;
    let payload = random::b64_decode(payload.as_bytes()).ok_or_else(invalid)?;
    let presented = random::b64_decode(tag_text.as_bytes()).ok_or_else(invalid)?;
    let header = match payload.first() {
        Some(&VERSION) => HEADER_BYTES,
        Some(&VERSION_1) => HEADER_1_BYTES,
        _ => return Err(invalid()),
    };
    if payload.len() <= header || presented.len() != TAG_BYTES {
        return Err(invalid());
    }
    let expected = tag(key, instance, scope, &payload);
    if !bool::from(presented.ct_eq(&expected)) {
        return Err(invalid());
    }
    let time = |at: usize| {
        let mut be = [0u8; 8];
        be[8 - TIME_BYTES..].copy_from_slice(&payload[at..at + TIME_BYTES]);
        i64::from_be_bytes(be)
    };
    let generation = (header == HEADER_BYTES).then(|| {
        let mut be = [0u8; GENERATION_BYTES];
        be.copy_from_slice(&payload[HEADER_1_BYTES..HEADER_BYTES]);
        u32::from_be_bytes(be)
    });
    let subject = String::from_utf8(payload[header..].to_vec()).map_err(|_| invalid())?;
    Ok(Scoped { subject, issued_at: time(1), expires_at: time(1 + TIME_BYTES), generation })
}

fn tag(key: &[u8; 32], instance: &str, scope: &str, payload: &[u8]) -> [u8; TAG_BYTES] {
    let mut mac = mac::hmac(key);
    for part in [instance.as_bytes(), scope.as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.update(payload);
    let full: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = [0u8; TAG_BYTES];
    out.copy_from_slice(&full[..TAG_BYTES]);
    out
}

fn time_bytes(ms: i64) -> [u8; TIME_BYTES] {
    let be = u64::try_from(ms).unwrap_or(0).to_be_bytes();
    let mut out = [0u8; TIME_BYTES];
    out.copy_from_slice(&be[8 - TIME_BYTES..]);
    out
}

fn invalid() -> Error {
    Error::new(ErrorKind::InvalidToken, "invalid scoped token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Scoped {
        Scoped {
            subject: "42".into(),
            issued_at: 1_700_000_000_123,
            expires_at: 1_700_014_400_123,
            generation: Some(3),
        }
    }

    #[test]
    fn tokens_of_the_first_format_still_verify_without_a_generation() {
        let key = [7u8; 32];
        let old = sample();
        let mut payload = vec![VERSION_1];
        payload.extend_from_slice(&time_bytes(old.issued_at));
        payload.extend_from_slice(&time_bytes(old.expires_at));
        payload.extend_from_slice(old.subject.as_bytes());
        let tag = tag(&key, "db", "table", &payload);
        let token = format!("{}.{}", random::b64(&payload), random::b64(&tag));
        let back = verify(&key, "db", "table", &token).unwrap();
        assert_eq!(back, Scoped { generation: None, ..old });
    }

    #[test]
    fn round_trip_is_compact_and_bound_to_scope_instance_and_key() {
        let key = [7u8; 32];
        let token = issue(&key, "db-a", "table", &sample());
        assert!(token.len() <= 50, "{token} ({} chars)", token.len());
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(verify(&key, "db-a", "table", &token).unwrap(), sample());
        assert!(verify(&key, "db-a", "room", &token).is_err(), "scope");
        assert!(verify(&key, "db-b", "table", &token).is_err(), "instance");
        assert!(verify(&[8u8; 32], "db-a", "table", &token).is_err(), "key");
    }

    #[test]
    fn any_change_is_refused() {
        let key = [7u8; 32];
        let token = issue(&key, "db", "table", &sample());
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                assert!(verify(&key, "db", "table", &tampered).is_err(), "{tampered}");
            }
        }
        for junk in ["", ".", "a.b", &"A".repeat(600), "AAAA.AAAA"] {
            assert!(verify(&key, "db", "table", junk).is_err());
        }
    }
}
