//! The OpenFaaS Ruby functions' MySQL `users` table (`username`,
//! `password` as unsalted SHA-256 hex, `email`, `first_name`, `last_name`,
//! and usually an `id`), read straight from the old database.
//!
//! Columns are read by name from `SELECT *`, so an `id` column is kept when
//! there is one and extra columns do no harm; each value is taken as text
//! or as a number (the original schema declared `last_name` an `int`).

use sqlx::mysql::{MySqlConnectOptions, MySqlRow};
use sqlx::{ConnectOptions, Row};

use super::Record;
use crate::CliResult;
use gatehouse_core::user::ImportedUser;

pub async fn read_table(url: &str, table: &str) -> CliResult<Vec<Record>> {
    if !is_identifier(table) {
        return Err(format!(
            "--table must be a table name (letters, digits and `_`, optionally `database.table`), not {table:?}"
        )
        .into());
    }
    let options: MySqlConnectOptions = url
        .parse()
        .map_err(|_| "--from-mysql needs a mysql://user:password@host/database URL")?;
    let mut conn = options
        .connect()
        .await
        .map_err(|e| format!("cannot connect to the MySQL database: {e}"))?;
    let quoted = table
        .split('.')
        .map(|part| format!("`{part}`"))
        .collect::<Vec<_>>()
        .join(".");
    let rows: Vec<MySqlRow> = sqlx::query(&format!("SELECT * FROM {quoted}"))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| format!("cannot read the table {table}: {e}"))?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, row)| Record {
            line: i + 1,
            user: user_of(row),
        })
        .collect())
}

fn user_of(row: &MySqlRow) -> Result<ImportedUser, String> {
    let required = |name: &str| {
        text(row, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the row has no `{name}`"))
    };
    Ok(ImportedUser {
        id: text(row, "id"),
        username: required("username")?,
        password_hash: required("password")?,
        email: text(row, "email"),
        first_name: text(row, "first_name"),
        last_name: text(row, "last_name"),
        roles: Vec::new(),
    })
}

/// A column as text, whatever its SQL type; `None` if absent or NULL.
fn text(row: &MySqlRow, name: &str) -> Option<String> {
    if let Ok(v) = row.try_get::<Option<String>, _>(name) {
        return v;
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(name) {
        return v.map(|n| n.to_string());
    }
    if let Ok(v) = row.try_get::<Option<u64>, _>(name) {
        return v.map(|n| n.to_string());
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(name) {
        return v.map(|n| n.to_string());
    }
    row.try_get::<Option<Vec<u8>>, _>(name)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
}

fn is_identifier(table: &str) -> bool {
    let parts: Vec<&str> = table.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 64
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_names() {
        assert!(super::is_identifier("users"));
        assert!(super::is_identifier("legacy.users"));
        assert!(!super::is_identifier("users; DROP TABLE x"));
        assert!(!super::is_identifier("a.b.c"));
        assert!(!super::is_identifier("`users`"));
    }
}
