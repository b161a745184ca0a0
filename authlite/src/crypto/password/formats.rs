//! Stored password hash formats: this crate's PHC strings, and the PBKDF2 formats of other
//! systems that `import_user` accepts and the next login upgrades.
//!
//! | Format | Example |
//! | --- | --- |
//! | PHC (this crate, RustCrypto) | `$pbkdf2-sha256$i=600000,l=32$<b64 salt>$<b64 hash>` |
//! | passlib | `$pbkdf2-sha256$29000$<ab64 salt>$<ab64 hash>` (also `-sha512`) |
//! | Django | `pbkdf2_sha256$600000$<salt>$<base64 hash>` |
//! | Werkzeug | `pbkdf2:sha256:600000$<salt>$<hex hash>` (also `sha512`) |

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use pbkdf2::password_hash::phc::PasswordHash;
use pbkdf2::{Algorithm, Params};

/// Stored hashes asking for more iterations than this are refused rather than computed
/// (a planted or imported hash must not stall a login for minutes).
pub(crate) const MAX_ITERATIONS: u32 = 10_000_000;

/// A parsed stored hash.
pub(crate) enum Stored {
    /// This crate's own format: the password is NFKC-normalised before hashing.
    Phc(Box<PasswordHash>),
    /// Another system's format: the password's raw UTF-8 bytes were hashed.
    Foreign { algorithm: Algorithm, params: Params, salt: Vec<u8>, hash: Vec<u8> },
}

/// Parses any supported format; `None` if it is none of them or its numbers are out of
/// range (iterations 1,000..=10,000,000, hash 10..=64 bytes).
pub(crate) fn parse(stored: &str) -> Option<Stored> {
    if stored.len() > 1024 {
        return None;
    }
    if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
        return django(rest);
    }
    if let Some(rest) = stored.strip_prefix("pbkdf2:") {
        return werkzeug(rest);
    }
    let fields: Vec<&str> = stored.split('$').collect();
    match fields.as_slice() {
        ["", alg, rounds, salt, hash] if rounds.bytes().all(|b| b.is_ascii_digit()) => {
            let decode = |s: &str| STANDARD_NO_PAD.decode(s.replace('.', "+")).ok();
            foreign(phc_algorithm(alg)?, rounds.parse().ok()?, decode(salt)?, decode(hash)?)
        }
        ["", alg, ..] => {
            phc_algorithm(alg)?;
            let parsed = stored.parse::<PasswordHash>().ok()?;
            let params = Params::try_from(&parsed).ok()?;
            (params.rounds() <= MAX_ITERATIONS).then(|| Stored::Phc(Box::new(parsed)))
        }
        _ => None,
    }
}

fn phc_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "pbkdf2-sha256" => Some(Algorithm::Pbkdf2Sha256),
        "pbkdf2-sha512" => Some(Algorithm::Pbkdf2Sha512),
        _ => None,
    }
}

/// `<iterations>$<salt>$<base64 hash>`; Django hashes the salt's text as is.
fn django(rest: &str) -> Option<Stored> {
    let mut it = rest.splitn(3, '$');
    let (iterations, salt, hash) = (it.next()?, it.next()?, it.next()?);
    if salt.is_empty() {
        return None;
    }
    let hash = STANDARD.decode(hash).ok()?;
    foreign(Algorithm::Pbkdf2Sha256, iterations.parse().ok()?, salt.as_bytes().to_vec(), hash)
}

/// `<sha256|sha512>:<iterations>$<salt>$<hex hash>`; the salt's text is hashed as is.
fn werkzeug(rest: &str) -> Option<Stored> {
    let (method, rest) = rest.split_once('$')?;
    let (salt, hex) = rest.split_once('$')?;
    let (digest, iterations) = method.split_once(':')?;
    let algorithm = match digest {
        "sha256" => Algorithm::Pbkdf2Sha256,
        "sha512" => Algorithm::Pbkdf2Sha512,
        _ => return None,
    };
    if salt.is_empty() || hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    let hash = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    foreign(algorithm, iterations.parse().ok()?, salt.as_bytes().to_vec(), hash)
}

fn foreign(algorithm: Algorithm, iterations: u32, salt: Vec<u8>, hash: Vec<u8>) -> Option<Stored> {
    if iterations > MAX_ITERATIONS || salt.is_empty() {
        return None;
    }
    let params = Params::new_with_output_len(iterations, hash.len()).ok()?;
    Some(Stored::Foreign { algorithm, params, salt, hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format_and_refuses_the_rest() {
        let ok = [
            "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWhhc2g",
            "$pbkdf2-sha256$29000$N2bMeU9pLSXkHA$vzTKMxc8clUwWCjNSJRtZ3zM5aGBN9sHuM3V6bKQfEk",
            "pbkdf2_sha256$1000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "pbkdf2:sha256:1000$salt$00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ];
        for s in ok {
            assert!(parse(s).is_some(), "{s}");
        }
        let bad = [
            "",
            "plain",
            "pbkdf2_sha256$99999999999$salt$AAAA",
            "pbkdf2_sha256$10$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "pbkdf2:sha1:1000$salt$0011",
            "pbkdf2:sha256:1000$$00",
            "pbkdf2:sha256:1000$salt$zz",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$20000000$c2FsdA$aGFzaGhhc2hoYXNo",
        ];
        for s in bad {
            assert!(parse(s).is_none(), "{s}");
        }
    }
}
