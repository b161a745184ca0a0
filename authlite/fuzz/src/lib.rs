//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use std::sync::Arc;

use authlite::{Config, ManualClock};

/// The tests' software authenticator (1Password's `passkey` crate).
#[path = "../../tests/integration/authenticator.rs"]
pub mod authenticator;

/// An in-memory engine configuration with cheap password hashing and the given clock.
pub fn config(clock: &ManualClock) -> Config {
    Config { pbkdf2_iterations: 1_000, clock: Arc::new(clock.clone()), ..Config::in_memory() }
}

/// Turns fuzz input into a token to present. The first byte picks how: even, the rest of
/// the input is the token (lossy UTF-8); odd, the rest is a list of edits (see [`mutate`])
/// to one of the real `tokens` (the byte halved, modulo their number), so near-misses of
/// real tokens are explored too. No edits presents the real token itself.
pub fn candidate(data: &[u8], tokens: &[&str]) -> String {
    match data.split_first() {
        Some((&mode, edits)) if mode % 2 == 1 && !tokens.is_empty() => {
            mutate(tokens[usize::from(mode / 2) % tokens.len()], edits)
        }
        Some((_, raw)) => String::from_utf8_lossy(raw).into_owned(),
        None => String::new(),
    }
}

/// Applies `edits` to `token`, four bytes per edit: an opcode, a big-endian position
/// (modulo the current length + 1) and a byte. Opcodes modulo 4: replace, insert, remove,
/// truncate.
pub fn mutate(token: &str, edits: &[u8]) -> String {
    let mut bytes = token.as_bytes().to_vec();
    for edit in edits.chunks_exact(4) {
        let at = usize::from(u16::from_be_bytes([edit[1], edit[2]])) % (bytes.len() + 1);
        match edit[0] % 4 {
            0 if at < bytes.len() => bytes[at] = edit[3],
            1 => bytes.insert(at, edit[3]),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
