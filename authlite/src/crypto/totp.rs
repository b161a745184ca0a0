//! TOTP (RFC 6238) through totp-rs: SHA-1, 6 digits, 30-second steps, one step of drift
//! either way. The caller keeps the newest accepted step so no code is accepted twice.

use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::values::error::{Error, ErrorKind, Result};

/// The label the key sealing TOTP secrets is derived with from the master key.
pub(crate) const SEAL_LABEL: &str = "authlite/totp-seal/v1";
/// 160 bits, RFC 4226's recommended secret size.
pub(crate) const SECRET_BYTES: usize = 20;
const DIGITS: u8 = 6;
const STEP_SECONDS: u64 = 30;
const DRIFT_STEPS: u16 = 1;

fn build(secret: &[u8], digits: u8, issuer: &str, account: &str) -> Result<Totp> {
    // otpauth labels are "issuer:account"; neither part may contain ':'.
    let clean = |s: &str| s.replace(':', "-");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_secret(Secret::from(secret.to_vec()))
        .with_skew(DRIFT_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_account_name(clean(account))
        .with_issuer(Some(clean(issuer)))
        .build()
        .map_err(|_| Error::new(ErrorKind::Internal, "cannot set up TOTP"))
}

/// The base32 form of a secret, as typed into an authenticator app.
pub(crate) fn base32(secret: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(Secret::from(secret.to_vec()).to_base32())
}

/// The `otpauth://totp/...` URI an authenticator app scans.
pub(crate) fn uri(secret: &[u8], issuer: &str, account: &str) -> Result<String> {
    build(secret, DIGITS, issuer, account)?
        .to_url()
        .map_err(|_| Error::new(ErrorKind::Internal, "cannot make the otpauth URI"))
}

/// The time step a code is valid for at `unix_seconds` (within one step of drift), if any.
pub(crate) fn check(secret: &[u8], code: &str, unix_seconds: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    build(secret, DIGITS, "x", "x").ok()?.check(code, unix_seconds)
}

/// The code for `unix_seconds` with `digits` digits (tests, RFC vectors).
#[cfg(test)]
pub(crate) fn code(secret: &[u8], digits: u8, unix_seconds: u64) -> String {
    build(secret, digits, "x", "x").unwrap().generate(unix_seconds).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits, the 20-byte ASCII secret).
    #[test]
    fn rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code(secret, 8, time), expected, "T={time}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let secret = [9u8; SECRET_BYTES];
        let now = 1_700_000_000;
        let current = code(&secret, 6, now);
        assert_eq!(check(&secret, &current, now), Some(now / 30));
        assert!(check(&secret, &code(&secret, 6, now - 30), now).is_some());
        assert!(check(&secret, &code(&secret, 6, now + 30), now).is_some());
        assert!(check(&secret, &code(&secret, 6, now - 60), now).is_none());
        assert!(check(&secret, &code(&secret, 6, now + 60), now).is_none());
        for junk in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert!(check(&secret, junk, now).is_none(), "{junk}");
        }
    }

    #[test]
    fn uri_names_issuer_and_account() {
        let uri = uri(&[1u8; SECRET_BYTES], "shop", "ali:ce").unwrap();
        assert!(uri.starts_with("otpauth://totp/shop:ali-ce?"), "{uri}");
        assert!(uri.contains("secret=") && uri.contains("issuer=shop"), "{uri}");
    }
}
