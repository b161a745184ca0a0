//! Usernames and emails: validation, the display form (NFKC) and the uniqueness key
//! (NFKC + full Unicode case folding), so `Alice`, `ALICE` and `Ａｌｉｃｅ` are one user.
//! Usernames are also unique by their UTS #39 confusable skeleton (`аdmin` with a Cyrillic
//! `а` collides with `admin`), must not mix scripts beyond UTS #39's "highly restrictive"
//! level (one script, or Latin with Han/Kana/Hangul), and must not stack combining marks
//! (UTS #39 §5.4).

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

use crate::values::error::{Error, Result};

/// Anything longer than this many bytes is rejected before normalisation.
const MAX_INPUT_BYTES: usize = 1024;
const MAX_USERNAME_CHARS: usize = 64;
const MAX_EMAIL_CHARS: usize = 254;
/// More combining marks in a row than this are refused (UTS #39 §5.4 suggests 4).
const MAX_MARKS: usize = 4;

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
    check_scripts(&display)?;
    check_marks(&display)?;
    let key = fold(&display);
    Ok(Name { display, key })
}

/// The confusable skeleton of a username's key: two names with one skeleton look alike,
/// so only one of them may exist.
pub(crate) fn skeleton(display: &str) -> String {
    let once: String = unicode_security::skeleton(&fold(display)).collect();
    fold(&once)
}

/// Letters and digits may mix scripts only as UTS #39 "highly restrictive" allows.
fn check_scripts(display: &str) -> Result<()> {
    let letters: String = display.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.as_str().check_restriction_level(RestrictionLevel::HighlyRestrictive) {
        Ok(())
    } else {
        Err(Error::invalid_input("username mixes scripts or uses characters not allowed in names"))
    }
}

/// No run of more than four combining marks, no mark repeated, and no dot above on a
/// letter that already has one (`i`, `j` and their look-alikes).
fn check_marks(display: &str) -> Result<()> {
    let refuse = || Err(Error::invalid_input("username has stacked or repeated accents"));
    let (mut run, mut prev_mark, mut base) = (0, None, None::<char>);
    for c in display.chars().nfd() {
        if !is_combining_mark(c) {
            (run, prev_mark, base) = (0, None, Some(c));
            continue;
        }
        run += 1;
        let soft_dotted =
            base.is_some_and(|b| matches!(skeleton(&b.to_string()).as_str(), "i" | "j"));
        if run > MAX_MARKS || prev_mark == Some(c) || (c == '\u{307}' && soft_dotted) {
            return refuse();
        }
        prev_mark = Some(c);
    }
    Ok(())
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

/// The longest identifier (role, resource, action, scope name).
const MAX_IDENTIFIER: usize = 64;
/// Matches any resource or any action in a grant or a key's scope.
pub(crate) const WILDCARD: &str = "*";

/// Role, resource, action and scope names: 1 to 64 of `A-Z a-z 0-9 _ - . :` (so they are
/// safe to show, log and join). Where `wildcard_ok`, `"*"` (any) is accepted too.
pub(crate) fn identifier(what: &'static str, name: &str, wildcard_ok: bool) -> Result<()> {
    let valid = (1..=MAX_IDENTIFIER).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
    if valid || (wildcard_ok && name == WILDCARD) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{what} must be 1 to 64 of the characters A-Z a-z 0-9 _ - . :"
        )))
    }
}

/// The longest organization slug.
const MAX_SLUG: usize = 63;

/// An organization's slug, normalised: trimmed and lower-cased, then 1 to 63 of a-z, 0-9
/// and `-`, starting with a letter or digit (so it can name a subdomain or a path segment).
pub(crate) fn slug(input: &str) -> Result<String> {
    let slug = input.trim().to_ascii_lowercase();
    let valid = (1..=MAX_SLUG).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if valid {
        Ok(slug)
    } else {
        Err(Error::invalid_input(
            "an organization slug must be 1 to 63 of a-z 0-9 and -, not starting with -",
        ))
    }
}

/// A key scope `"resource:action"` (either may be `*`; a bare `"*"` means any).
pub(crate) fn key_scope(scope: &str) -> Result<()> {
    if scope == WILDCARD {
        return Ok(());
    }
    let (resource, action) = scope
        .split_once(':')
        .ok_or_else(|| Error::invalid_input("a key scope must look like resource:action"))?;
    identifier("scope resource", resource, true)?;
    identifier("scope action", action, true)
}

/// The longest label.
const MAX_LABEL_CHARS: usize = 64;

/// A free-text label people give something (an API key, a passkey): 1 to 64 characters,
/// none a control character.
pub(crate) fn label(what: &str, text: &str) -> Result<()> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || text.chars().any(char::is_control) {
        return Err(Error::invalid_input(format!("{what} must be 1 to 64 printable characters")));
    }
    Ok(())
}

/// How a login or lookup string identifies a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Username(String),
    Email(String),
}

impl Lookup {
    /// The uniqueness key looked up (of the username or the email).
    pub(crate) fn key(&self) -> &str {
        match self {
            Lookup::Username(key) | Lookup::Email(key) => key,
        }
    }
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
    // Every normalisation form leaves ASCII as it is, and ASCII folds to lower case.
    if s.is_ascii() { s.to_ascii_lowercase() } else { fold_unicode(s) }
}

fn fold_unicode(s: &str) -> String {
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
    fn the_ascii_shortcut_folds_as_unicode_does() {
        let every: String = (0u8..128).map(char::from).collect();
        assert_eq!(fold(&every), fold_unicode(&every));
        assert_eq!(fold("Straße"), "strasse", "non-ASCII still takes the full path");
    }

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
    fn look_alikes_collide_or_are_refused() {
        let admin = skeleton("admin");
        for alike in ["аdmin", "admіn", "admın", "ADMIN", "ａｄｍｉｎ"] {
            match username(alike) {
                Ok(name) => assert_eq!(skeleton(&name.display), admin, "{alike}"),
                Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{alike}"),
            }
        }
        for refused in
            ["admi\u{307}n", "Admi\u{301}\u{301}n", "a\u{300}\u{301}\u{302}\u{303}\u{304}dmin"]
        {
            assert!(username(refused).is_err(), "{refused:?}");
        }
        assert_eq!(skeleton(&username("ѕсоре").unwrap().display), skeleton("scope"));
        assert!(username("pаypal").is_err(), "Latin with a Cyrillic letter");
        for fine in [
            "José",
            "Zoë",
            "Straße",
            "山田太郎",
            "tanaka田中",
            "Ωμέγα",
            "Мария",
            "Mary Ann",
            "x_9.z-1",
        ] {
            assert!(username(fine).is_ok(), "{fine}");
        }
        assert_ne!(skeleton("admin"), skeleton("admins"));
    }

    #[test]
    fn identifiers_are_restricted() {
        for ok in ["clerk", "orders", "refund", "admin:full", "a.b-c_d", "X9"] {
            assert!(identifier("role", ok, false).is_ok(), "{ok}");
        }
        for bad in ["", "*", "with space", "ünï", "a/b", "%", &"x".repeat(65)] {
            assert!(identifier("role", bad, false).is_err(), "{bad}");
        }
        assert!(identifier("resource", "*", true).is_ok());
        for ok in ["orders:read", "orders:*", "*:read", "*"] {
            assert!(key_scope(ok).is_ok(), "{ok}");
        }
        for bad in ["orders", "orders:", ":read", "a b:c", "x:y\u{1f}z"] {
            assert!(key_scope(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_are_normalised() {
        assert_eq!(slug(" Acme-Shop ").unwrap(), "acme-shop");
        assert_eq!(slug("b2").unwrap(), "b2");
        for bad in ["", "-acme", "acme shop", "acmé", "a_b", &"x".repeat(64)] {
            assert_eq!(slug(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
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
