//! Users, looked up case-insensitively through the `*_key` columns, which
//! hold core's [`username_key`] and [`email_key`] (so no database collation
//! is relied on, and store and core agree on what one name is).
//!
//! Text that cannot be any user's name or id is not sent to the database:
//! a lookup by it finds no one, a write of it is refused as unstorable.

use async_trait::async_trait;
use gatehouse_core::password::PasswordHash;
use gatehouse_core::store::{StoreError, StoreResult, UniqueField, UserQuery, UserStore};
use gatehouse_core::user::{LoginName, User, email_key, is_possible_user_id, username_key};

use super::{Arg, Row, SqlStore, Statement, fits, fits_text, stmt, to_json_list, width};

const COLUMNS: &str = "id, tenant_id, username, email, first_name, last_name, roles, \
     email_verified, disabled, failed_logins, lock_count, locked_until, password_hash, created_at";

/// The most users one page holds, whatever the caller asks (core clamps
/// to the same bound; this is the store's own line).
const MAX_PAGE: u32 = 200;

/// The escape character of `list_users_page`'s `LIKE`: not a backslash,
/// which MySQL also treats as an escape inside string literals, so the
/// one `ESCAPE '!'` clause means the same in every backend.
const LIKE_ESCAPE: char = '!';

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (username_key, email_key) = keys_of(user)?;
        let roles = to_json_list(&user.roles);
        for (value, chars) in [
            (user.id.as_str(), width::ID),
            (user.username.as_str(), width::USERNAME),
            (username_key.as_str(), width::USERNAME),
        ] {
            fits(Some(value), chars)?;
        }
        fits_text(Some(&user.password_hash.0))?;
        profile_fits(user, email_key.as_deref(), &roles)?;
        let result = self
            .db
            .execute(stmt!(
                "INSERT INTO users (id, tenant_id, username, username_key, email, email_key,
                                    first_name, last_name, roles, email_verified, disabled,
                                    failed_logins, lock_count, locked_until,
                                    password_hash, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &user.id,
                &user.tenant_id,
                &user.username,
                &username_key,
                &user.email,
                &email_key,
                &user.first_name,
                &user.last_name,
                roles,
                user.email_verified,
                user.disabled,
                user.failed_logins,
                user.lock_count,
                user.locked_until,
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

    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        if !is_possible_user_id(&user.id) {
            return Ok(false);
        }
        // The username, id and hash are not written: only the email's key
        // is needed, and only what is written is checked. Nor is the
        // soft-lock state: only `LockoutStore`'s two steps change it, so an
        // admin's edit made from a stale read cannot undo a lock.
        let email_key = email_key_of(user)?;
        let roles = to_json_list(&user.roles);
        profile_fits(user, email_key.as_deref(), &roles)?;
        // Rows matched, not rows changed, in every backend (as for roles):
        // an update that changes nothing still finds the user.
        let result = self
            .db
            .execute(stmt!(
                "UPDATE users SET email = ?, email_key = ?, first_name = ?, last_name = ?,
                                  roles = ?, email_verified = ?, disabled = ?
                 WHERE tenant_id = ? AND id = ?",
                &user.email,
                &email_key,
                &user.first_name,
                &user.last_name,
                roles,
                user.email_verified,
                user.disabled,
                &user.tenant_id,
                &user.id,
            ))
            .await;
        match result {
            Ok(n) => Ok(n > 0),
            // `users_email_key` is the only unique index this statement
            // can break (it changes neither the id nor the username);
            // PostgreSQL names it, SQLite and MySQL report `Other`.
            Err(StoreError::Conflict(UniqueField::Email | UniqueField::Other)) => {
                Err(StoreError::Conflict(UniqueField::Email))
            }
            Err(e) => Err(e),
        }
    }

    async fn list_users_page(&self, tenant_id: &str, query: &UserQuery) -> StoreResult<Vec<User>> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut sql = format!("SELECT {COLUMNS} FROM users WHERE tenant_id = ?");
        let mut args: Vec<Arg> = vec![tenant_id.into()];
        if let Some(after) = &query.after {
            sql.push_str(" AND id > ?");
            args.push(after.into());
        }
        if let Some(prefix) = query.prefix.as_deref().filter(|p| !p.is_empty()) {
            // No key holds an ASCII capital (both are lowercased) nor is
            // longer than its column: such a prefix matches no one. Said
            // here because SQLite's LIKE ignores ASCII case, so the
            // database would not say it the same way everywhere.
            if prefix.bytes().any(|b| b.is_ascii_uppercase())
                || fits(Some(prefix), width::EMAIL).is_err()
            {
                return Ok(Vec::new());
            }
            let pattern = format!("{}%", escape_like(prefix));
            sql.push_str(&format!(
                " AND (username_key LIKE ? ESCAPE '{LIKE_ESCAPE}' \
                  OR email_key LIKE ? ESCAPE '{LIKE_ESCAPE}')"
            ));
            args.push(pattern.clone().into());
            args.push(pattern.into());
        }
        // The cursor is the last id seen, so `ORDER BY id` and `id > ?`
        // (one collation, one comparison) make pages that neither repeat
        // nor skip a user while others are added.
        sql.push_str(" ORDER BY id LIMIT ?");
        args.push(i64::from(limit).into());
        let rows = self.db.fetch_all(Statement { sql, args }).await?;
        rows.iter().map(|r| user_from_row(r.as_ref())).collect()
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

/// `prefix` as a `LIKE` pattern that matches it literally: the wildcards
/// `%` and `_`, and the escape character itself, escaped.
fn escape_like(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '%' | '_') || c == LIKE_ESCAPE {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

/// Refuses what the columns `update_user` writes cannot hold (create
/// writes them too), before the statement is sent.
fn profile_fits(user: &User, email_key: Option<&str>, roles: &str) -> StoreResult<()> {
    for (value, chars) in [
        (user.email.as_deref(), width::EMAIL),
        (email_key, width::EMAIL),
        (user.first_name.as_deref(), width::NAME),
        (user.last_name.as_deref(), width::NAME),
    ] {
        fits(value, chars)?;
    }
    fits_text(Some(roles))
}

/// The lookup keys of a user about to be written. A name without one
/// (outside the username profile, or not an address) could never be found
/// again, so it is refused rather than stored.
fn keys_of(user: &User) -> StoreResult<(String, Option<String>)> {
    let username = username_key(&user.username).ok_or(StoreError::Unstorable(
        "a username outside the username profile (RFC 8265)",
    ))?;
    Ok((username, email_key_of(user)?))
}

fn email_key_of(user: &User) -> StoreResult<Option<String>> {
    user.email
        .as_deref()
        .map(|e| email_key(e).ok_or(StoreError::Unstorable("an email address that is not one")))
        .transpose()
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
        email_verified: row.flag("email_verified")?,
        disabled: row.flag("disabled")?,
        failed_logins: row.int("failed_logins")?,
        lock_count: row.int("lock_count")?,
        locked_until: row.opt_int("locked_until")?,
        password_hash: PasswordHash(row.text("password_hash")?),
        created_at: row.int("created_at")?,
    })
}
