//! Stored password hashes of every supported format (PHC, passlib, Django, Werkzeug) into
//! the format check and verification. Input: `password`, a newline, then the stored hash.
#![no_main]

use authlite::fuzzing::{importable, verify_password};
use libfuzzer_sys::fuzz_target;

/// Verification costs as many PBKDF2 rounds as the hash asks for (up to 10,000,000):
/// inputs asking for more than this are only format-checked, or execs would take seconds.
const MAX_ROUNDS: u64 = 20_000;

/// Whether any field that could be an iteration count (`$`, `:` or `,` separated, after
/// an optional PHC `i=`) asks for more than [`MAX_ROUNDS`]. Over-approximates: a salt made
/// of digits counts too.
fn too_slow(stored: &str) -> bool {
    stored.split(['$', ':', ',']).any(|field| {
        let digits = field.strip_prefix("i=").unwrap_or(field);
        digits.parse::<u64>().is_ok_and(|rounds| rounds > MAX_ROUNDS)
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
