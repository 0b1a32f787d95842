//! Registered OAuth clients (RFC 6749 §2), always reached through their
//! tenant; their secrets only as hashes.
//!
//! A `client_id` arrives from the network (token requests, authorization
//! requests): text that cannot be one is answered "no such client"
//! without a round trip.

use async_trait::async_trait;
use gatehouse_core::clock::UnixTime;
use gatehouse_core::oauth::{ClientRecord, ClientType, GrantType};
use gatehouse_core::store::{ClientStore, StoreError, StoreResult};

use super::{Require, Row, SqlStore, fits, fits_text, is_possible_key, stmt, to_json_list, width};

const COLUMNS: &str = "id, tenant_id, name, client_type, grants, scopes, redirect_uris, \
     post_logout_redirect_uris, secret_hash, previous_secret_hash, previous_secret_expires_at, \
     created_at";

#[async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()> {
        if !is_possible_key(&client.id, width::CLIENT_ID) {
            return Err(StoreError::Unstorable(
                "a client id that is not 1 to 255 printable ASCII characters",
            ));
        }
        let grants: Vec<String> = client
            .grants
            .iter()
            .map(|g| g.as_str().to_string())
            .collect();
        let grants = to_json_list(&grants);
        let scopes = to_json_list(&client.scopes);
        let redirect_uris = to_json_list(&client.redirect_uris);
        let post_logout_redirect_uris = to_json_list(&client.post_logout_redirect_uris);
        fits(Some(&client.name), width::CLIENT_NAME)?;
        fits(client.secret_hash.as_deref(), width::HASH)?;
        fits(client.previous_secret_hash.as_deref(), width::HASH)?;
        for list in [&grants, &scopes, &redirect_uris, &post_logout_redirect_uris] {
            fits_text(Some(list))?;
        }
        // A taken id is `Conflict(Other)`: ids are random, so it is a
        // retry of the same insert or a bug, never a name clash.
        self.db
            .execute(stmt!(
                format!(
                    "INSERT INTO clients ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                &client.id,
                &client.tenant_id,
                &client.name,
                client.client_type.as_str(),
                grants,
                scopes,
                redirect_uris,
                post_logout_redirect_uris,
                &client.secret_hash,
                &client.previous_secret_hash,
                client.previous_secret_expires_at,
                client.created_at,
            ))
            .await
            .map(drop)
    }

    async fn client(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        if !is_possible_key(client_id, width::CLIENT_ID) {
            return Ok(None);
        }
        let row = self
            .db
            .fetch_optional(stmt!(
                format!("SELECT {COLUMNS} FROM clients WHERE tenant_id = ? AND id = ?"),
                tenant_id,
                client_id
            ))
            .await?;
        row.as_deref().map(client_from_row).transpose()
    }

    async fn list_clients(&self, tenant_id: &str) -> StoreResult<Vec<ClientRecord>> {
        let rows = self
            .db
            .fetch_all(stmt!(
                format!(
                    "SELECT {COLUMNS} FROM clients WHERE tenant_id = ? ORDER BY created_at, id"
                ),
                tenant_id
            ))
            .await?;
        rows.iter().map(|r| client_from_row(r.as_ref())).collect()
    }

    async fn delete_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<bool> {
        if !is_possible_key(client_id, width::CLIENT_ID) {
            return Ok(false);
        }
        // The client first: when it is not there (in this tenant) nothing
        // else runs, so naming the first-party client id, which has
        // sessions but no row here, revokes nothing. Its used codes stay,
        // so a replay still finds them used (RFC 6749 §4.1.2).
        let done = self
            .db
            .transaction(
                vec![
                    stmt!(
                        "DELETE FROM clients WHERE tenant_id = ? AND id = ?",
                        tenant_id,
                        client_id
                    ),
                    stmt!(
                        "UPDATE sessions SET revoked_at = ?
                         WHERE tenant_id = ? AND client_id = ? AND revoked_at IS NULL",
                        now,
                        tenant_id,
                        client_id
                    ),
                    stmt!(
                        "DELETE FROM authorization_codes
                         WHERE tenant_id = ? AND client_id = ? AND used_at IS NULL",
                        tenant_id,
                        client_id
                    ),
                ],
                Require::OneRowFirst,
            )
            .await?;
        Ok(done.is_some())
    }

    async fn rotate_client_secret(
        &self,
        tenant_id: &str,
        client_id: &str,
        expected: &str,
        new_hash: &str,
        previous_expires_at: UnixTime,
    ) -> StoreResult<bool> {
        if !is_possible_key(client_id, width::CLIENT_ID) || !is_possible_key(expected, width::HASH)
        {
            return Ok(false);
        }
        fits(Some(new_hash), width::HASH)?;
        // One conditional UPDATE: of two concurrent rotations from the
        // same secret, one wins and the other changes nothing. The
        // previous hash is set from `expected` (equal to the stored one
        // when the row matches), not from the column, because MySQL
        // assigns left to right where the others read the old row.
        let n = self
            .db
            .execute(stmt!(
                "UPDATE clients
                 SET previous_secret_hash = ?, previous_secret_expires_at = ?, secret_hash = ?
                 WHERE tenant_id = ? AND id = ? AND secret_hash = ?",
                expected,
                previous_expires_at,
                new_hash,
                tenant_id,
                client_id,
                expected
            ))
            .await?;
        Ok(n > 0)
    }
}

fn client_from_row(row: &dyn Row) -> StoreResult<ClientRecord> {
    let corrupt =
        |e: gatehouse_core::Error| StoreError::Backend(format!("corrupt client row: {e}"));
    let grants = row
        .json_list("grants")?
        .iter()
        .map(|g| GrantType::parse(g).map_err(corrupt))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ClientRecord {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        name: row.text("name")?,
        client_type: ClientType::parse(&row.text("client_type")?).map_err(corrupt)?,
        grants,
        scopes: row.json_list("scopes")?,
        redirect_uris: row.json_list("redirect_uris")?,
        post_logout_redirect_uris: row.json_list("post_logout_redirect_uris")?,
        secret_hash: row.opt_text("secret_hash")?,
        previous_secret_hash: row.opt_text("previous_secret_hash")?,
        previous_secret_expires_at: row.opt_int("previous_secret_expires_at")?,
        created_at: row.int("created_at")?,
    })
}
