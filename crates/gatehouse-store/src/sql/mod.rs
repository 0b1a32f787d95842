//! The store written once, in SQL common to SQLite, PostgreSQL and
//! MySQL/MariaDB, over a small [`Db`] interface that each backend
//! implements (see `crate::backend`). The backend is chosen once, when the
//! store is opened; nothing here branches on it.
//!
//! Queries use `?` placeholders; PostgreSQL's driver rewrites them to `$n`.
//! Each operation that must be atomic is one conditional statement or one
//! transaction (see the trait docs in `gatehouse_core::store`).

mod api_keys;
mod keys;
mod policies;
mod secrets;
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
        Self {
            db: Box::new(Storable(db)),
        }
    }
}

/// What no backend may be sent, whichever it is: text holding a NUL
/// (PostgreSQL refuses it in `text`, with an error that would read as a
/// fault of ours; SQLite and MySQL would keep it, so the rule is the same
/// everywhere). Core checks its input first; this is the line behind it,
/// for every statement of the store.
fn unstorable(args: &[Arg]) -> Option<&'static str> {
    let has_nul = |s: &str| s.contains('\0');
    args.iter()
        .any(|arg| match arg {
            Arg::Text(s) | Arg::OptText(Some(s)) => has_nul(s),
            Arg::OptText(None) | Arg::Int(_) | Arg::OptInt(_) => false,
        })
        .then_some("text with a NUL character")
}

/// A [`Db`] that keeps [`unstorable`] statements from the driver: a
/// lookup by such a value finds nothing (no row can hold it), a write is
/// refused with [`StoreError::Unstorable`].
struct Storable(Box<dyn Db>);

#[async_trait]
impl Db for Storable {
    async fn execute(&self, statement: Statement) -> StoreResult<u64> {
        match unstorable(&statement.args) {
            Some(what) => Err(StoreError::Unstorable(what)),
            None => self.0.execute(statement).await,
        }
    }

    async fn fetch_optional(&self, statement: Statement) -> StoreResult<Option<BoxRow>> {
        match unstorable(&statement.args) {
            Some(_) => Ok(None),
            None => self.0.fetch_optional(statement).await,
        }
    }

    async fn fetch_all(&self, statement: Statement) -> StoreResult<Vec<BoxRow>> {
        match unstorable(&statement.args) {
            Some(_) => Ok(Vec::new()),
            None => self.0.fetch_all(statement).await,
        }
    }

    async fn transaction(
        &self,
        statements: Vec<Statement>,
        require_one_row_each: bool,
    ) -> StoreResult<bool> {
        if let Some(what) = statements.iter().find_map(|s| unstorable(&s.args)) {
            return Err(StoreError::Unstorable(what));
        }
        self.0.transaction(statements, require_one_row_each).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.0.ping().await
    }
}

/// The widths of the text columns a caller's data can reach, as the MySQL
/// schema declares them (in characters; PostgreSQL and SQLite use
/// unbounded `TEXT`). A longer value is refused before the statement is
/// sent, in every backend, so the rule is the same everywhere and MySQL's
/// "data too long" (or, outside strict mode, silent truncation) is never met.
pub(crate) mod width {
    pub const ID: usize = 36;
    pub const USERNAME: usize = 255;
    pub const EMAIL: usize = 320;
    pub const NAME: usize = 512;
    /// MySQL `TEXT`: 65,535 bytes.
    pub const TEXT_BYTES: usize = 65_535;
}

/// `Err(Unstorable)` if `value` is longer than `chars` characters.
pub(crate) fn fits(value: Option<&str>, chars: usize) -> StoreResult<()> {
    match value {
        // Bytes bound characters from above: the count is only needed
        // for values near the limit.
        Some(v) if v.len() > chars && v.chars().count() > chars => Err(StoreError::Unstorable(
            "a value longer than its column holds",
        )),
        _ => Ok(()),
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
