//! The store written once, in SQL common to SQLite, PostgreSQL and
//! MySQL/MariaDB, over a small [`Db`] interface that each backend
//! implements (see `crate::backend`). The backend is chosen once, when the
//! store is opened; nothing here branches on it.
//!
//! Queries use `?` placeholders; PostgreSQL's driver rewrites them to `$n`.
//! Each operation that must be atomic is one conditional statement or one
//! transaction (see the trait docs in `gatehouse_core::store`).

mod keys;
mod sessions;
mod tenants;
mod users;

use async_trait::async_trait;
use gatehouse_core::store::{Store, StoreError, StoreResult, UniqueField};

/// A bound parameter. Four shapes cover every column we have.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        Arg::OptText(s)
    }
}
impl From<&Option<String>> for Arg {
    fn from(s: &Option<String>) -> Self {
        Arg::OptText(s.clone())
    }
}
impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}
impl From<Option<i64>> for Arg {
    fn from(n: Option<i64>) -> Self {
        Arg::OptInt(n)
    }
}

/// One SQL statement and its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: String,
    pub args: Vec<Arg>,
}

/// `stmt!("SELECT ... WHERE a = ? AND b = ?", a, b)`
macro_rules! stmt {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::sql::Statement {
            sql: ($sql).to_string(),
            args: vec![$($crate::sql::Arg::from($arg)),*],
        }
    };
}
pub(crate) use stmt;

/// A result row, read by column name.
pub(crate) trait Row: Send + Sync {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;

    /// A JSON array-of-strings column.
    fn json_list(&self, column: &str) -> StoreResult<Vec<String>> {
        serde_json::from_str(&self.text(column)?)
            .map_err(|e| StoreError::Backend(format!("column {column} is not a JSON list: {e}")))
    }
}

pub(crate) type BoxRow = Box<dyn Row>;

/// What a backend provides: run statements, alone or in one transaction.
/// Implementations retry deadlocks and serialization failures themselves,
/// so callers see them only if they persist.
#[async_trait]
pub(crate) trait Db: Send + Sync + 'static {
    /// Rows affected.
    async fn execute(&self, statement: Statement) -> StoreResult<u64>;
    async fn fetch_optional(&self, statement: Statement) -> StoreResult<Option<BoxRow>>;
    async fn fetch_all(&self, statement: Statement) -> StoreResult<Vec<BoxRow>>;
    /// Runs the statements in one transaction. With `require_one_row_each`,
    /// commits only if every statement changed exactly one row; otherwise
    /// rolls back and answers `false` (a compare-and-set that lost).
    async fn transaction(
        &self,
        statements: Vec<Statement>,
        require_one_row_each: bool,
    ) -> StoreResult<bool>;
    async fn ping(&self) -> StoreResult<()>;
}

/// Gatehouse's store over any [`Db`].
pub struct SqlStore {
    db: Box<dyn Db>,
}

impl SqlStore {
    pub(crate) fn new(db: Box<dyn Db>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await
    }
}

/// Unique rules by the name the schemas give their indexes, in every
/// backend. Backends that report the violated index pass its name here;
/// the others report `Other` and the caller asks which rule broke.
pub(crate) fn unique_field(constraint: &str) -> UniqueField {
    match constraint {
        "tenants_name_key" => UniqueField::TenantName,
        "users_username_key" => UniqueField::Username,
        "users_email_key" => UniqueField::Email,
        _ => UniqueField::Other,
    }
}

pub(crate) fn to_json_list(list: &[String]) -> String {
    // Serialising a list of strings cannot fail.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}
