//! Exit codes: one per error kind, so a script can tell "user not found" from "database
//! corrupt". Documented in `authlite --help` and the README.

use authlite::ErrorKind;

/// The table `authlite --help` prints.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
   0  success
   2  usage error (unknown command or option)
  10  invalid_credentials   11  account_locked   12  rate_limited   13  inactive_user
  14  invalid_token         15  expired_token    16  revoked_token  17  token_reused
  18  mfa_required
  20  forbidden             21  not_found        22  conflict
  23  invalid_input         24  weak_password
  30  storage               31  config           32  internal
With --json, the result is one JSON document on stdout; an error is
{\"error\": <kind>, \"message\", \"cause\"?, \"retry_after\"?} on stderr.";

/// The exit code of an error kind.
pub(crate) fn code_of(kind: ErrorKind) -> u8 {
    use ErrorKind::*;
    match kind {
        InvalidCredentials => 10,
        AccountLocked => 11,
        RateLimited => 12,
        InactiveUser => 13,
        InvalidToken => 14,
        ExpiredToken => 15,
        RevokedToken => 16,
        TokenReused => 17,
        MfaRequired => 18,
        Forbidden => 20,
        NotFound => 21,
        Conflict => 22,
        InvalidInput => 23,
        WeakPassword => 24,
        Storage => 30,
        Config => 31,
        _ => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_documented_code() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let code = code_of(*kind);
            assert!(seen.insert(code), "{kind:?} shares {code}");
            let shown = format!("{code}  {}", kind.as_str());
            assert!(EXIT_CODES.contains(&shown), "{shown} missing from the help");
        }
    }
}
