//! Reading users out of the systems Gatehouse replaces: JSON-lines and CSV
//! exports, or the OpenFaaS Ruby functions' MySQL `users` table. Each
//! source yields [`Record`]s, one per line or row, each either a user or
//! the reason that line cannot be one; `commands::import` writes them.

pub mod files;
pub mod mysql;

use gatehouse_core::user::ImportedUser;
use serde::Deserialize;

/// One line of the input: where it was, and what it holds.
pub struct Record {
    /// 1-based line number of a file, or row number of a table.
    pub line: usize,
    pub user: Result<ImportedUser, String>,
}

/// The fields of one user in an import file (JSON lines or CSV columns).
/// Other fields are ignored: exports carry many columns we do not keep.
#[derive(Debug, Deserialize)]
pub struct UserFields {
    /// The old system's id; a number or a string.
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub username: String,
    pub password_hash: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// A JSON array, or in CSV a space-separated list.
    #[serde(default)]
    pub roles: Option<Roles>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Roles {
    List(Vec<String>),
    Spaced(String),
}

impl From<UserFields> for ImportedUser {
    fn from(f: UserFields) -> Self {
        let roles = match f.roles {
            Some(Roles::List(list)) => list,
            Some(Roles::Spaced(s)) => s.split_whitespace().map(String::from).collect(),
            None => Vec::new(),
        };
        ImportedUser {
            id: f.id,
            username: f.username,
            email: f.email,
            first_name: f.first_name,
            last_name: f.last_name,
            roles,
            password_hash: f.password_hash,
        }
    }
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    }))
}
