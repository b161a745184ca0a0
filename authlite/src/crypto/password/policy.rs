//! The password policy for new passwords (NIST SP 800-63B §5.1.1.2): length, a breached
//! password blocklist, no composition rules.

use zeroize::Zeroizing;

use super::{Normalized, normalize};
use crate::values::error::{Error, ErrorKind, Result};

/// The common-password blocklist: 41,792 passwords most seen in breaches (Django's 20,000,
/// SecLists' top 10,000 and zxcvbn's 30,000; sources in `data/README.md`), NFKC + case
/// folded, one per line in bytewise order (which [`is_common`] relies on).
const COMMON_PASSWORDS: &str = include_str!("../../../data/common-passwords.txt");

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
    let folded = Zeroizing::new(crate::values::names::fold(&normalized));
    if is_common(&folded) {
        return Err(weak("password is too common".into()));
    }
    if context.iter().any(|c| !c.is_empty() && crate::values::names::fold(c) == *folded) {
        return Err(weak("password must not be the username or email".into()));
    }
    let mut it = folded.chars();
    if let Some(first) = it.next()
        && it.all(|c| c == first)
    {
        return Err(weak("password must not be one repeated character".into()));
    }
    Ok(normalized)
}

fn weak(message: String) -> Error {
    Error::new(ErrorKind::WeakPassword, message)
}

/// The list holds one entry per line in bytewise order, so a lookup is a binary search over
/// the text itself: no set to build on the first registration (100 ms in a debug build) or
/// to keep in memory.
fn is_common(folded: &str) -> bool {
    let list = COMMON_PASSWORDS.as_bytes();
    // [lo, hi) is a run of whole lines.
    let (mut lo, mut hi) = (0, list.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = list[lo..mid].iter().rposition(|&b| b == b'\n').map_or(lo, |i| lo + i + 1);
        let end = list[start..].iter().position(|&b| b == b'\n').map_or(list.len(), |i| start + i);
        match list[start..end].cmp(folded.as_bytes()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_passwords_are_refused() {
        let top: Vec<&str> =
            include_str!("../../../tests/fixtures/zxcvbn-top-10000.txt").lines().collect();
        assert_eq!(top.len(), 10_000);
        let refused = |p: &str| check_new(p, 8, 128, &[]).is_err();
        assert!(top[..1000].iter().all(|p| refused(p)), "all of the top 1,000");
        let hits = top.iter().filter(|p| refused(p)).count();
        assert!(hits >= 9_900, "{hits} of the top 10,000");
        for truncated in ["liverpoo", "alexande", "spiderma"] {
            assert!(is_common(truncated), "{truncated}");
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
    fn blocklist_is_large_and_in_bytewise_order() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.len() >= 40_000);
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert!(lines.iter().all(|l| !l.is_empty() && l.trim() == *l));
        // Every entry is found, and so is nothing between or around them.
        assert!(lines.iter().all(|l| is_common(l)));
        for absent in
            ["", " ", "!", "\u{10ffff}", "passwor", "password\n", "zzzzzzzzzzzzzzzzzzzzzzzzzz"]
        {
            assert_eq!(is_common(absent), lines.contains(&absent), "{absent:?}");
        }
    }
}
