//! The values layer: ids, rows as callers see them, errors, the clock and the
//! configuration, and name validation. Depends on nothing else in the crate.

pub(crate) mod audit;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod credential;
pub(crate) mod error;
pub(crate) mod factor;
pub(crate) mod identity;
pub(crate) mod ids;
pub(crate) mod key;
pub(crate) mod names;
pub(crate) mod organization;
pub(crate) mod passkey;
pub(crate) mod principal;
pub(crate) mod session;
pub(crate) mod signin;
pub(crate) mod status;
pub(crate) mod time;
pub(crate) mod user;
