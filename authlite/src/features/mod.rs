//! The features layer: the engine's rules, over the store's plain values. Nothing here
//! touches SQL or the database driver; the `Auth` facade above calls into [`Engine`].
//!
//! Inside, files depend one way too (tests/integration/layers.rs checks imports and
//! `self.` calls between files):
//! - components that know nothing of the others: `chain` (audit MAC chain, subscribers),
//!   `cache` (the exact epoch caches, one per credential kind), `keyring` (signing keys,
//!   master key), `binding` (the settings recorded in the file);
//! - `engine`: the shared state and the unit of work (`write`, `write_settled`);
//! - rules every feature shares: `liveness` (is a session or key usable), `lifecycle`
//!   (what each account event voids), `throttle` (failure counters and lockouts);
//! - features: `accounts`, `sessions` (token pairs, logout, revocation), `refresh`,
//!   `validate`, `credentials` (API keys, service tokens), `scoped`, `one_time` (reset,
//!   verification and magic-link tokens), `mfa` (TOTP and recovery codes), `rbac`,
//!   `audit`, `keys`, `ops`;
//! - `signin/`: the one sign-in pipeline, one file per factor (`password`, `magic_link`,
//!   `second_factor`), on top of the features it finishes with.

mod accounts;
mod audit;
mod binding;
mod cache;
mod chain;
mod credentials;
mod engine;
mod identities;
mod keyring;
mod keys;
mod lifecycle;
mod liveness;
mod mfa;
mod one_time;
mod ops;
mod organizations;
mod passkeys;
mod rbac;
mod refresh;
mod scoped;
mod sessions;
mod signin;
mod throttle;
mod validate;

pub(crate) use binding::recorded_config;
pub(crate) use engine::Engine;
#[cfg(fuzzing)]
pub(crate) use refresh::PREFIX as REFRESH_PREFIX;
