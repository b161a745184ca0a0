//! The features layer: the engine's rules, over the store's plain values. Nothing here
//! touches SQL or the database driver; the `Auth` facade above calls into [`Engine`].
//!
//! Inside, modules depend one way too: the components `chain` (audit MAC chain and
//! subscribers), `cache` (the exact epoch cache of credential state), `keyring` (signing
//! keys, master key) and `binding` (the settings recorded in the file) know nothing of the
//! others; `engine` (shared state, unit of work) builds on them; every feature (`accounts`,
//! `sessions`, `refresh`, `validate`, `credentials`, `scoped`, `rbac`, `audit`, `keys`,
//! `throttle`, `ops`) builds on `engine`, and on each other without cycles.

mod accounts;
mod audit;
mod binding;
mod cache;
mod chain;
mod credentials;
mod engine;
mod keyring;
mod keys;
mod lifecycle;
mod mfa;
mod one_time;
mod ops;
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
