//! Usernames and emails: validation, the display form (NFKC) and the uniqueness key
//! (NFKC + full Unicode case folding), so `Alice`, `ALICE` and `Ａｌｉｃｅ` are one user.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::values::error::{Error, Result};

/// Anything longer than this many bytes is rejected before normalisation.
const MAX_INPUT_BYTES: usize = 1024;
const MAX_USERNAME_CHARS: usize = 64;
const MAX_EMAIL_CHARS: usize = 254;

/// A validated name: what to show and what must be unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    /// NFKC of the input: kept as typed otherwise.
    pub(crate) display: String,
    /// NFKC + case fold: the uniqueness and lookup key.
    pub(crate) key: String,
}

/// Validates a username: 1..=64 characters, no `@` (that marks an email), no leading or
/// trailing space, no invisible, control, bidi or unassigned characters.
pub(crate) fn username(input: &str) -> Result<Name> {
    let display = clean(input, "username")?;
    let chars = display.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(Error::invalid_input("username must be 1 to 64 characters"));
    }
    if display.contains('@') {
        return Err(Error::invalid_input("username must not contain '@'"));
    }
    if display.starts_with(' ') || display.ends_with(' ') {
        return Err(Error::invalid_input("username must not start or end with a space"));
    }
    let key = fold(&display);
    Ok(Name { display, key })
}

/// Validates an email address: at most 254 characters, one `@` with a non-empty local part
/// (at most 64 characters) and a dotted-or-not domain, no spaces. Deliverability is the
/// application's business; this only keeps junk and look-alikes out.
pub(crate) fn email(input: &str) -> Result<Name> {
    let display = clean(input, "email")?;
    if display.chars().count() > MAX_EMAIL_CHARS || display.contains(char::is_whitespace) {
        return Err(Error::invalid_input("email must be at most 254 characters, no spaces"));
    }
    match display.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && local.chars().count() <= 64
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.') => {}
        _ => return Err(Error::invalid_input("email must look like name@domain")),
    }
    let key = fold(&display);
    Ok(Name { display, key })
}

/// How a login or lookup string identifies a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Username(String),
    Email(String),
}

/// Parses a "username or email" into the key to look up; `@` decides which.
pub(crate) fn lookup(input: &str) -> Result<Lookup> {
    if input.contains('@') {
        email(input).map(|n| Lookup::Email(n.key))
    } else {
        username(input).map(|n| Lookup::Username(n.key))
    }
}

/// Length cap, forbidden characters (checked before and after NFKC), then NFKC.
fn clean(input: &str, what: &'static str) -> Result<String> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(Error::invalid_input(format!("{what} is too long")));
    }
    let display: String = input.nfkc().collect();
    if input.chars().chain(display.chars()).any(forbidden) {
        return Err(Error::invalid_input(format!(
            "{what} contains a control, invisible, bidi or unassigned character"
        )));
    }
    Ok(display)
}

/// NFKC with full case folding (Unicode compatibility caseless matching, then NFKC).
pub(crate) fn fold(s: &str) -> String {
    s.chars().nfd().default_case_fold().nfkd().default_case_fold().nfkc().collect()
}

/// Characters no name may contain: controls (NUL included), format characters (zero-width
/// and bidi controls), surrogates, private use, unassigned, line/paragraph separators, and
/// the invisible fillers and variation selectors that are letters or marks on paper.
fn forbidden(c: char) -> bool {
    use GeneralCategory::*;
    matches!(
        c.general_category(),
        Control | Format | Surrogate | PrivateUse | Unassigned | LineSeparator | ParagraphSeparator
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::error::ErrorKind;

    #[test]
    fn case_and_width_variants_share_a_key() {
        let a = username("Alice").unwrap();
        assert_eq!(a.display, "Alice");
        assert_eq!(a.key, username("ALICE").unwrap().key);
        assert_eq!(a.key, username("ａｌｉｃｅ").unwrap().key, "fullwidth");
        assert_eq!(username("Straße").unwrap().key, username("STRASSE").unwrap().key);
        assert_eq!(username("ﬁnn").unwrap().key, username("FINN").unwrap().key, "ligature");
        assert_ne!(a.key, username("alicia").unwrap().key);
    }

    #[test]
    fn invisible_and_control_characters_are_rejected() {
        for bad in [
            "",
            "al\0ice",
            "al\u{200B}ice",
            "al\u{200D}ice",
            "\u{202E}ecila",
            "al\u{2066}ice",
            "al\u{FEFF}ice",
            "al\nice",
            "al\u{7F}ice",
            "al\u{3164}ice",
            "al\u{E000}ice",
            "al\u{2028}ice",
            "a@b",
            " alice",
            "alice ",
        ] {
            let err = username(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        assert!(username(&"a".repeat(64)).is_ok());
        assert!(username(&"a".repeat(65)).is_err());
        assert!(username(&"a".repeat(5000)).is_err());
        assert!(username("Mary Ann").is_ok());
        assert!(username("Zoë").is_ok());
    }

    #[test]
    fn emails() {
        let e = email("A.Person@Example.IO").unwrap();
        assert_eq!(e.display, "A.Person@Example.IO");
        assert_eq!(e.key, "a.person@example.io");
        for bad in ["", "@x.io", "a@", "a@@x.io", "a b@x.io", "a@x.io.", "a\u{200B}@x.io"] {
            assert_eq!(email(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn lookup_uses_the_at_sign() {
        assert_eq!(lookup("ALICE").unwrap(), Lookup::Username("alice".into()));
        assert_eq!(lookup("A@X.io").unwrap(), Lookup::Email("a@x.io".into()));
    }
}
