//! The shared statements (`store::sql`) as Diesel runs them: any SQL with
//! numbered parameters bound to [`Value`]s, and rows read back as
//! [`Row`]s whatever their shape.
//!
//! Diesel keeps a statement prepared by its SQL and the types of its binds
//! (every statement here is safe to keep), so the worker's claim and
//! completion are parsed and planned once per connection. Finding it means
//! writing the SQL out and hashing it each time; a statement named
//! [`Fixed`](crate::store::sql::batch::Fixed) is found by its name (a
//! type) instead.

use std::marker::PhantomData;

use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::{Field, NamedRow};
use diesel::sql_types::{BigInt, Binary, Double, Nullable, Text, Untyped};
use diesel::sqlite::{Sqlite, SqliteType, SqliteValue};
use diesel::{QueryResult, RunQueryDsl};

use crate::store::sql::batch::positional;
use crate::store::sql::{Row, Statement, Value};

/// How Diesel finds a statement prepared: by its SQL, or by a type that
/// names it.
pub(crate) trait Keyed: 'static {
    /// Whether the type names the statement (its SQL never changes).
    const BY_TYPE: bool;
}

/// Found by its SQL.
pub(crate) struct BySql;

impl Keyed for BySql {
    const BY_TYPE: bool = false;
}

/// [`Fixed::Complete`](crate::store::sql::batch::Fixed::Complete).
pub(crate) struct Complete;

impl Keyed for Complete {
    const BY_TYPE: bool = true;
}

/// One shared statement, ready for Diesel, found prepared as `K` says.
pub(crate) struct Dynamic<'a, K = BySql> {
    /// The SQL between parameters.
    texts: Vec<&'a str>,
    /// Which value each parameter takes, in order of appearance.
    order: Vec<usize>,
    values: &'a [Value],
    key: PhantomData<K>,
}

impl<'a, K> Dynamic<'a, K> {
    pub(crate) fn new(statement: &'a Statement) -> Self {
        let (texts, order) = positional(&statement.sql);
        Dynamic {
            texts,
            order,
            values: &statement.params,
            key: PhantomData,
        }
    }
}

/// The value SQL `NULL` binds, borrowed for as long as any statement.
static NULL: Option<i64> = None;

fn bind<'b>(out: &mut AstPass<'_, 'b, Sqlite>, value: &'b Value) -> QueryResult<()> {
    match value {
        Value::Null => out.push_bind_param::<Nullable<BigInt>, _>(&NULL),
        Value::Integer(n) => out.push_bind_param::<BigInt, _>(n),
        Value::Real(x) => out.push_bind_param::<Double, _>(x),
        Value::Text(s) => out.push_bind_param::<Text, _>(s),
        Value::Blob(b) => out.push_bind_param::<Binary, _>(b),
    }
}

impl<K> QueryFragment<Sqlite> for Dynamic<'_, K> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        for (at, text) in self.texts.iter().enumerate() {
            out.push_sql(text);
            if let Some(&index) = self.order.get(at) {
                let value = self.values.get(index).ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("parameter ?{} has no value", index + 1).into(),
                    )
                })?;
                bind(&mut out, value)?;
            }
        }
        Ok(())
    }
}

impl<K: Keyed> QueryId for Dynamic<'_, K> {
    type QueryId = K;
    // Kept by `K` when it names the statement, else by its SQL (and bind
    // types).
    const HAS_STATIC_QUERY_ID: bool = K::BY_TYPE;
}

impl<K> Query for Dynamic<'_, K> {
    type SqlType = Untyped;
}

impl<Conn, K> RunQueryDsl<Conn> for Dynamic<'_, K> {}

/// A row of any shape, column by column.
pub(crate) struct DynRow(pub Row);

fn read(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Value> {
    Ok(match value.value_type() {
        None => Value::Null,
        Some(SqliteType::Long | SqliteType::Integer | SqliteType::SmallInt) => {
            Value::Integer(<i64 as FromSql<BigInt, Sqlite>>::from_sql(value)?)
        }
        Some(SqliteType::Double | SqliteType::Float) => {
            Value::Real(<f64 as FromSql<Double, Sqlite>>::from_sql(value)?)
        }
        Some(SqliteType::Binary) => {
            Value::Blob(<Vec<u8> as FromSql<Binary, Sqlite>>::from_sql(value)?)
        }
        Some(SqliteType::Text) => Value::Text(<String as FromSql<Text, Sqlite>>::from_sql(value)?),
    })
}

impl QueryableByName<Sqlite> for DynRow {
    fn build<'a>(row: &impl NamedRow<'a, Sqlite>) -> deserialize::Result<Self> {
        let count = diesel::row::Row::field_count(row);
        let mut values = Vec::with_capacity(count);
        for index in 0..count {
            let field = diesel::row::Row::get(row, index)
                .ok_or_else(|| format!("the row has no column {index}"))?;
            values.push(match field.value() {
                None => Value::Null,
                Some(value) => read(value)?,
            });
        }
        Ok(DynRow(Row(values)))
    }
}
