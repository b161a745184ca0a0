//! Passwords: normalisation, hashing (PBKDF2-HMAC-SHA256 in PHC strings), verification of
//! every supported stored format, and the policy for new ones.

mod formats;
mod policy;

use pbkdf2::password_hash::{CustomizedPasswordHasher, PasswordVerifier};
use pbkdf2::{Algorithm, Params, Pbkdf2};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::values::error::{Error, ErrorKind, Result};
use formats::{Slow, Stored};
pub(crate) use policy::check_new;

const SALT_BYTES: usize = 16;
/// The longest password checked against an existing hash. New passwords are bound by
/// `Config::max_password_length`; hashes imported from other systems may have been made
/// from longer ones (Django accepts 4,096 characters). Longer input is refused unhashed.
pub(crate) const MAX_VERIFY_CHARS: usize = 4096;

/// The stored "hash" of an account that has no password (a service account): not a
/// format any password verifies against; login treats the account as unknown.
pub(crate) const NO_PASSWORD: &str = "!";

/// A password in NFKC, wiped from memory when dropped.
pub(crate) type Normalized = Zeroizing<String>;

/// NFKC of `password`, or `None` when it is longer than `max` characters. Over-long input is
/// refused by its byte length before any normalisation or hashing work.
pub(crate) fn normalize(password: &str, max: usize) -> Option<Normalized> {
    if password.len() > max.saturating_mul(4) {
        return None;
    }
    let normalized = Zeroizing::new(password.nfkc().collect::<String>());
    (normalized.chars().count() <= max).then_some(normalized)
}

/// Hashes with a fresh random salt: `$pbkdf2-sha256$i=<iterations>,l=32$<salt>$<hash>`.
pub(crate) fn hash(password: &Normalized, iterations: u32) -> Result<String> {
    let salt = crate::crypto::random::bytes::<SALT_BYTES>()?;
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

/// Checks a password against a stored hash of any supported format, in constant time.
/// `raw` is the password as typed (other systems hashed that), `normalized` its NFKC form
/// (this crate hashes that). A stored value that cannot be parsed, or asks for absurd work,
/// is an error (fail closed), never a match. `outdated`: re-hash after a success, because
/// the format is foreign or weaker than `iterations`.
///
/// A hash cheaper than `iterations` is padded with dummy work up to `iterations` (as
/// Django's `harden_runtime`), so an imported account answers a wrong password in the
/// same time as an unknown name; for bcrypt, scrypt and Argon2, whose costs are not
/// iterations, the padding is the time one `iterations` verification takes here, less the
/// time the foreign check took. A costlier hash takes longer: its own cost is the floor (it
/// cannot be verified faster), bounded by the caps in `formats`, and only until its first
/// successful login replaces it with PBKDF2 at `iterations`.
pub(crate) fn verify(
    raw: &str,
    normalized: &Normalized,
    stored: &str,
    iterations: u32,
) -> Result<Verdict> {
    match formats::parse(stored).ok_or_else(corrupt)? {
        Stored::Phc(parsed) => {
            let parsed = &*parsed;
            let params = Params::try_from(parsed).map_err(|_| corrupt())?;
            let algorithm =
                Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| corrupt())?;
            let matches = Pbkdf2::new(algorithm, params)
                .verify_password(normalized.as_bytes(), parsed)
                .is_ok();
            pad(normalized, params.rounds(), iterations);
            let outdated = algorithm != Algorithm::Pbkdf2Sha256
                || params.rounds() < iterations
                || params.output_len() != Params::RECOMMENDED_OUTPUT_LENGTH;
            Ok(Verdict { matches, outdated })
        }
        Stored::Foreign { algorithm, params, salt, hash } => {
            let mut computed = Zeroizing::new(vec![0u8; hash.len()]);
            pbkdf2::pbkdf2_hmac_with_params(
                raw.as_bytes(),
                &salt,
                algorithm,
                params,
                &mut computed,
            );
            let matches = bool::from(subtle::ConstantTimeEq::ct_eq(&computed[..], &hash[..]));
            pad(normalized, params.rounds(), iterations);
            Ok(Verdict { matches, outdated: true })
        }
        Stored::Slow(slow) => {
            let started = Instant::now();
            let matches = verify_slow(&slow, raw.as_bytes());
            pad_time(normalized, started.elapsed(), iterations);
            Ok(Verdict { matches, outdated: true })
        }
    }
}

/// Checks `raw` (the bytes the other system hashed) against a bcrypt, scrypt or Argon2 hash.
fn verify_slow(slow: &Slow, raw: &[u8]) -> bool {
    let equal = |computed: &[u8], hash: &[u8]| bool::from(computed.ct_eq(hash));
    match slow {
        // bcrypt itself reads at most 72 bytes, as the systems that made these hashes did.
        Slow::Bcrypt { hash, prehash: false } => bcrypt::verify(raw, hash).unwrap_or(false),
        Slow::Bcrypt { hash, prehash: true } => {
            let hex = Zeroizing::new(hex(&Sha256::digest(raw)));
            bcrypt::verify(hex.as_bytes(), hash).unwrap_or(false)
        }
        Slow::Scrypt { params, salt, hash } => {
            let mut computed = Zeroizing::new(vec![0u8; hash.len()]);
            scrypt::scrypt(raw, salt, params, &mut computed).is_ok() && equal(&computed, hash)
        }
        Slow::Argon2 { algorithm, params, salt, hash } => {
            let mut computed = Zeroizing::new(vec![0u8; hash.len()]);
            let argon2 = argon2::Argon2::new(*algorithm, argon2::Version::V0x13, params.clone());
            argon2.hash_password_into(raw, salt, &mut computed).is_ok() && equal(&computed, hash)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Dummy work for the time one verification at `iterations` takes beyond `spent`.
fn pad_time(password: &Normalized, spent: Duration, iterations: u32) {
    let full = time_per_iteration().mul_f64(f64::from(iterations));
    if let Some(rest) = full.checked_sub(spent) {
        let share = rest.as_secs_f64() / full.as_secs_f64().max(f64::MIN_POSITIVE);
        burn(password, (f64::from(iterations) * share) as u32);
    }
}

/// How long one PBKDF2 iteration takes on this machine, measured once.
fn time_per_iteration() -> Duration {
    static MEASURED: OnceLock<Duration> = OnceLock::new();
    const SAMPLE: u32 = 20_000;
    *MEASURED.get_or_init(|| {
        let probe = Zeroizing::new(String::from("calibration"));
        let started = Instant::now();
        burn(&probe, SAMPLE);
        started.elapsed() / SAMPLE
    })
}

/// Whether `stored` is a hash `import_user` can accept.
pub(crate) fn importable(stored: &str) -> bool {
    formats::parse(stored).is_some()
}

fn corrupt() -> Error {
    Error::new(ErrorKind::Storage, "stored password hash is not usable")
}

/// Dummy work for the iterations a cheaper stored hash did not cost.
fn pad(password: &Normalized, spent: u32, iterations: u32) {
    if spent < iterations {
        burn(password, iterations - spent); // under 1,000 rounds: not measurable, skipped
    }
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
        let check = |pw: &str, iterations| verify(pw, &n(pw), &h, iterations).unwrap();
        assert_eq!(
            check("correct horse battery staple", 1_000),
            Verdict { matches: true, outdated: false }
        );
        assert!(!check("correct horse battery stapler", 1_000).matches);
        assert!(check("correct horse battery staple", 2_000).outdated, "raised iterations");
        assert!(!check("correct horse battery staple", 500).outdated, "never downgraded");
        assert_ne!(h, hash(&n("correct horse battery staple"), 1_000).unwrap(), "salted");
    }

    #[test]
    fn garbage_hashes_fail_closed() {
        for bad in ["", "x", "$pbkdf2-sha256$i=99999999999,l=32$c2FsdA$aGFzaA", "$argon2id$v=19$x"]
        {
            assert_eq!(
                verify("whatever1", &n("whatever1"), bad, 1_000).unwrap_err().kind(),
                ErrorKind::Storage
            );
        }
    }
}
