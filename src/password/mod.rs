//! Password policy (NIST SP 800-63B) and hashing (PBKDF2-HMAC-SHA256, PHC strings).

use std::collections::HashSet;
use std::sync::OnceLock;

use pbkdf2::password_hash::phc::PasswordHash;
use pbkdf2::password_hash::{CustomizedPasswordHasher, PasswordVerifier};
use pbkdf2::{Algorithm, Params, Pbkdf2};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// The common-password blocklist: 20,000 passwords most seen in breaches (the list Django
/// ships, compiled by Royce Williams), lower case, one per line.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Hashes with more iterations than this are refused rather than computed (a planted or
/// imported hash must not be able to stall a login for minutes).
pub(crate) const MAX_ITERATIONS: u32 = 10_000_000;
const SALT_BYTES: usize = 16;

/// A password in NFKC, wiped from memory when dropped.
pub(crate) type Normalized = Zeroizing<String>;

/// Applies the policy to a new password: length in characters after NFKC within
/// `min..=max`, not on the common-password list, not the user's own name or email, not one
/// repeated character. No composition rules. Returns the NFKC form that gets hashed.
pub(crate) fn check_new(
    password: &str,
    min: usize,
    max: usize,
    context: &[&str],
) -> Result<Normalized> {
    let Some(normalized) = normalize(password, max) else {
        return Err(weak(format!("password must be at most {max} characters")));
    };
    let chars = normalized.chars().count();
    if chars < min {
        return Err(weak(format!("password must be at least {min} characters")));
    }
    let lower = Zeroizing::new(crate::names::fold(&normalized));
    if is_common(&lower) {
        return Err(weak("password is too common".into()));
    }
    if context.iter().any(|c| !c.is_empty() && crate::names::fold(c) == *lower) {
        return Err(weak("password must not be the username or email".into()));
    }
    let mut it = lower.chars();
    if let Some(first) = it.next() {
        if it.all(|c| c == first) {
            return Err(weak("password must not be one repeated character".into()));
        }
    }
    Ok(normalized)
}

/// NFKC of `password`, or `None` when it is longer than `max` characters. Over-long input is
/// refused by its byte length before any normalisation or hashing work.
pub(crate) fn normalize(password: &str, max: usize) -> Option<Normalized> {
    if password.len() > max.saturating_mul(4) {
        return None;
    }
    let normalized = Zeroizing::new(password.nfkc().collect::<String>());
    (normalized.chars().count() <= max).then_some(normalized)
}

fn weak(message: String) -> Error {
    Error::new(ErrorKind::WeakPassword, message)
}

fn is_common(lower: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| COMMON_PASSWORDS.lines().map(str::trim).collect()).contains(lower)
}

/// Hashes with a fresh random salt: `$pbkdf2-sha256$i=<iterations>,l=32$<salt>$<hash>`.
pub(crate) fn hash(password: &Normalized, iterations: u32) -> Result<String> {
    let salt = crate::random::bytes::<SALT_BYTES>()?;
    let params = Params::new(iterations)
        .map_err(|_| Error::new(ErrorKind::Config, "invalid PBKDF2 iteration count"))?;
    let hash = Pbkdf2::new(Algorithm::Pbkdf2Sha256, params)
        .hash_password_customized(password.as_bytes(), &salt, None, None, params)
        .map_err(|_| Error::new(ErrorKind::Internal, "password hashing failed"))?;
    Ok(hash.to_string())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) matches: bool,
    /// The hash uses other parameters than the current ones: re-hash after a success.
    pub(crate) outdated: bool,
}

/// Checks `password` against `stored` in constant time. A stored value that cannot be
/// parsed, or asks for absurd work, is an error (fail closed), never a match.
pub(crate) fn verify(password: &Normalized, stored: &str, iterations: u32) -> Result<Verdict> {
    let parsed = parse(stored)?;
    let params = Params::try_from(&parsed).map_err(|_| corrupt())?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| corrupt())?;
    if params.rounds() > MAX_ITERATIONS {
        return Err(corrupt());
    }
    let matches =
        Pbkdf2::new(algorithm, params).verify_password(password.as_bytes(), &parsed).is_ok();
    let outdated = algorithm != Algorithm::Pbkdf2Sha256
        || params.rounds() != iterations
        || params.output_len() != Params::RECOMMENDED_OUTPUT_LENGTH;
    Ok(Verdict { matches, outdated })
}

fn parse(stored: &str) -> Result<PasswordHash> {
    stored.parse::<PasswordHash>().map_err(|_| corrupt())
}

fn corrupt() -> Error {
    Error::new(ErrorKind::Storage, "stored password hash is not usable")
}

/// Spends the same time as one verification at `iterations`, for unknown users, so that
/// "no such user" and "wrong password" cannot be told apart by timing. Runs the very code
/// path `verify` runs.
pub(crate) fn burn(password: &Normalized, iterations: u32) {
    let salt = [0u8; SALT_BYTES];
    if let Ok(params) = Params::new(iterations) {
        let hashed = Pbkdf2::new(Algorithm::Pbkdf2Sha256, params).hash_password_customized(
            password.as_bytes(),
            &salt,
            None,
            None,
            params,
        );
        std::hint::black_box(hashed.is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Normalized {
        normalize(s, 128).unwrap()
    }

    #[test]
    fn hash_and_verify_round_trip() {
        let h = hash(&n("correct horse battery staple"), 1_000).unwrap();
        assert!(h.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{h}");
        let v = verify(&n("correct horse battery staple"), &h, 1_000).unwrap();
        assert_eq!(v, Verdict { matches: true, outdated: false });
        assert!(!verify(&n("correct horse battery stapler"), &h, 1_000).unwrap().matches);
        assert!(verify(&n("correct horse battery staple"), &h, 2_000).unwrap().outdated);
        assert_ne!(h, hash(&n("correct horse battery staple"), 1_000).unwrap(), "salted");
    }

    #[test]
    fn garbage_hashes_fail_closed() {
        for bad in ["", "x", "$pbkdf2-sha256$i=99999999999,l=32$c2FsdA$aGFzaA", "$argon2id$v=19$x"]
        {
            assert_eq!(verify(&n("whatever1"), bad, 1_000).unwrap_err().kind(), ErrorKind::Storage);
        }
    }

    #[test]
    fn policy() {
        let ok = |p: &str| check_new(p, 8, 64, &["alice", "a@x.io"]);
        assert!(ok("correct horse battery staple").is_ok());
        assert!(ok("tr0ub4dor&3x").is_ok());
        for weak_pw in
            ["short", "password", "PASSWORD1", "iloveyou", "aaaaaaaaaa", "ALICE", "a@x.io"]
        {
            assert_eq!(ok(weak_pw).unwrap_err().kind(), ErrorKind::WeakPassword, "{weak_pw}");
        }
        assert!(ok(&"x1".repeat(32)).is_ok(), "64 characters allowed");
        assert!(ok(&"x1".repeat(33)).is_err(), "65 over the max of 64");
        assert!(ok(&"é".repeat(1000)).is_err());
        // NFKC: a fullwidth password equals its ASCII form.
        assert_eq!(*ok("ｃｏｒｒｅｃｔ ｈｏｒｓｅ").unwrap(), "correct horse");
    }

    #[test]
    fn blocklist_is_large() {
        assert!(COMMON_PASSWORDS.lines().count() >= 1_000);
    }
}
