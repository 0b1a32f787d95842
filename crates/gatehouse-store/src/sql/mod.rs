//! The store written once, in SQL common to SQLite, PostgreSQL and
//! MySQL/MariaDB, over a small [`Db`] interface that each backend
//! implements (see `crate::backend`). The backend is chosen once, when the
//! store is opened; nothing here branches on it.
//!
//! Queries use `?` placeholders; PostgreSQL's driver rewrites them to `$n`.
//! Each operation that must be atomic is one conditional statement or one
//! transaction (see the trait docs in `gatehouse_core::store`).

mod account_tokens;
mod api_keys;
pub(crate) mod audit;
mod authorization;
mod clients;
mod keys;
mod lockout;
mod policies;
mod secrets;
mod sessions;
mod single_use;
mod tenants;
mod users;

use async_trait::async_trait;
use gatehouse_core::store::{Store, StoreError, StoreResult, UniqueField};

/// A bound parameter. Five shapes cover every column we have.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    /// A `BOOLEAN` column (PostgreSQL's own type; an integer 0/1 in
    /// SQLite and MySQL's `TINYINT(1)`).
    Bool(bool),
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
impl From<bool> for Arg {
    fn from(b: bool) -> Self {
        Arg::Bool(b)
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
    /// A `BOOLEAN` column, NOT NULL.
    fn flag(&self, column: &str) -> StoreResult<bool>;

    /// A JSON array-of-strings column.
    fn json_list(&self, column: &str) -> StoreResult<Vec<String>> {
        serde_json::from_str(&self.text(column)?)
            .map_err(|e| StoreError::Backend(format!("column {column} is not a JSON list: {e}")))
    }
}

pub(crate) type BoxRow = Box<dyn Row>;

/// What a transaction's statements must have changed for it to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Require {
    /// Nothing: it commits whatever they changed.
    Nothing,
    /// Exactly one row each: steps that are all compare-and-sets (a key
    /// promotion retires one key and activates another, or neither).
    OneRowEach,
    /// Exactly one row by the first: it is what the rest act on (a
    /// client deleted, then the sessions issued to it revoked), and when
    /// it is not there the rest must not run.
    OneRowFirst,
}

impl Require {
    /// Whether statement `index`, having changed `rows` rows, lets the
    /// transaction go on.
    pub(crate) fn met(self, index: usize, rows: u64) -> bool {
        match self {
            Require::Nothing => true,
            Require::OneRowEach => rows == 1,
            Require::OneRowFirst => index > 0 || rows == 1,
        }
    }
}

/// What a backend provides: run statements, alone or in one transaction.
/// Implementations retry deadlocks and serialization failures themselves,
/// so callers see them only if they persist.
#[async_trait]
pub(crate) trait Db: Send + Sync + 'static {
    /// Rows affected.
    async fn execute(&self, statement: Statement) -> StoreResult<u64>;
    async fn fetch_optional(&self, statement: Statement) -> StoreResult<Option<BoxRow>>;
    async fn fetch_all(&self, statement: Statement) -> StoreResult<Vec<BoxRow>>;
    /// Runs the statements in one transaction and answers how many rows
    /// each changed, or `None` if a statement did not change what
    /// `require` asks (the transaction is then rolled back: a
    /// compare-and-set that lost, or nothing to act on).
    async fn transaction(
        &self,
        statements: Vec<Statement>,
        require: Require,
    ) -> StoreResult<Option<Vec<u64>>>;
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
            Arg::OptText(None) | Arg::Int(_) | Arg::OptInt(_) | Arg::Bool(_) => false,
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
        require: Require,
    ) -> StoreResult<Option<Vec<u64>>> {
        if let Some(what) = statements.iter().find_map(|s| unstorable(&s.args)) {
            return Err(StoreError::Unstorable(what));
        }
        self.0.transaction(statements, require).await
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
    /// Generated row ids (UUIDs): users, sessions, browser sign-ins.
    pub const ID: usize = 36;
    pub const USERNAME: usize = 255;
    pub const EMAIL: usize = 320;
    pub const NAME: usize = 512;
    /// A tenant's display name (core allows 100 characters).
    pub const DISPLAY_NAME: usize = 255;
    /// A `client_id`, as wide as `sessions.client_id`.
    pub const CLIENT_ID: usize = 255;
    /// A client's name (core allows 128 characters).
    pub const CLIENT_NAME: usize = 255;
    /// Hex SHA-256 of a secret, a code or a cookie.
    pub const HASH: usize = 64;
    /// A PKCE `code_challenge` (RFC 7636 §4.2: at most 128 characters).
    pub const CHALLENGE: usize = 128;
    /// A session's client IP address (core keeps at most 64 characters).
    pub const IP: usize = 64;
    /// A session's `User-Agent` (core keeps at most 256 characters).
    pub const USER_AGENT: usize = 256;
    /// An audit event's kind (`login.failure`).
    pub const EVENT_KIND: usize = 64;
    /// An audit event's actor or subject: a user, client or key id, or `admin`.
    pub const EVENT_PARTY: usize = 255;
    /// An audit event's outcome (`success`, `failure`).
    pub const EVENT_OUTCOME: usize = 16;
    /// An audit event's reason (`wrong_password`).
    pub const EVENT_REASON: usize = 128;
    /// MySQL `TEXT`: 65,535 bytes.
    pub const TEXT_BYTES: usize = 65_535;
}

/// `Err(Unstorable)` if `value` is longer than `chars` characters.
pub(crate) fn fits(value: Option<&str>, chars: usize) -> StoreResult<()> {
    match value {
        // Bytes bound characters from above: the count is only needed
        // for values near the limit.
        Some(v) if v.len() > chars && v.chars().count() > chars => Err(too_long()),
        _ => Ok(()),
    }
}

/// `Err(Unstorable)` if `value` is longer than a `TEXT` column holds.
pub(crate) fn fits_text(value: Option<&str>) -> StoreResult<()> {
    match value {
        Some(v) if v.len() > width::TEXT_BYTES => Err(too_long()),
        _ => Ok(()),
    }
}

fn too_long() -> StoreError {
    StoreError::Unstorable("a value longer than its column holds")
}

/// Whether `key` could be an identifier or hash this store wrote: 1 to
/// `chars` ASCII characters without spaces or controls. Lookups by any
/// other text find nothing without asking the database, which also keeps
/// MySQL's PAD SPACE comparison from finding `abc` by `abc `; writes of
/// it are refused, since they could never be found again.
pub(crate) fn is_possible_key(key: &str, chars: usize) -> bool {
    !key.is_empty() && key.len() <= chars && key.bytes().all(|b| b.is_ascii_graphic())
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
        // A client id, code hash, browser sign-in id or cookie hash that
        // is already taken: random values, so a caller's retry (or bug).
        "clients_pkey"
        | "authorization_codes_pkey"
        | "browser_sessions_pkey"
        | "browser_sessions_token_hash_key"
        | "account_tokens_pkey" => UniqueField::Other,
        _ => UniqueField::Other,
    }
}

pub(crate) fn to_json_list(list: &[String]) -> String {
    // Serialising a list of strings cannot fail.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}
