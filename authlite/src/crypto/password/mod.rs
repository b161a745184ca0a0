//! Passwords: normalisation, hashing (PBKDF2-HMAC-SHA256 in PHC strings), verification of
//! every supported stored format, and the policy for new ones.

mod formats;
mod policy;

use pbkdf2::password_hash::phc::{Output, PasswordHash, Salt};
use pbkdf2::{Algorithm, Params};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256, Sha512};
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
    let mut out = [0u8; Params::RECOMMENDED_OUTPUT_LENGTH];
    derive(Algorithm::Pbkdf2Sha256, password.as_bytes(), &salt, params.rounds(), &mut out);
    let hash = PasswordHash {
        algorithm: Algorithm::Pbkdf2Sha256.into(),
        version: None,
        params: params.try_into().map_err(failed)?,
        salt: Some(Salt::new(&salt).map_err(failed)?),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(hash.to_string())
}

/// PBKDF2-HMAC of `password` and `salt` into `out`: the one derivation behind new hashes,
/// their verification (PHC and the other systems' PBKDF2 formats) and the dummy work.
fn derive(algorithm: Algorithm, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    let rounds = fuzz::scaled(rounds);
    if let Ok(params) = Params::new_with_output_len(rounds, out.len()) {
        // The pbkdf2 crate's own instances: optimised even when authlite is built for debug,
        // where instantiating the generic loop here made every hash several times slower.
        return pbkdf2::pbkdf2_hmac_with_params(password, salt, algorithm, params, out);
    }
    // Parameters the crate refuses: under 1,000 rounds (a fuzzing build's cheap hashing) or
    // an imported hash longer than 64 bytes.
    // The two algorithms the formats parse to (the enum is open for more in later versions).
    if algorithm == Algorithm::Pbkdf2Sha512 {
        pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, out)
    } else {
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, out)
    }
}

/// Fuzzing builds only (`--cfg fuzzing`, set by cargo fuzz): a target that exercises the
/// engine rather than the KDF may cut every derivation to a thousandth of its rounds, so
/// that SHA-256 does not take most of its time. Off unless the target turns it on; absent
/// from every other build.
#[cfg(fuzzing)]
pub(crate) mod fuzz {
    use std::sync::atomic::{AtomicBool, Ordering};

    static CHEAP: AtomicBool = AtomicBool::new(false);

    pub(crate) fn cheapen() {
        CHEAP.store(true, Ordering::Relaxed);
    }

    pub(super) fn scaled(rounds: u32) -> u32 {
        if CHEAP.load(Ordering::Relaxed) { (rounds / 1000).max(1) } else { rounds }
    }
}

#[cfg(not(fuzzing))]
mod fuzz {
    pub(super) fn scaled(rounds: u32) -> u32 {
        rounds
    }
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
            let (Some(salt), Some(hash)) = (&parsed.salt, &parsed.hash) else {
                return Err(corrupt());
            };
            let mut computed = Zeroizing::new(vec![0u8; hash.len()]);
            derive(algorithm, normalized.as_bytes(), salt.as_ref(), params.rounds(), &mut computed);
            let matches = bool::from(computed[..].ct_eq(hash.as_ref()));
            pad(normalized, params.rounds(), iterations);
            let outdated = algorithm != Algorithm::Pbkdf2Sha256
                || params.rounds() < iterations
                || params.output_len() != Params::RECOMMENDED_OUTPUT_LENGTH;
            Ok(Verdict { matches, outdated })
        }
        Stored::Foreign { algorithm, params, salt, hash } => {
            let mut computed = Zeroizing::new(vec![0u8; hash.len()]);
            derive(algorithm, raw.as_bytes(), &salt, params.rounds(), &mut computed);
            let matches = bool::from(computed[..].ct_eq(&hash[..]));
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

fn failed<E>(_: E) -> Error {
    Error::new(ErrorKind::Internal, "password hashing failed")
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
    if Params::new(iterations).is_ok() {
        let mut out = [0u8; Params::RECOMMENDED_OUTPUT_LENGTH];
        derive(Algorithm::Pbkdf2Sha256, password.as_bytes(), &salt, iterations, &mut out);
        std::hint::black_box(out);
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

    /// The pbkdf2 crate's own PHC test vector (and a SHA-512 one made with Python's
    /// hashlib): the derivation and the PHC reading agree with hashes made elsewhere.
    #[test]
    fn verifies_hashes_made_by_other_implementations() {
        let sha256 = "$pbkdf2-sha256$i=4096,l=40$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0\
            $NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q";
        let pw = "passwordPASSWORDpassword";
        assert!(verify(pw, &n(pw), sha256, 1_000).unwrap().matches);
        assert!(!verify("password", &n("password"), sha256, 1_000).unwrap().matches);
        let sha512 = "$pbkdf2-sha512$i=2000,l=32$MDEyMzQ1Njc4OWFiY2RlZg\
            $12HN8H/YZl8yUrd39kPctvm7NGvJfzreGStlTuDdnU8";
        assert!(verify("secret pw", &n("secret pw"), sha512, 1_000).unwrap().matches);
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
