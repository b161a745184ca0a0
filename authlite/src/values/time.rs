//! How times serialize: integer milliseconds since the Unix epoch, as the database stores
//! them (`#[serde(serialize_with = "...")]` on `SystemTime` fields).

use std::time::SystemTime;

use serde::Serializer;

use crate::values::clock::to_millis;

/// A time as milliseconds since the Unix epoch.
pub(crate) fn ms<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(to_millis(*t))
}

/// An optional time as milliseconds since the Unix epoch, or `null`.
pub(crate) fn opt_ms<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ms(t, s),
        None => s.serialize_none(),
    }
}
