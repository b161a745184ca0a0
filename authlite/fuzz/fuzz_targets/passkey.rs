//! The two passkey finish calls on any JSON: `finish_passkey_registration` and
//! `finish_passkey_login` get either raw input or a well-formed credential whose fields
//! (ids, client data, authenticator data, attestation object, signature, user handle) are
//! fuzz bytes, so the CBOR, client-data and authenticator-data parsers all see them. The
//! credential id is the registered passkey's in half the cases, so the signature check is
//! reached too. Nothing may panic, and nothing but a refusal may come back.
#![no_main]

use std::sync::OnceLock;

use authlite::{
    Auth, ClientInfo, Config, ErrorKind, ManualClock, NewUser, PasskeyLogin, RelyingParty,
};
use authlite_fuzz::authenticator::{Device, ORIGIN};
use authlite_fuzz::config;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// An engine with alice and one registered passkey, and that passkey's credential id.
fn engine() -> &'static (Auth, Vec<u8>) {
    static ENGINE: OnceLock<(Auth, Vec<u8>)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let rp = RelyingParty::new("till.example.com", "Till", [ORIGIN]);
        // No lockout: every input must reach the checks, not a locked account.
        let config =
            Config { relying_party: Some(rp), lockout_threshold: 0, ..config(&ManualClock::new()) };
        let auth = Auth::open_with(config).expect("open");
        let alice = auth.register(NewUser::passwordless("alice")).expect("register");
        let ceremony = auth.start_passkey_registration(alice.id, "phone").expect("start");
        let mut device = Device::new();
        let answer = device.create(&ceremony.options);
        auth.finish_passkey_registration(&ceremony.id, &answer).expect("registered");
        let id = device.keys().0[0].credential_id.to_vec();
        (auth, id)
    })
}

/// Splits `data` into `n` pieces at the lengths its first bytes give.
fn pieces(data: &[u8], n: usize) -> Vec<&[u8]> {
    let (lengths, mut rest) = data.split_at(n.min(data.len()));
    let mut out = Vec::with_capacity(n);
    for &len in lengths {
        let (piece, tail) = rest.split_at(usize::from(len).min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out.resize(n, rest);
    out
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fuzz_target!(|data: &[u8]| {
    let (auth, registered) = engine();
    let Some((&mode, rest)) = data.split_first() else { return };
    let body = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let p = pieces(rest, 6);
        let id = if mode & 2 == 0 { registered.as_slice() } else { p[0] };
        json!({
            "id": b64(id),
            "rawId": b64(id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(p[1]),
                "attestationObject": b64(p[2]),
                "authenticatorData": b64(p[3]),
                "signature": b64(p[4]),
                "userHandle": b64(p[5]),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    };
    let refused = |kind: ErrorKind| {
        matches!(
            kind,
            ErrorKind::InvalidCredentials | ErrorKind::InvalidInput | ErrorKind::Conflict
        )
    };
    let alice = auth.find_user("alice").expect("alice").id;
    if mode & 4 == 0 {
        let ceremony = auth.start_passkey_registration(alice, "fuzz").expect("start");
        match auth.finish_passkey_registration(&ceremony.id, &body) {
            Err(e) => assert!(refused(e.kind()), "registration: {e}"),
            Ok(info) => panic!("fuzz input registered a passkey: {info:?}"),
        }
    } else {
        let how =
            if mode & 8 == 0 { PasskeyLogin::Discoverable } else { PasskeyLogin::Account("alice") };
        let ceremony = auth.start_passkey_login(how).expect("start");
        match auth.finish_passkey_login(&ceremony.id, &body, &ClientInfo::default()) {
            Err(e) => assert!(refused(e.kind()), "login: {e}"),
            Ok(login) => panic!("fuzz input signed in: {login:?}"),
        }
    }
});
