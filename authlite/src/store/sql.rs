//! What one statement needs on either backend: its text in each dialect ([`Sql`]), its
//! bound arguments and the cells of its rows (both [`Value`]s; a [`Row`]'s cells are read
//! as [`Column`] types). Every statement and row mapping of the aggregate files is written once,
//! against these, and runs on SQLite and on PostgreSQL.
//!
//! Placeholders are written `?1`, `?2`... in both dialects; the PostgreSQL connection
//! rewrites them to `$1`, `$2`... once, when it first prepares a statement.
//!
//! Nothing here names a database client: each backend module (`sqlite/`, `postgres/`)
//! binds [`Value`]s and reads its rows' [`Cells`].

use crate::values::error::{Error, ErrorKind, Result};
use crate::values::ids::{ApiKeyId, IdentityId, OrgId, PasskeyId, SessionId, UserId};

/// One statement's text in each dialect. Most statements are the same in both (SQLite
/// speaks `ON CONFLICT`, `RETURNING`, `string_agg` and `IS DISTINCT FROM` too); a string
/// converts into an `Sql` that uses it for both.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql {
    pub(super) sqlite: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(super) postgres: &'static str,
}

impl Sql {
    /// A statement whose text differs between the dialects.
    pub(crate) const fn each(sqlite: &'static str, postgres: &'static str) -> Sql {
        Sql { sqlite, postgres }
    }
}

impl From<&'static str> for Sql {
    fn from(both: &'static str) -> Sql {
        Sql { sqlite: both, postgres: both }
    }
}

/// A value as SQL sees it, borrowed: a bound argument, or one cell of a result row.
/// Booleans are the integers 0 and 1 on both backends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// `args![a, b, c]`: a statement's arguments, each converted with `Value::from`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::store::sql::Value::from($arg)),*][..]
    };
}
pub(crate) use args;

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A Rust type a cell converts into; the `Err` says what did not fit.
pub(crate) trait Column: Sized {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str>;
}

impl Column for i64 {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Int(i) => Ok(i),
            _ => Err("expected an integer"),
        }
    }
}

impl Column for u32 {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        u32::try_from(i64::from_value(v)?).map_err(|_| "integer out of range")
    }
}

impl Column for bool {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl Column for String {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Text(s) => Ok(s.to_owned()),
            _ => Err("expected text"),
        }
    }
}

impl Column for Vec<u8> {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Blob(b) => Ok(b.to_vec()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => Err("expected bytes"),
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// Ids are stored as their integers.
macro_rules! id_column {
    ($($id:ident),*) => {$(
        impl Column for $id {
            fn from_value(v: Value<'_>) -> std::result::Result<Self, &'static str> {
                i64::from_value(v).map($id)
            }
        }
        impl From<$id> for Value<'_> {
            fn from(id: $id) -> Self {
                Value::Int(id.0)
            }
        }
    )*};
}
id_column!(UserId, SessionId, ApiKeyId, PasskeyId, OrgId, IdentityId);

/// The cells of one result row as a backend reads them: each backend module implements
/// this for its client's row type.
pub(crate) trait Cells {
    /// Cell `i`; `Err` says what the backend could not read.
    fn cell(&self, i: usize) -> std::result::Result<Value<'_>, String>;
    /// The name of column `i`, for messages.
    fn column_name(&self, i: usize) -> Option<&str>;
}

/// A result row of either backend.
pub(crate) struct Row<'r>(pub(super) &'r dyn Cells);

impl Row<'_> {
    /// Column `i`, JSON text (the one encoding of a list or map in a column: attributes,
    /// roles, scopes), as a `T`; `None` for `NULL`. `what` names it in the error.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        i: usize,
        what: &str,
    ) -> Result<Option<T>> {
        match self.get::<Option<String>>(i)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|_| malformed(what)),
        }
    }

    /// Column `i` as a sorted list of names (`NULL`: none).
    pub(crate) fn names(&self, i: usize, what: &str) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.json(i, what)?.unwrap_or_default();
        names.sort();
        Ok(names)
    }

    /// Column `i` as a `T`; a `Storage` error naming the column when the stored value does
    /// not fit.
    pub(crate) fn get<T: Column>(&self, i: usize) -> Result<T> {
        let bad = |what: &str| {
            let column = self.0.column_name(i).unwrap_or("?");
            Error::new(
                ErrorKind::Storage,
                format!("unexpected value in result column {i} ({column}): {what}"),
            )
        };
        let value = self.0.cell(i).map_err(|e| bad(&e))?;
        T::from_value(value).map_err(bad)
    }
}

/// The error for a row that decoded but holds something the engine never writes.
pub(crate) fn malformed(what: &str) -> Error {
    Error::new(ErrorKind::Storage, format!("malformed {what} in the database"))
}

/// A user's attributes as one JSON object text (`NULL` or `{}` when there are none), in
/// dialect `sqlite` or `postgres`; `$user` is the SQL expression of the user's id.
macro_rules! attributes_json {
    (sqlite, $user:literal) => {
        concat!(
            "(SELECT json_group_object(a.key, a.value) FROM user_attributes a WHERE a.user_id = ",
            $user,
            ")"
        )
    };
    (postgres, $user:literal) => {
        concat!(
            "(SELECT json_object_agg(a.key, a.value)::text FROM user_attributes a ",
            "WHERE a.user_id = ",
            $user,
            ")"
        )
    };
}
pub(crate) use attributes_json;

/// A user's role names as one JSON array text (`NULL` or `[]` when there are none), in
/// dialect `sqlite` or `postgres`: their global roles and their roles as a member of the
/// organization `$org` (`NULL`: none), each once. `$user` and `$org` are SQL expressions.
macro_rules! roles_json {
    (sqlite, $user:literal, $org:literal) => {
        concat!(
            "(SELECT json_group_array(r.name) FROM roles r WHERE ",
            $crate::store::sql::role_ids!("r.id", $user, $org),
            ")"
        )
    };
    (postgres, $user:literal, $org:literal) => {
        concat!(
            "(SELECT json_agg(r.name)::text FROM roles r WHERE ",
            $crate::store::sql::role_ids!("r.id", $user, $org),
            ")"
        )
    };
}
pub(crate) use roles_json;

/// `$column IN (...)`: whether `$column` is the id of a role `$user` holds globally or as a
/// member of `$org` (SQL expressions; a `NULL` organization adds nothing). The one
/// definition of whose roles count, shared by the validation reads and the authorization
/// checks.
macro_rules! role_ids {
    ($column:literal, $user:literal, $org:literal) => {
        concat!(
            $column,
            " IN (SELECT role_id FROM user_roles WHERE user_id = ",
            $user,
            " UNION SELECT role_id FROM member_roles WHERE user_id = ",
            $user,
            " AND org_id = ",
            $org,
            ")"
        )
    };
}
pub(crate) use role_ids;

/// `dialects!(m, args...)`: the [`Sql`] whose texts are `m!(sqlite, args...)` and
/// `m!(postgres, args...)`, for a statement built by a macro that takes the dialect first.
macro_rules! dialects {
    ($m:ident $(, $arg:tt)*) => {
        $crate::store::sql::Sql::each($m!(sqlite $(, $arg)*), $m!(postgres $(, $arg)*))
    };
}
pub(crate) use dialects;
