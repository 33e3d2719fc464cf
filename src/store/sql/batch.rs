//! Statements sent together, and what runs them.
//!
//! Every store operation of the SQL backends is written as one [`Batch`]:
//! the statements it needs, bound to their values, run in order in one
//! transaction. A batch never waits for the caller between statements, so
//! against a libSQL server it travels as one request (the Hrana protocol's
//! batch), and the server holds its write lock only while the batch runs,
//! never across a network round trip. On a local file the same batch runs
//! on one connection inside `BEGIN IMMEDIATE` ... `COMMIT`.

use std::borrow::Cow;

use async_trait::async_trait;

use super::value::{Row, Value};
use crate::error::StoreResult;

/// One statement: SQL with numbered parameters (`?1`, `?2`, ...; a number
/// may repeat) and the values they take, in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Statement {
    /// The SQL.
    pub sql: Cow<'static, str>,
    /// The value of `?1`, `?2`, ...
    pub params: Vec<Value>,
    /// Whether the statement returns rows (`SELECT`, `RETURNING`).
    pub returns_rows: bool,
    /// The statement's name, when its SQL never changes and it runs often:
    /// an executor may find it prepared by its name rather than by its
    /// text.
    pub fixed: Option<Fixed>,
}

/// The statements whose SQL never changes that run for every job, named
/// (see [`Statement::fixed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fixed {
    /// A job's completion ([`lease::complete`](super::lease::complete)).
    Complete,
}

impl Statement {
    /// A statement that changes rows and returns none.
    pub(crate) fn execute(sql: impl Into<Cow<'static, str>>, params: Vec<Value>) -> Self {
        Statement {
            sql: sql.into(),
            params,
            returns_rows: false,
            fixed: None,
        }
    }

    /// A statement that returns rows (a `SELECT`, or a write with
    /// `RETURNING`).
    pub(crate) fn query(sql: impl Into<Cow<'static, str>>, params: Vec<Value>) -> Self {
        Statement {
            sql: sql.into(),
            params,
            returns_rows: true,
            fixed: None,
        }
    }

    /// This statement, named `fixed`: its SQL must be the same every time.
    pub(crate) fn fixed(self, fixed: Fixed) -> Self {
        Statement {
            fixed: Some(fixed),
            ..self
        }
    }
}

/// Statements run in order, in one transaction: all of them take effect,
/// or, when one fails, none does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Batch {
    /// Whether any statement writes: the transaction then takes the write
    /// lock first (`BEGIN IMMEDIATE`), so it never has to upgrade a read
    /// lock half-way and fail.
    pub writes: bool,
    /// Whether several statements share one transaction (all but
    /// [`Batch::alone`]'s).
    pub transaction: bool,
    /// The statements.
    pub statements: Vec<Statement>,
}

impl Batch {
    /// A batch of reads.
    pub(crate) fn read(statements: Vec<Statement>) -> Self {
        Batch {
            writes: false,
            transaction: true,
            statements,
        }
    }

    /// A batch that writes.
    pub(crate) fn write(statements: Vec<Statement>) -> Self {
        Batch {
            writes: true,
            transaction: true,
            statements,
        }
    }

    /// Statements run one after the other on one connection, outside any
    /// transaction: for what SQLite refuses inside one (`VACUUM`, and the
    /// `auto_vacuum` setting it must follow on the same connection) and
    /// pragmas that step through their work (`PRAGMA incremental_vacuum`).
    pub(crate) fn alone(statements: Vec<Statement>) -> Self {
        Batch {
            writes: false,
            transaction: false,
            statements,
        }
    }

    /// Whether the batch needs a transaction of its own: a single statement
    /// is atomic by itself.
    pub(crate) fn needs_transaction(&self) -> bool {
        self.transaction && self.statements.len() > 1
    }
}

/// What one statement of a batch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Output {
    /// The rows it returned (none unless it returns rows).
    pub rows: Vec<Row>,
    /// How many rows it changed (for a write without `RETURNING`).
    pub changes: u64,
}

/// Runs batches against one database.
#[async_trait]
pub(crate) trait Executor: Send + Sync + 'static {
    /// Runs `batch` in one transaction and returns what each statement
    /// did, in order. A database error rolls the whole batch back and is
    /// returned; a busy database is waited for (or the batch run again)
    /// up to the backend's busy timeout.
    async fn run(&self, batch: Batch) -> StoreResult<Vec<Output>>;

    /// Whether the database is a file on this machine (which can give its
    /// free pages back to the file system), not a server.
    fn has_file(&self) -> bool {
        false
    }

    /// Whether the executor keeps statements prepared by their SQL, so
    /// that running one more statement costs only its own work: so on a
    /// file on this machine. A server parses every statement of a request
    /// again, which makes one statement for many rows the cheaper form.
    fn keeps_statements_prepared(&self) -> bool {
        self.has_file()
    }
}

/// Splits SQL with numbered parameters into the text between them and the
/// parameter each gap takes (0-based), for executors that bind by position
/// (`?`) rather than by number. Repeated numbers bind the value again.
pub(crate) fn positional(sql: &str) -> (Vec<&str>, Vec<usize>) {
    // Room for the parameters of most statements without growing.
    let mut texts = Vec::with_capacity(8);
    let mut order = Vec::with_capacity(8);
    let mut start = 0;
    // `match_indices` on a character jumps between question marks with
    // `memchr` rather than looking at every byte: every statement is split
    // like this each time it runs.
    for (at, _) in sql.match_indices('?') {
        let digits = sql[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let number: usize = sql[at + 1..at + 1 + digits].parse().unwrap_or(0);
            texts.push(&sql[start..at]);
            order.push(number.saturating_sub(1));
            start = at + 1 + digits;
        }
    }
    texts.push(&sql[start..]);
    (texts, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_split_in_order_and_repeat() {
        let (texts, order) = positional("UPDATE t SET a = ?2, b = ?1 WHERE c = ?2 AND d = ?10");
        assert_eq!(
            texts,
            vec![
                "UPDATE t SET a = ",
                ", b = ",
                " WHERE c = ",
                " AND d = ",
                ""
            ]
        );
        assert_eq!(order, vec![1, 0, 1, 9]);
        let (texts, order) = positional("SELECT 1");
        assert_eq!(texts, vec!["SELECT 1"]);
        assert!(order.is_empty());
        // A question mark without a number stays text; one at the end too.
        let (texts, order) = positional("SELECT '?', ?3 WHERE x = ?");
        assert_eq!(texts, vec!["SELECT '?', ", " WHERE x = ?"]);
        assert_eq!(order, vec![2]);
    }
}
