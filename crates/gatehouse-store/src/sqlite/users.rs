//! Users, looked up case-insensitively through the lowercased `*_key` columns.

use async_trait::async_trait;
use gatehouse_core::password::PasswordHash;
use gatehouse_core::store::{StoreError, StoreResult, UniqueField, UserStore};
use gatehouse_core::user::{LoginName, User, lookup_key};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, json_list, map_err, to_json_list};

const COLUMNS: &str =
    "id, tenant_id, username, email, first_name, last_name, roles, password_hash, created_at";

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let result = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, username_key, email, email_key,
                                first_name, last_name, roles, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(&user.tenant_id)
        .bind(&user.username)
        .bind(lookup_key(&user.username))
        .bind(&user.email)
        .bind(user.email.as_deref().map(lookup_key))
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(to_json_list(&user.roles))
        .bind(&user.password_hash.0)
        .bind(user.created_at)
        .execute(&self.pool)
        .await;
        match result.map_err(map_err) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => {
                Err(StoreError::Conflict(self.which_conflict(user).await))
            }
            Err(e) => Err(e),
        }
    }

    async fn user_by_login(&self, tenant_id: &str, login: &LoginName) -> StoreResult<Option<User>> {
        let (column, value) = match login {
            LoginName::Username(u) => ("username_key", lookup_key(u)),
            LoginName::Email(e) => ("email_key", lookup_key(e)),
        };
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = ? AND {column} = ?"
        ))
        .bind(tenant_id)
        .bind(value)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = ? AND id = ?"
        ))
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = ? ORDER BY username_key"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> StoreResult<bool> {
        // Sessions and refresh tokens go with the user (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM users WHERE tenant_id = ? AND id = ?")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }
}

impl SqliteStore {
    /// SQLite reports a unique violation without the constraint's name, so
    /// after one we ask which rule the row breaks rather than parse the
    /// message. The conflicting row is committed, so this read sees it.
    async fn which_conflict(&self, user: &User) -> UniqueField {
        let taken = sqlx::query("SELECT 1 FROM users WHERE tenant_id = ? AND username_key = ?")
            .bind(&user.tenant_id)
            .bind(lookup_key(&user.username))
            .fetch_optional(&self.pool)
            .await;
        match taken {
            Ok(Some(_)) => UniqueField::Username,
            Ok(None) if user.email.is_some() => UniqueField::Email,
            _ => UniqueField::Other,
        }
    }
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id").map_err(map_err)?,
        tenant_id: row.try_get("tenant_id").map_err(map_err)?,
        username: row.try_get("username").map_err(map_err)?,
        email: row.try_get("email").map_err(map_err)?,
        first_name: row.try_get("first_name").map_err(map_err)?,
        last_name: row.try_get("last_name").map_err(map_err)?,
        roles: json_list(row, "roles")?,
        password_hash: PasswordHash(row.try_get("password_hash").map_err(map_err)?),
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}
