//! Access tokens: JWTs with `typ: at+jwt`, checked strictly before anything is trusted
//! (RFC 8725): size cap, exact header, known `kid`, the key's own algorithm, signature, then
//! claims with the engine's clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, encode};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::crypto::random;
use crate::values::clock::{millis, to_millis};
use crate::values::error::{Error, ErrorKind, Result};
use crate::values::principal::Claims;

/// Tokens longer than this are rejected before any decoding. Ours are about 400 bytes.
const MAX_TOKEN_BYTES: usize = 4096;
const TYP: &str = "at+jwt";
const TYP_LONG: &str = "application/at+jwt";

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

/// What a token must name: this engine's issuer, audience and database instance.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) instance: &'a str,
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
    expected: &Expected<'_>,
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
    if claims.iss != expected.issuer || claims.aud != expected.audience {
        return Err(invalid("token issuer or audience mismatch"));
    }
    if claims.iid != expected.instance {
        return Err(invalid("token from another database"));
    }
    Ok(claims)
}

/// `exp` (required), `iat` (not in the future) and `nbf` (if present) against `now`,
/// allowing `leeway` either way.
pub(crate) fn check_time(claims: &Claims, now: SystemTime, leeway: Duration) -> Result<()> {
    let now_ms = to_millis(now);
    let leeway_ms = millis(leeway);
    if now_ms.saturating_sub(leeway_ms) >= claims.exp.saturating_mul(1000) {
        return Err(Error::new(ErrorKind::ExpiredToken, "access token expired"));
    }
    let latest = now_ms.saturating_add(leeway_ms);
    if claims.iat.saturating_mul(1000) > latest {
        return Err(invalid("token issued in the future"));
    }
    if claims.nbf.is_some_and(|nbf| latest < nbf.saturating_mul(1000)) {
        return Err(invalid("token not yet valid"));
    }
    Ok(())
}

fn decode_claims(payload: &str) -> Result<Claims> {
    let json = random::b64_decode(payload.as_bytes()).ok_or_else(|| invalid("malformed claims"))?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| invalid("malformed claims"))?;
    // A session's token or a service token: exactly one of the two.
    if claims.jti.is_empty()
        || claims.jti.len() > 64
        || claims.sid.is_some() == claims.akid.is_some()
    {
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

/// One usable signing key.
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// Ed25519 public key, for JWKS export.
    pub(crate) public: Option<Vec<u8>>,
}

/// The keys a process can use, as of one store epoch.
pub(crate) struct KeyRing {
    pub(crate) epoch: u64,
    pub(crate) keys: Vec<Arc<Key>>,
    pub(crate) signer: Arc<Key>,
}

impl KeyRing {
    pub(crate) fn find(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub(crate) fn signer(&self) -> &Key {
        &self.signer
    }
}

pub(crate) fn hs256_key(kid: String, secret: &[u8]) -> Key {
    Key {
        kid,
        alg: Algorithm::HS256,
        encoding: EncodingKey::from_secret(secret),
        decoding: DecodingKey::from_secret(secret),
        public: None,
    }
}

/// An Ed25519 key from its seed, checked against the stored public key.
pub(crate) fn ed25519_key(kid: String, seed: &[u8], public: Vec<u8>) -> Result<Key> {
    let unusable = || Error::new(ErrorKind::Storage, "unusable Ed25519 key in database");
    let seed: &[u8; 32] = seed.try_into().map_err(|_| unusable())?;
    let signing = ed25519_dalek::SigningKey::from_bytes(seed);
    if signing.verifying_key().to_bytes()[..] != public[..] {
        return Err(unusable());
    }
    let der = signing.to_pkcs8_der().map_err(|_| unusable())?;
    Ok(Key {
        kid,
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
        decoding: DecodingKey::from_ed_der(&public),
        public: Some(public),
    })
}

/// The public key of an Ed25519 seed.
pub(crate) fn ed25519_public(seed: &[u8; 32]) -> Vec<u8> {
    ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes().to_vec()
}
