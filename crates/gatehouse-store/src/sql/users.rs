//! Users, looked up case-insensitively through the `*_key` columns, which
//! hold core's [`username_key`] and [`email_key`] (so no database collation
//! is relied on, and store and core agree on what one name is).
//!
//! Text that cannot be any user's name or id is not sent to the database:
//! a lookup by it finds no one, a write of it is refused as unstorable.

use async_trait::async_trait;
use gatehouse_core::password::PasswordHash;
use gatehouse_core::store::{StoreError, StoreResult, UniqueField, UserStore};
use gatehouse_core::user::{LoginName, User, email_key, is_possible_user_id, username_key};

use super::{Row, SqlStore, fits, fits_text, stmt, to_json_list, width};

const COLUMNS: &str =
    "id, tenant_id, username, email, first_name, last_name, roles, password_hash, created_at";

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (username_key, email_key) = keys_of(user)?;
        let roles = to_json_list(&user.roles);
        for (value, chars) in [
            (Some(user.id.as_str()), width::ID),
            (Some(user.username.as_str()), width::USERNAME),
            (Some(username_key.as_str()), width::USERNAME),
            (user.email.as_deref(), width::EMAIL),
            (email_key.as_deref(), width::EMAIL),
            (user.first_name.as_deref(), width::NAME),
            (user.last_name.as_deref(), width::NAME),
        ] {
            fits(value, chars)?;
        }
        if roles.len() > width::TEXT_BYTES || user.password_hash.0.len() > width::TEXT_BYTES {
            return Err(StoreError::Unstorable(
                "a value longer than its column holds",
            ));
        }
        let result = self
            .db
            .execute(stmt!(
                "INSERT INTO users (id, tenant_id, username, username_key, email, email_key,
                                    first_name, last_name, roles, password_hash, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &user.id,
                &user.tenant_id,
                &user.username,
                &username_key,
                &user.email,
                &email_key,
                &user.first_name,
                &user.last_name,
                roles,
                &user.password_hash.0,
                user.created_at,
            ))
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(UniqueField::Other)) => Err(StoreError::Conflict(
                self.which_conflict(&user.tenant_id, &username_key, email_key.as_deref())
                    .await,
            )),
            Err(e) => Err(e),
        }
    }

    async fn user_by_login(&self, tenant_id: &str, login: &LoginName) -> StoreResult<Option<User>> {
        let column = match login {
            LoginName::Username(_) => "username_key",
            LoginName::Email(_) => "email_key",
        };
        // Not a name any user can have: no one has it.
        let Some(value) = login.lookup_key() else {
            return Ok(None);
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
        // Also keeps MySQL's PAD SPACE comparison from finding `42` by `42 `.
        if !is_possible_user_id(user_id) {
            return Ok(None);
        }
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
        if !is_possible_user_id(user_id) {
            return Ok(false);
        }
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

    async fn set_user_roles(
        &self,
        tenant_id: &str,
        user_id: &str,
        roles: &[String],
    ) -> StoreResult<bool> {
        if !is_possible_user_id(user_id) {
            return Ok(false);
        }
        let roles = to_json_list(roles);
        fits_text(Some(&roles))?;
        // Rows matched, not rows changed, in every backend (sqlx asks
        // MySQL for found rows): setting the same roles again is `true`.
        let n = self
            .db
            .execute(stmt!(
                "UPDATE users SET roles = ? WHERE tenant_id = ? AND id = ?",
                roles,
                tenant_id,
                user_id
            ))
            .await?;
        Ok(n > 0)
    }

    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> StoreResult<bool> {
        if !is_possible_user_id(user_id) {
            return Ok(false);
        }
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
    async fn which_conflict(
        &self,
        tenant_id: &str,
        username_key: &str,
        email_key: Option<&str>,
    ) -> UniqueField {
        let taken = self
            .db
            .fetch_optional(stmt!(
                "SELECT id FROM users WHERE tenant_id = ? AND username_key = ?",
                tenant_id,
                username_key
            ))
            .await;
        match taken {
            Ok(Some(_)) => return UniqueField::Username,
            Ok(None) => {}
            Err(_) => return UniqueField::Other,
        }
        let Some(email_key) = email_key else {
            // Neither name: the id itself (an imported legacy id) is taken.
            return UniqueField::Other;
        };
        match self
            .db
            .fetch_optional(stmt!(
                "SELECT id FROM users WHERE tenant_id = ? AND email_key = ?",
                tenant_id,
                email_key
            ))
            .await
        {
            Ok(Some(_)) => UniqueField::Email,
            _ => UniqueField::Other,
        }
    }
}

/// The lookup keys of a user about to be written. A name without one
/// (outside the username profile, or not an address) could never be found
/// again, so it is refused rather than stored.
fn keys_of(user: &User) -> StoreResult<(String, Option<String>)> {
    let username = username_key(&user.username).ok_or(StoreError::Unstorable(
        "a username outside the username profile (RFC 8265)",
    ))?;
    let email = match &user.email {
        Some(e) => {
            Some(email_key(e).ok_or(StoreError::Unstorable("an email address that is not one"))?)
        }
        None => None,
    };
    Ok((username, email))
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
