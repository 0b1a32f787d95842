//! Users, looked up case-insensitively through the lowercased `*_key`
//! columns (lowercased by core, so no database collation is relied on).

use async_trait::async_trait;
use gatehouse_core::password::PasswordHash;
use gatehouse_core::store::{StoreError, StoreResult, UniqueField, UserStore};
use gatehouse_core::user::{LoginName, User, lookup_key};

use super::{Row, SqlStore, stmt, to_json_list};

const COLUMNS: &str =
    "id, tenant_id, username, email, first_name, last_name, roles, password_hash, created_at";

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let result = self
            .db
            .execute(stmt!(
                "INSERT INTO users (id, tenant_id, username, username_key, email, email_key,
                                    first_name, last_name, roles, password_hash, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &user.id,
                &user.tenant_id,
                &user.username,
                lookup_key(&user.username),
                &user.email,
                user.email.as_deref().map(lookup_key),
                &user.first_name,
                &user.last_name,
                to_json_list(&user.roles),
                &user.password_hash.0,
                user.created_at,
            ))
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(UniqueField::Other)) => {
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
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {COLUMNS} FROM users WHERE tenant_id = ? AND {column} = ?"),
                tenant_id,
                value
            ))
            .await?;
        row.as_deref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {COLUMNS} FROM users WHERE tenant_id = ? AND id = ?"),
                tenant_id,
                user_id
            ))
            .await?;
        row.as_deref().map(user_from_row).transpose()
    }

    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        let rows = self
            .db
            .fetch_all(stmt!(
                format!("SELECT {COLUMNS} FROM users WHERE tenant_id = ? ORDER BY username_key"),
                tenant_id
            ))
            .await?;
        rows.iter().map(|r| user_from_row(r.as_ref())).collect()
    }

    async fn update_password_hash(
        &self,
        tenant_id: &str,
        user_id: &str,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> StoreResult<bool> {
        // Conditional on the old hash: of two logins upgrading at once, one
        // writes and the other finds the work done.
        let n = self
            .db
            .execute(stmt!(
                "UPDATE users SET password_hash = ?
                 WHERE tenant_id = ? AND id = ? AND password_hash = ?",
                &new.0,
                tenant_id,
                user_id,
                &old.0
            ))
            .await?;
        Ok(n > 0)
    }

    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> StoreResult<bool> {
        // Sessions and refresh tokens go with the user (ON DELETE CASCADE).
        let n = self
            .db
            .execute(stmt!(
                "DELETE FROM users WHERE tenant_id = ? AND id = ?",
                tenant_id,
                user_id
            ))
            .await?;
        Ok(n > 0)
    }
}

impl SqlStore {
    /// For backends that do not name the violated index (SQLite, MySQL):
    /// ask which rule the row breaks. The conflicting row is committed, so
    /// this read sees it.
    async fn which_conflict(&self, user: &User) -> UniqueField {
        let taken = self
            .db
            .fetch_optional(stmt!(
                "SELECT id FROM users WHERE tenant_id = ? AND username_key = ?",
                &user.tenant_id,
                lookup_key(&user.username)
            ))
            .await;
        match taken {
            Ok(Some(_)) => return UniqueField::Username,
            Ok(None) => {}
            Err(_) => return UniqueField::Other,
        }
        let Some(email) = &user.email else {
            // Neither name: the id itself (an imported legacy id) is taken.
            return UniqueField::Other;
        };
        match self
            .db
            .fetch_optional(stmt!(
                "SELECT id FROM users WHERE tenant_id = ? AND email_key = ?",
                &user.tenant_id,
                lookup_key(email)
            ))
            .await
        {
            Ok(Some(_)) => UniqueField::Email,
            _ => UniqueField::Other,
        }
    }
}

fn user_from_row(row: &dyn Row) -> StoreResult<User> {
    Ok(User {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        username: row.text("username")?,
        email: row.opt_text("email")?,
        first_name: row.opt_text("first_name")?,
        last_name: row.opt_text("last_name")?,
        roles: row.json_list("roles")?,
        password_hash: PasswordHash(row.text("password_hash")?),
        created_at: row.int("created_at")?,
    })
}
