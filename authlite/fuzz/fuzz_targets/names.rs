//! Usernames and emails: validation, display form and uniqueness key, and the key function
//! itself, on arbitrary strings.
#![no_main]

use authlite::fuzzing::{email, fold, username};
use libfuzzer_sys::fuzz_target;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Characters no accepted name may contain, in display or key form: controls, format
/// characters (zero-width, bidi), surrogates, private use, unassigned, line separators.
fn invisible(c: char) -> bool {
    use GeneralCategory::*;
    matches!(
        c.general_category(),
        Control | Format | Surrogate | PrivateUse | Unassigned | LineSeparator | ParagraphSeparator
    )
}

/// The invariants of an accepted name, for the validator `check` that accepted it.
fn accepted(check: fn(&str) -> Option<(String, String)>, display: &str, key: &str) {
    assert!(!display.chars().chain(key.chars()).any(invisible), "{display:?} / {key:?}");
    // Normalising again changes nothing: what is stored validates to itself.
    let again = check(display);
    assert_eq!(again.as_ref().map(|(d, k)| (d.as_str(), k.as_str())), Some((display, key)));
    assert_eq!(fold(key), key, "fold is not idempotent on {key:?}");
}

fuzz_target!(|input: &str| {
    fold(input); // the key function takes anything
    for check in [username, email] {
        if let Some((display, key)) = check(input) {
            accepted(check, &display, &key);
        }
    }
});
