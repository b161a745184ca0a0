//! Stored password hashes of every supported format (PHC, passlib, Django, Werkzeug,
//! bcrypt, scrypt, Argon2) into the format check and verification. Input: `password`, a newline, then the stored hash.
#![no_main]

use authlite::fuzzing::{importable, verify_password};
use libfuzzer_sys::fuzz_target;

/// Verification costs as many PBKDF2 rounds as the hash asks for (up to 10,000,000):
/// inputs asking for more than this are only format-checked, or execs would take seconds.
const MAX_ROUNDS: u64 = 20_000;

/// The most a bcrypt cost or an scrypt `ln` may be for an input to be verified.
const MAX_LOG_COST: u64 = 8;

/// Whether any field that could be a cost (`$`, `:` or `,` separated, after an optional
/// `i=`, `m=`, `t=`, `p=`, `ln=`) asks for more than [`MAX_ROUNDS`] (PBKDF2 iterations,
/// scrypt N, Argon2 KiB), or a bcrypt cost or scrypt `ln` above [`MAX_LOG_COST`].
/// Over-approximates: a salt made of digits counts too.
fn too_slow(stored: &str) -> bool {
    let bcrypt = stored.contains("$2");
    stored.split(['$', ':', ',']).any(|field| {
        let (key, digits) = field.split_once('=').unwrap_or(("", field));
        let log = key == "ln" || (bcrypt && digits.len() == 2);
        digits.parse::<u64>().is_ok_and(|n| n > MAX_ROUNDS || (log && n > MAX_LOG_COST))
    })
}

fuzz_target!(|input: &str| {
    let (password, stored) = input.split_once('\n').unwrap_or(("", input));
    let supported = importable(stored);
    if too_slow(stored) {
        return;
    }
    let verdict = verify_password(password, stored);
    // Fail closed: a hash that cannot be imported cannot be verified against either.
    assert_eq!(verdict.is_ok(), supported, "{verdict:?} for {stored:?}");
    if verdict.is_ok_and(|matches| matches) {
        // A match is specific to the password: one more character must not match.
        let other = format!("{password}!");
        assert!(!verify_password(&other, stored).expect("verified once"), "{stored:?}");
    }
});
