//! What an identity provider sends, on any input: the callback's `state` and browser
//! secret (shape check), and ID tokens against a fixed discovery document and key set.
//! Tokens are either raw input, or signed with the provider's real Ed25519 key over claims
//! the input picks (issuer, audiences, `azp`, `exp`, `iat`, `nonce`, each right or wrong),
//! so the claim checks are reached: a token verifies exactly when every claim is right.
#![no_main]

use std::time::{Duration, SystemTime};

use authlite::IdentityProvider;
use authlite::fuzzing::{oidc_flow, oidc_id_token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const ISSUER: &str = "https://op.example.com";
const CLIENT: &str = "app";
const NONCE: &str = "n-0S6_WzA2Mj";
/// 2026-12-01T00:00:00Z.
const NOW: u64 = 1_796_083_200;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn metadata() -> Vec<u8> {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
    })
    .to_string()
    .into_bytes()
}

fn jwks() -> Vec<u8> {
    let x = URL_SAFE_NO_PAD.encode(key().verifying_key().as_bytes());
    json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA", "use": "sig" }] })
        .to_string()
        .into_bytes()
}

fn sign(payload: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","kid":"k1","typ":"JWT"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let signature = key().sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fn delta(data: &[u8], i: usize) -> i64 {
    i64::from(i16::from_be_bytes([byte(data, i), byte(data, i + 1)]))
}

fuzz_target!(|data: &[u8]| {
    let provider = IdentityProvider::new("op", ISSUER, CLIENT, "https://app.example.com/cb");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => {
            let (state, secret) = text.split_once('\n').unwrap_or((&text, ""));
            oidc_flow(state, secret);
            assert!(!oidc_id_token(&provider, &metadata(), &jwks(), &text, NONCE, now));
        }
        1 => {
            // Signed raw payloads: any JSON (or none) must be handled, never accepted
            // unless it is a well-formed, right set of claims (checked by case 2).
            oidc_id_token(&provider, &metadata(), &jwks(), &sign(rest), NONCE, now);
        }
        _ => {
            let pick = byte(rest, 0);
            let (iss, iss_ok) = match pick % 4 {
                0 => (json!(ISSUER), true),
                1 => (json!(format!("{ISSUER}/")), false),
                2 => (json!("https://evil.example.com"), false),
                _ => (json!(42), false),
            };
            let (aud, aud_ok) = match (pick / 4) % 5 {
                0 => (json!(CLIENT), true),
                1 => (json!([CLIENT]), true),
                2 => (json!([CLIENT, "other"]), false),
                3 => (json!(["other"]), false),
                _ => (json!([]), false),
            };
            let (azp, azp_ok) = match (pick / 20) % 3 {
                0 => (None, true),
                1 => (Some(CLIENT), true),
                _ => (Some("other"), false),
            };
            let (nonce, nonce_ok) = match byte(rest, 1) % 3 {
                0 => (Some(NONCE), true),
                1 => (Some("another"), false),
                _ => (None, false),
            };
            let now_s = NOW as i64;
            let exp = now_s + delta(rest, 2);
            let iat = now_s + delta(rest, 4) * 10;
            let time_ok = exp > now_s && iat <= now_s + 300 && iat >= now_s - 900;
            let mut claims = json!({ "iss": iss, "aud": aud, "sub": "alice", "exp": exp, "iat": iat });
            if let Some(azp) = azp {
                claims["azp"] = Value::from(azp);
            }
            if let Some(nonce) = nonce {
                claims["nonce"] = Value::from(nonce);
            }
            let token = sign(claims.to_string().as_bytes());
            let passed = oidc_id_token(&provider, &metadata(), &jwks(), &token, NONCE, now);
            let expected = iss_ok && aud_ok && azp_ok && nonce_ok && time_ok;
            assert_eq!(passed, expected, "claims {claims}");
        }
    }
});
