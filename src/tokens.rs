//! Access tokens: JWTs with `typ: at+jwt`, checked strictly before anything is trusted
//! (RFC 8725): size cap, exact header, known `kid`, the key's own algorithm, signature, then
//! claims with the engine's clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Header, encode};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Key, KeyRing};
use crate::random;
use crate::sessions::SessionId;
use crate::users::UserId;

/// Tokens longer than this are rejected before any decoding. Ours are about 400 bytes.
pub(crate) const MAX_TOKEN_BYTES: usize = 4096;
const TYP: &str = "at+jwt";
const TYP_LONG: &str = "application/at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer: [`Config::issuer`](crate::Config::issuer).
    pub iss: String,
    /// Audience: [`Config::audience`](crate::Config::audience).
    pub aud: String,
    /// Subject: the user id (a decimal string on the wire).
    #[serde(with = "decimal")]
    pub sub: UserId,
    /// The session id (a decimal string on the wire).
    #[serde(with = "decimal")]
    pub sid: SessionId,
    /// Unique token id: 128 random bits, base64url.
    pub jti: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// The user's token version when issued; bumping it kills every older token.
    pub ver: i64,
    /// Not before, seconds since the Unix epoch. authlite does not set it, but honours it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

impl Claims {
    /// `exp` as a time.
    pub fn expires_at(&self) -> SystemTime {
        secs_to_time(self.exp)
    }

    /// `iat` as a time.
    pub fn issued_at(&self) -> SystemTime {
        secs_to_time(self.iat)
    }
}

fn secs_to_time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Ids travel as decimal strings (`sub` is a StringOrURI in RFC 7519); numbers are refused.
mod decimal {
    use super::*;

    pub(super) fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match text.parse::<i64>() {
            Ok(id) if id > 0 && !text.starts_with(['+', '0']) => Ok(id),
            _ => Err(serde::de::Error::custom("not a positive decimal id")),
        }
    }
}

/// The JOSE header fields we look at. `crit` is only captured to be refused.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<IgnoredAny>,
}

/// Signs `claims` with `key`.
pub(crate) fn issue(key: &Key, claims: &Claims) -> Result<String> {
    let mut header = Header::new(key.alg);
    header.typ = Some(TYP.to_owned());
    header.kid = Some(key.kid.clone());
    encode(&header, claims, &key.encoding)
        .map_err(|_| Error::new(ErrorKind::Internal, "cannot sign access token"))
}

/// A fresh `jti`: 128 random bits.
pub(crate) fn new_jti() -> Result<String> {
    random::token(16)
}

/// The parts of a token that passed the structural and header checks.
pub(crate) struct Parsed<'t> {
    kid: String,
    alg: String,
    signing_input: &'t str,
    signature: &'t str,
    payload: &'t str,
}

impl<'t> Parsed<'t> {
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }
}

/// Structure and header only: size cap, three base64url parts, a header with a `kid`, the
/// `at+jwt` type and no `crit`. Nothing here is trusted yet.
pub(crate) fn parse(token: &str) -> Result<Parsed<'_>> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("token too large"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("malformed token"));
    };
    let header: JoseHeader = random::b64_decode(header.as_bytes())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| invalid("malformed token header"))?;
    if header.crit.is_some() {
        return Err(invalid("critical header extensions are not supported"));
    }
    match header.typ.as_deref() {
        Some(t) if t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case(TYP_LONG) => {}
        _ => return Err(invalid("not an access token")),
    }
    let kid = header.kid.ok_or_else(|| invalid("token has no key id"))?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(Parsed { kid, alg: header.alg, signing_input, signature, payload })
}

/// Verifies the signature with the key the `kid` names (its algorithm only), then decodes
/// the claims and checks issuer and audience. Time is checked separately ([`check_time`]).
pub(crate) fn verify(
    parsed: &Parsed<'_>,
    ring: &KeyRing,
    issuer: &str,
    audience: &str,
) -> Result<Claims> {
    let key = ring.find(&parsed.kid).ok_or_else(|| invalid("unknown signing key"))?;
    if parsed.alg != alg_name(key) {
        return Err(invalid("algorithm not allowed for this key"));
    }
    let good = jsonwebtoken::crypto::verify(
        parsed.signature,
        parsed.signing_input.as_bytes(),
        &key.decoding,
        key.alg,
    )
    .unwrap_or(false);
    if !good {
        return Err(invalid("bad token signature"));
    }
    let claims = decode_claims(parsed.payload)?;
    if claims.iss != issuer || claims.aud != audience {
        return Err(invalid("token issuer or audience mismatch"));
    }
    Ok(claims)
}

/// `exp` (required) and `nbf` (if present) against `now`, allowing `leeway` either way.
pub(crate) fn check_time(claims: &Claims, now: SystemTime, leeway: Duration) -> Result<()> {
    let now_ms = crate::clock::to_millis(now);
    let leeway_ms = crate::clock::millis(leeway);
    if now_ms.saturating_sub(leeway_ms) >= claims.exp.saturating_mul(1000) {
        return Err(Error::new(ErrorKind::ExpiredToken, "access token expired"));
    }
    if claims.nbf.is_some_and(|nbf| now_ms.saturating_add(leeway_ms) < nbf.saturating_mul(1000)) {
        return Err(invalid("token not yet valid"));
    }
    Ok(())
}

fn decode_claims(payload: &str) -> Result<Claims> {
    let json = random::b64_decode(payload.as_bytes()).ok_or_else(|| invalid("malformed claims"))?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| invalid("malformed claims"))?;
    if claims.jti.is_empty() || claims.jti.len() > 64 {
        return Err(invalid("malformed claims"));
    }
    Ok(claims)
}

fn alg_name(key: &Key) -> &'static str {
    match key.alg {
        jsonwebtoken::Algorithm::HS256 => "HS256",
        jsonwebtoken::Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidToken, message)
}
