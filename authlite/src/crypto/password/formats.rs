//! Stored password hash formats: this crate's PHC strings, and the PBKDF2 formats of other
//! systems that `import_user` accepts and the next login upgrades.
//!
//! | Format | Example |
//! | --- | --- |
//! | PHC (this crate, RustCrypto) | `$pbkdf2-sha256$i=600000,l=32$<b64 salt>$<b64 hash>` |
//! | passlib | `$pbkdf2-sha256$29000$<ab64 salt>$<ab64 hash>` (also `-sha512`) |
//! | Django | `pbkdf2_sha256$600000$<salt>$<base64 hash>` |
//! | Werkzeug | `pbkdf2:sha256:600000$<salt>$<hex hash>` (also `sha512`) |
//! | bcrypt (Devise, Rails, Laravel, GoTrue, Python `bcrypt`) | `$2b$12$<22 salt><31 hash>` (also `$2a$`, `$2y$`) |
//! | Django bcrypt | `bcrypt_sha256$$2b$12$...` (bcrypt of the password's SHA-256 hex digest) |
//! | Werkzeug 3 scrypt | `scrypt:32768:8:1$<salt>$<hex hash>` |
//! | scrypt PHC (passlib) | `$scrypt$ln=16,r=8,p=1$<b64 salt>$<b64 hash>` |
//! | Argon2 (argon2-cffi, passlib) | `$argon2id$v=19$m=65536,t=3,p=4$<b64 salt>$<b64 hash>` (also `$argon2i$`) |
//! | Django Argon2 | `argon2$argon2id$v=19$m=102400,t=2,p=8$<b64 salt>$<b64 hash>` |
//!
//! Costs are capped so that a planted hash cannot stall a login: PBKDF2 10,000,000
//! iterations, bcrypt cost 4..=15, scrypt N ≤ 2^20 with 128·N·r ≤ 256 MiB, Argon2
//! m ≤ 256 MiB, t ≤ 16, p ≤ 16. MD5, SHA-1 and other unsalted or fast formats are refused.

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
    /// Another system's bcrypt, scrypt or Argon2 hash (of the raw UTF-8 bytes).
    Slow(Slow),
}

/// The memory-hard and bcrypt formats, verified by their own crates.
pub(crate) enum Slow {
    /// The `$2?$` string; `prehash`: Django's `bcrypt_sha256`, which hashes the hex SHA-256
    /// of the password.
    Bcrypt {
        hash: String,
        prehash: bool,
    },
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Argon2 {
        algorithm: argon2::Algorithm,
        params: argon2::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

const MAX_BCRYPT_COST: u32 = 15;
const MAX_SCRYPT_LOG_N: u8 = 20;
/// scrypt's memory (128·N·r bytes) and Argon2's `m` (KiB), at most 256 MiB.
const MAX_MEMORY_BYTES: u64 = 256 << 20;
const MAX_ARGON2_T: u32 = 16;
const MAX_PARALLELISM: u32 = 16;

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
    if let Some(rest) = stored.strip_prefix("bcrypt_sha256$") {
        return bcrypt(rest, true);
    }
    if stored.starts_with("$2") {
        return bcrypt(stored, false);
    }
    if let Some(rest) = stored.strip_prefix("scrypt:") {
        return werkzeug_scrypt(rest);
    }
    if let Some(rest) = stored.strip_prefix("argon2$") {
        return argon2(&format!("${rest}"));
    }
    if stored.starts_with("$argon2") {
        return argon2(stored);
    }
    if stored.starts_with("$scrypt$") {
        return phc_scrypt(stored);
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
            // PHC makes the salt and the hash optional; a stored hash needs both.
            let complete = parsed.salt.is_some() && parsed.hash.is_some();
            (complete && params.rounds() <= MAX_ITERATIONS).then(|| Stored::Phc(Box::new(parsed)))
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
    if salt.is_empty() {
        return None;
    }
    foreign(algorithm, iterations.parse().ok()?, salt.as_bytes().to_vec(), unhex(hex)?)
}

fn foreign(algorithm: Algorithm, iterations: u32, salt: Vec<u8>, hash: Vec<u8>) -> Option<Stored> {
    if iterations > MAX_ITERATIONS || salt.is_empty() {
        return None;
    }
    let params = Params::new_with_output_len(iterations, hash.len()).ok()?;
    Some(Stored::Foreign { algorithm, params, salt, hash })
}

/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 53 characters of salt and hash.
fn bcrypt(hash: &str, prehash: bool) -> Option<Stored> {
    let mut fields = hash.split('$');
    let ("", version, cost, rest, None) =
        (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next())
    else {
        return None;
    };
    let cost: u32 = cost.parse().ok().filter(|_| cost.len() == 2)?;
    let bcrypt64 = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'/';
    let valid = matches!(version, "2a" | "2b" | "2y")
        && (4..=MAX_BCRYPT_COST).contains(&cost)
        && rest.len() == 53
        && rest.bytes().all(bcrypt64);
    valid.then(|| Stored::Slow(Slow::Bcrypt { hash: hash.to_owned(), prehash }))
}

/// Werkzeug 3: `<N>:<r>:<p>$<salt>$<hex hash>`, the salt's text hashed as is.
fn werkzeug_scrypt(rest: &str) -> Option<Stored> {
    let (method, rest) = rest.split_once('$')?;
    let (salt, hex) = rest.split_once('$')?;
    let mut numbers = method.split(':').map(|n| n.parse::<u64>().ok());
    let (n, r, p) = (numbers.next()??, numbers.next()??, numbers.next()??);
    if numbers.next().is_some() || salt.is_empty() {
        return None;
    }
    scrypt_params(n, r, p, salt.as_bytes().to_vec(), unhex(hex)?)
}

/// passlib's PHC form: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<b64 salt>$<b64 hash>`.
fn phc_scrypt(stored: &str) -> Option<Stored> {
    let ["", "scrypt", params, salt, hash] = stored.split('$').collect::<Vec<_>>()[..] else {
        return None;
    };
    let [ln, r, p] = phc_params(params, ["ln", "r", "p"])?;
    let n = 1u64.checked_shl(u32::try_from(ln).ok()?)?;
    scrypt_params(n, r, p, b64(salt)?, b64(hash)?)
}

fn scrypt_params(n: u64, r: u64, p: u64, salt: Vec<u8>, hash: Vec<u8>) -> Option<Stored> {
    if !n.is_power_of_two() || n < 2 || salt.is_empty() || !(10..=64).contains(&hash.len()) {
        return None;
    }
    let log_n = u8::try_from(n.trailing_zeros()).ok()?;
    let memory = 128u64.checked_mul(n)?.checked_mul(r)?;
    let (r, p) = (u32::try_from(r).ok()?, u32::try_from(p).ok()?);
    if log_n > MAX_SCRYPT_LOG_N || memory > MAX_MEMORY_BYTES || !(1..=MAX_PARALLELISM).contains(&p)
    {
        return None;
    }
    let params = scrypt::Params::new(log_n, r, p).ok()?;
    Some(Stored::Slow(Slow::Scrypt { params, salt, hash }))
}

/// `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<b64 salt>$<b64 hash>` (also `argon2i`);
/// version 19 only.
fn argon2(stored: &str) -> Option<Stored> {
    let ["", name, "v=19", params, salt, hash] = stored.split('$').collect::<Vec<_>>()[..] else {
        return None;
    };
    let algorithm = match name {
        "argon2id" => argon2::Algorithm::Argon2id,
        "argon2i" => argon2::Algorithm::Argon2i,
        _ => return None,
    };
    let [m, t, p] = phc_params(params, ["m", "t", "p"])?.map(u32::try_from);
    let (m, t, p) = (m.ok()?, t.ok()?, p.ok()?);
    let (salt, hash) = (b64(salt)?, b64(hash)?);
    let within = u64::from(m) * 1024 <= MAX_MEMORY_BYTES
        && (1..=MAX_ARGON2_T).contains(&t)
        && (1..=MAX_PARALLELISM).contains(&p)
        && salt.len() >= 8
        && (10..=64).contains(&hash.len());
    let params = argon2::Params::new(m, t, p, Some(hash.len())).ok().filter(|_| within)?;
    Some(Stored::Slow(Slow::Argon2 { algorithm, params, salt, hash }))
}

/// The values of a PHC parameter list (`k=v,k=v`) for exactly the keys `names`, in their
/// order; `None` if one is missing, unknown or not a number.
fn phc_params<const N: usize>(params: &str, names: [&str; N]) -> Option<[u64; N]> {
    let mut values = [None; N];
    for pair in params.split(',') {
        let (key, value) = pair.split_once('=')?;
        let slot = names.iter().position(|k| *k == key)?;
        values[slot] = Some(value.parse::<u64>().ok()?);
    }
    let mut out = [0; N];
    for (out, value) in out.iter_mut().zip(values) {
        *out = value?;
    }
    Some(out)
}

/// Standard base64, with or without padding.
fn b64(text: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
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
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "bcrypt_sha256$$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "scrypt:32768:8:1$salt$00112233445566778899aabbccddeeff",
            "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
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
            "$argon2id$v=19$m=1048576,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2d$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$2x$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "scrypt:1048576:8:1$salt$00112233445566778899",
            "scrypt:32768:8:1$salt$zz",
            "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
            "sha1$salt$2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            "$pbkdf2-sha256$20000000$c2FsdA$aGFzaGhhc2hoYXNo",
            // No hash, no salt (found by the password_hash fuzz target: accepted for
            // import, then unusable at login).
            "$pbkdf2-sha256$i=1000,l=32$oE0t2sNQmyqq+9scKBLpUrzGHrXjHWsQGg2Y97tdQkPuhbWTEbw",
            "$pbkdf2-sha256$i=1000,l=32",
        ];
        for s in bad {
            assert!(parse(s).is_none(), "{s}");
        }
    }
}
