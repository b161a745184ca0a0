//! Access tokens against a real database file: every way to forge, bend or stretch a JWT is
//! refused as `InvalidToken`, expiry follows the engine's clock, and keys rotate.

use std::time::Duration;

use crate::common::*;
use authlite::{Auth, Config, ErrorKind, SecretBytes, SigningAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Header and claims of a token, as JSON.
fn open_token(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    (decode_part(parts.next().unwrap()), decode_part(parts.next().unwrap()))
}

/// A token with any header and claims, HMAC-SHA256-signed with `key`.
fn forge(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input =
        format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The engine's real HS256 key, read from the file (only a test can do this).
fn real_key(env: &Env) -> Vec<u8> {
    env.bytes("SELECT secret FROM signing_keys WHERE alg = 'HS256' AND retired_at IS NULL")
}

fn kind(auth: &Auth, token: &str) -> ErrorKind {
    auth.validate(token).expect_err("token must be rejected").kind()
}

struct Fixture {
    _env: Env,
    auth: Auth,
    token: String,
    header: Value,
    claims: Value,
    key: Vec<u8>,
}

fn fixture(b: Backend) -> Fixture {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let token = login(&auth, "alice").access_token;
    let (header, claims) = open_token(&token);
    let key = real_key(&env);
    Fixture { _env: env, auth, token, header, claims, key }
}

fn a_genuine_token_carries_the_documented_header_and_claims(b: Backend) {
    let f = fixture(b);
    assert_eq!(f.header["typ"], "at+jwt");
    assert_eq!(f.header["alg"], "HS256");
    assert!(f.header["kid"].is_string());
    for claim in ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "ver", "iid"] {
        assert!(!f.claims[claim].is_null(), "missing {claim}");
    }
    assert!(f.claims["jti"].as_str().unwrap().len() >= 22, "jti has >= 128 bits");
    let who = f.auth.validate(&f.token).unwrap();
    assert_eq!(who.claims.as_ref().unwrap().sub, who.user_id);
    // Re-signing the same content with the real key is accepted: the forge helper is right.
    assert!(f.auth.validate(&forge(&f.header, &f.claims, &f.key)).is_ok());
}

fn tampered_payload_or_signature_is_invalid(b: Backend) {
    let f = fixture(b);
    let mut parts: Vec<String> = f.token.split('.').map(str::to_owned).collect();
    let mut claims = f.claims.clone();
    claims["sub"] = json!("2");
    let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2]);
    assert_eq!(kind(&f.auth, &tampered), ErrorKind::InvalidToken);

    let sig = parts[2].clone();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    parts[2] = format!("{flipped}{}", &sig[1..]);
    assert_eq!(kind(&f.auth, &parts.join(".")), ErrorKind::InvalidToken);
}

fn forged_with_another_key_or_from_another_engine_is_invalid(b: Backend) {
    let f = fixture(b);
    let forged = forge(&f.header, &f.claims, &[7u8; 32]);
    assert_eq!(kind(&f.auth, &forged), ErrorKind::InvalidToken);

    let other = Env::on(b);
    let other_auth = other.open();
    user(&other_auth, "alice");
    let foreign = login(&other_auth, "alice").access_token;
    assert_eq!(kind(&f.auth, &foreign), ErrorKind::InvalidToken);
}

fn alg_none_and_other_algorithms_are_invalid(b: Backend) {
    let f = fixture(b);
    for alg in ["none", "None", "HS512", "HS384", "RS256", "ES256", "EdDSA", ""] {
        let mut header = f.header.clone();
        header["alg"] = json!(alg);
        let unsigned = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(f.claims.to_string().as_bytes())
        );
        assert_eq!(kind(&f.auth, &unsigned), ErrorKind::InvalidToken, "{alg} unsigned");
        let signed = forge(&header, &f.claims, &f.key);
        assert_eq!(kind(&f.auth, &signed), ErrorKind::InvalidToken, "{alg} signed");
    }
}

fn header_rules_are_enforced_even_with_a_valid_signature(b: Backend) {
    let f = fixture(b);
    let mut cases = Vec::new();
    let mut h = f.header.clone();
    h["crit"] = json!(["exp"]);
    cases.push(("crit", h));
    let mut h = f.header.clone();
    h["typ"] = json!("JWT");
    cases.push(("typ JWT", h));
    let mut h = f.header.clone();
    h.as_object_mut().unwrap().remove("typ");
    cases.push(("no typ", h));
    let mut h = f.header.clone();
    h.as_object_mut().unwrap().remove("kid");
    cases.push(("no kid", h));
    let mut h = f.header.clone();
    h["kid"] = json!("no-such-key");
    cases.push(("unknown kid", h));
    for (what, header) in cases {
        let token = forge(&header, &f.claims, &f.key);
        assert_eq!(kind(&f.auth, &token), ErrorKind::InvalidToken, "{what}");
    }
}

fn claim_rules_are_enforced_even_with_a_valid_signature(b: Backend) {
    let f = fixture(b);
    let mut cases: Vec<(&str, Value)> = Vec::new();
    for claim in ["exp", "sub", "jti", "sid", "iss", "aud", "ver", "iid", "iat"] {
        let mut c = f.claims.clone();
        c.as_object_mut().unwrap().remove(claim);
        cases.push((claim, c));
    }
    let mut c = f.claims.clone();
    c["iss"] = json!("someone-else");
    cases.push(("wrong iss", c));
    let mut c = f.claims.clone();
    c["aud"] = json!("another-service");
    cases.push(("wrong aud", c));
    let mut c = f.claims.clone();
    c["aud"] = json!(["authlite"]);
    cases.push(("aud as array", c));
    let mut c = f.claims.clone();
    c["exp"] = json!(f.claims["exp"].as_i64().unwrap().to_string());
    cases.push(("exp as string", c));
    let mut c = f.claims.clone();
    c["sub"] = json!(1);
    cases.push(("sub as number", c));
    let mut c = f.claims.clone();
    c["sub"] = json!("-1");
    cases.push(("negative sub", c));
    let mut c = f.claims.clone();
    c["nbf"] = json!(f.claims["exp"].as_i64().unwrap() + 3600);
    cases.push(("nbf in the future", c));
    for (what, claims) in cases {
        let token = forge(&f.header, &claims, &f.key);
        assert_eq!(kind(&f.auth, &token), ErrorKind::InvalidToken, "{what}");
    }
}

fn a_token_naming_another_users_session_is_invalid(b: Backend) {
    let f = fixture(b);
    user(&f.auth, "bob");
    let bob = login(&f.auth, "bob");
    let mut claims = f.claims.clone();
    claims["sid"] = json!(bob.session.id.to_string());
    let token = forge(&f.header, &claims, &f.key);
    assert_eq!(kind(&f.auth, &token), ErrorKind::InvalidToken);
}

fn a_stale_token_version_is_revoked(b: Backend) {
    let f = fixture(b);
    let mut claims = f.claims.clone();
    claims["ver"] = json!(f.claims["ver"].as_i64().unwrap() + 1);
    assert_eq!(kind(&f.auth, &forge(&f.header, &claims, &f.key)), ErrorKind::RevokedToken);
}

fn oversized_and_garbage_input_is_invalid_without_panicking(b: Backend) {
    let f = fixture(b);
    let huge = format!("{}.{}.{}", "a".repeat(3000), "b".repeat(3000), "c".repeat(100));
    let padded_claims = {
        let mut c = f.claims.clone();
        c["pad"] = json!("x".repeat(5000));
        forge(&f.header, &c, &f.key)
    };
    for garbage in [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "a.b.c.d",
        "Bearer x",
        "\u{0}",
        "é.é.é",
        &huge,
        &padded_claims,
        &f.token[..f.token.len() - 1],
        &format!("{}.", f.token),
        &format!(" {}", f.token),
    ] {
        assert_eq!(kind(&f.auth, garbage), ErrorKind::InvalidToken, "{garbage:.40}");
        assert_eq!(f.auth.validate_stateless(garbage).unwrap_err().kind(), ErrorKind::InvalidToken);
    }
}

fn expiry_follows_the_engine_clock(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let ttl = auth.config().access_token_ttl;
    env.clock.advance(ttl - Duration::from_secs(1));
    assert!(auth.validate(&login.access_token).is_ok());
    assert!(auth.validate_stateless(&login.access_token).is_ok());
    env.clock.advance(Duration::from_secs(1));
    assert_eq!(kind(&auth, &login.access_token), ErrorKind::ExpiredToken);
    assert_eq!(
        auth.validate_stateless(&login.access_token).unwrap_err().kind(),
        ErrorKind::ExpiredToken
    );
    assert!(login.access_expires_at <= authlite::Clock::now(&env.clock));
}

fn leeway_is_explicit(b: Backend) {
    let env = Env::on(b);
    let config = Config { leeway: Duration::from_secs(30), ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    env.clock.advance(auth.config().access_token_ttl + Duration::from_secs(29));
    assert!(auth.validate(&login.access_token).is_ok());
    env.clock.advance(Duration::from_secs(1));
    assert_eq!(kind(&auth, &login.access_token), ErrorKind::ExpiredToken);
}

fn stateless_validation_does_not_see_revocation_but_validate_does(b: Backend) {
    let f = fixture(b);
    let who = f.auth.validate(&f.token).unwrap();
    f.auth.revoke_session(who.session_id.unwrap()).unwrap();
    assert!(f.auth.validate_stateless(&f.token).is_ok());
    assert_eq!(kind(&f.auth, &f.token), ErrorKind::RevokedToken);
}

fn a_single_token_can_be_revoked(b: Backend) {
    let f = fixture(b);
    let second = login(&f.auth, "alice");
    f.auth.revoke_token(&f.token).unwrap();
    assert_eq!(kind(&f.auth, &f.token), ErrorKind::RevokedToken);
    assert!(f.auth.validate(&second.access_token).is_ok());
}

fn keys_rotate_and_retire(b: Backend) {
    let env = Env::on(b);
    let auth = env.open();
    user(&auth, "alice");
    let old = login(&auth, "alice");
    let old_kid = open_token(&old.access_token).0["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        auth.retire_signing_key(&old_kid).unwrap_err().kind(),
        ErrorKind::Conflict,
        "the current key cannot be retired"
    );

    let new_kid = auth.rotate_signing_key().unwrap();
    assert_ne!(new_kid, old_kid);
    let new = login(&auth, "alice");
    assert_eq!(open_token(&new.access_token).0["kid"], new_kid.as_str());
    assert!(auth.validate(&old.access_token).is_ok(), "old key still verifies");

    // Another engine on the same file knows about the new key at once.
    let other = env.open();
    assert!(other.validate(&new.access_token).is_ok());

    auth.retire_signing_key(&old_kid).unwrap();
    assert_eq!(kind(&auth, &old.access_token), ErrorKind::InvalidToken);
    assert_eq!(kind(&other, &old.access_token), ErrorKind::InvalidToken);
    assert!(auth.validate(&new.access_token).is_ok());
    let keys = auth.signing_keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k.kid == old_kid && k.retired_at.is_some()));
    assert_eq!(auth.retire_signing_key("nope").unwrap_err().kind(), ErrorKind::NotFound);
}

fn rotation_in_another_engine_is_picked_up_for_new_tokens_and_validation(b: Backend) {
    let env = Env::on(b);
    let a = env.open();
    let b = env.open();
    user(&a, "alice");
    let kid = b.rotate_signing_key().unwrap();
    let from_a = login(&a, "alice");
    assert_eq!(open_token(&from_a.access_token).0["kid"], kid.as_str(), "a signs with b's new key");
    assert!(b.validate(&from_a.access_token).is_ok());
}

fn eddsa_tokens_verify_elsewhere_with_the_published_key(b: Backend) {
    let env = Env::on(b);
    let config = Config { signing_algorithm: SigningAlgorithm::EdDsa, ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    let (header, _) = open_token(&login.access_token);
    assert_eq!(header["alg"], "EdDSA");
    assert!(auth.validate(&login.access_token).is_ok());

    let jwks: Value = serde_json::from_str(&auth.jwks().unwrap()).unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], header["kid"]);
    assert!(jwk.get("d").is_none(), "never the private part");
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["authlite"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(&login.access_token, &key, &validation)
        .expect("verifies elsewhere");

    // Algorithm confusion: an HS256 token keyed with the public key is refused.
    let public = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let (_, claims) = open_token(&login.access_token);
    let mut h = header.clone();
    h["alg"] = json!("HS256");
    assert_eq!(kind(&auth, &forge(&h, &claims, &public)), ErrorKind::InvalidToken);
}

fn hs256_keys_are_never_published(b: Backend) {
    let f = fixture(b);
    let jwks: Value = serde_json::from_str(&f.auth.jwks().unwrap()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 0);
}

fn a_configured_secret_signs_and_never_reaches_the_database(b: Backend) {
    let env = Env::on(b);
    let secret = b"0123456789abcdef0123456789abcdef-app-secret".to_vec();
    let config = Config { signing_secret: Some(SecretBytes::new(secret.clone())), ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    user(&auth, "alice");
    let login = login(&auth, "alice");
    assert!(auth.validate(&login.access_token).is_ok());
    drop(auth);
    assert!(!contains(&env.stored_bytes(), &secret), "secret written to the database");

    let other_secret = SecretBytes::new(vec![9u8; 32]);
    let config = Config { signing_secret: Some(other_secret), ..env.config() };
    let auth = Auth::open_with(config).unwrap();
    assert_eq!(kind(&auth, &login.access_token), ErrorKind::InvalidToken);
}

fn a_token_issued_in_the_future_is_refused(b: Backend) {
    let f = fixture(b);
    let mut c = f.claims.clone();
    c["iat"] = json!(c["iat"].as_i64().unwrap() + 3600);
    assert_eq!(kind(&f.auth, &forge(&f.header, &c, &f.key)), ErrorKind::InvalidToken);
    // Re-signed unchanged it passes: only the future `iat` was refused.
    assert!(f.auth.validate(&forge(&f.header, &f.claims, &f.key)).is_ok());
}

fn another_database_never_accepts_a_token_even_with_the_same_secret(b: Backend) {
    let secret = SecretBytes::new(b"a shared secret of thirty-two bytes or more".to_vec());
    let (staging, production) = (Env::on(b), Env::on(b));
    let open = |env: &Env| {
        Auth::open_with(Config { signing_secret: Some(secret.clone()), ..env.config() }).unwrap()
    };
    let (a, b) = (open(&staging), open(&production));
    user(&a, "admin");
    user(&b, "admin"); // user 1, session 1 in both
    let token = login(&a, "admin").access_token;
    login(&b, "admin");
    assert!(a.validate(&token).is_ok());
    assert_eq!(kind(&b, &token), ErrorKind::InvalidToken);
    assert_eq!(b.validate_stateless(&token).unwrap_err().kind(), ErrorKind::InvalidToken);
    // Even with the kid rewritten to production's, the instance claim gives it away.
    let prod_token = login(&b, "admin").access_token;
    let (prod_header, _) = open_token(&prod_token);
    let (_, claims) = open_token(&token);
    let forged = forge(&prod_header, &claims, b"a shared secret of thirty-two bytes or more");
    assert_eq!(kind(&b, &forged), ErrorKind::InvalidToken);
}

backend_tests!(
    a_configured_secret_signs_and_never_reaches_the_database,
    a_genuine_token_carries_the_documented_header_and_claims,
    tampered_payload_or_signature_is_invalid,
    forged_with_another_key_or_from_another_engine_is_invalid,
    alg_none_and_other_algorithms_are_invalid,
    header_rules_are_enforced_even_with_a_valid_signature,
    claim_rules_are_enforced_even_with_a_valid_signature,
    a_token_naming_another_users_session_is_invalid,
    a_stale_token_version_is_revoked,
    oversized_and_garbage_input_is_invalid_without_panicking,
    expiry_follows_the_engine_clock,
    leeway_is_explicit,
    stateless_validation_does_not_see_revocation_but_validate_does,
    a_single_token_can_be_revoked,
    keys_rotate_and_retire,
    rotation_in_another_engine_is_picked_up_for_new_tokens_and_validation,
    eddsa_tokens_verify_elsewhere_with_the_published_key,
    hs256_keys_are_never_published,
    a_token_issued_in_the_future_is_refused,
    another_database_never_accepts_a_token_even_with_the_same_secret,
);
