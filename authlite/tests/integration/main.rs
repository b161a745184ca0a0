//! Every integration test of the library in one binary (one link instead of one per file).
//! Tests use real database files in temp dirs; `common` holds the shared helpers.

mod common;

mod accounts;
mod audit;
#[cfg(feature = "passkeys")]
mod authenticator;
mod cache;
mod concurrency;
#[cfg(unix)]
mod crash;
mod credentials;
#[cfg(unix)]
mod faults;
mod hardening;
mod import;
mod instances;
mod layers;
mod migrations;
#[cfg(feature = "oidc")]
mod oidc;
mod organizations;
#[cfg(feature = "passkeys")]
mod passkeys;
mod people;
#[cfg(all(feature = "postgres", unix))]
mod postgres_ops;
#[cfg(target_os = "linux")]
mod powercut;
mod rbac;
mod sessions;
mod signin;
mod store;
#[cfg(unix)]
mod stress;
mod throttle;
mod tokens;
