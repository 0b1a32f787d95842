//! DynamoDB: the serverless store (`dynamodb://TABLE?region=…&endpoint=…`).
//! No connections, no VPC, billed per request; one table holds every
//! tenant (single-table design), created by `gatehouse migrate` (or the
//! first `gatehouse serve`) when missing, with on-demand billing and TTL.
//!
//! # Key schema
//!
//! String partition key `pk` and sort key `sk`, no secondary index (every
//! read below is a strongly consistent `GetItem` or `Query`; a GSI could
//! only be read eventually consistently). `{t}` is a tenant id, `h(x)` the
//! hex SHA-256 of `x` (bounded key size whatever a name holds).
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | schema version | `META` | `SCHEMA` |
//! | tenant | `TENANTS` | `N#{name}` |
//! | tenant id → name | `T#{t}` | `TENANT` |
//! | route policy | `T#{t}` | `POLICY` |
//! | named secret | `T#{t}` | `SECRET#{name}` |
//! | signing key | `T#{t}` | `KEY#{kid}` |
//! | "one current / one next key" | `T#{t}` | `SLOT#current`, `SLOT#next` |
//! | API key | `T#{t}` | `APIKEY#{id}` |
//! | OAuth client | `T#{t}` | `CLIENT#{id}` |
//! | user | `T#{t}#USERS` | `I#{user id}` |
//! | username taken | `T#{t}#USERS` | `N#{h(username key)}` → user id |
//! | email taken | `T#{t}#USERS` | `E#{h(email key)}` → user id |
//! | what a user owns | `T#{t}#U#{user id}` | `S#{session}`, `B#{sign-in}`, `K#{API key}`, `C#{code}`, `A#{link}` |
//! | session | `T#{t}#S#{session id}` | `SESSION` |
//! | refresh token | `T#{t}#R#{h(token)}` | `REFRESH` |
//! | what a client's deletion ends | `T#{t}#CL#{client id}` | `S#{session}`, `C#{code}` |
//! | authorization code | `T#{t}#CODE#{h(code)}` | `CODE` |
//! | browser sign-in | `T#{t}#BS#{h(cookie)}` | `BROWSER` |
//! | browser sign-in by id | `T#{t}#B#{id}` | `BROWSER` → cookie hash |
//! | sessions from a sign-in | `T#{t}#B#{id}` | `S#{session}` |
//! | account link | `T#{t}#AT#{h(token)}` | `TOKEN` |
//! | audit event | `T#{t}#EV` | `{event id}` (UUIDv7, so time order) |
//!
//! # Access patterns
//!
//! - Tenants: by name `GetItem`; all `Query TENANTS`; by id (admin
//!   changes) the `TENANT` item gives the name, then a conditional update.
//! - Users: by id `GetItem I#`; by username or email `GetItem N#`/`E#`
//!   then `GetItem I#`; all, or a page in id order, `Query … begins_with I#`.
//! - Signing keys, API keys, clients, secrets: `GetItem` by id, `Query
//!   T#{t} begins_with KEY#/APIKEY#/CLIENT#/SECRET#` for lists.
//! - Sessions, refresh tokens, codes, sign-ins, links: `GetItem` by id or
//!   hash (their own partitions, so the hot paths spread over the table).
//! - Cascades (deleting a user or client, ending a sign-in, revoking a
//!   user's sessions): `Query` the owner's link partition, then act on each.
//! - Audit events: a listing is one `Query` of `T#{t}#EV` newest first
//!   (`ScanIndexForward = false`), below the cursor (`sk < :id`); pruning
//!   is `Query TENANTS`, then each tenant's event partition oldest first.
//!
//! # How each rule holds
//!
//! - Unique tenant names, usernames and emails per tenant: the claim items
//!   (`N#`, `E#`) are written in one `TransactWriteItems` with the record,
//!   each `attribute_not_exists(pk)`; the cancellation reasons say which
//!   rule broke (username before email, as the SQL backends report it).
//! - At most one `current` and one `next` key: the slot items, written in
//!   the same transaction as the key, conditionally; a promotion moves
//!   both keys and both slots in one transaction, each conditional.
//! - Single use (refresh tokens, codes, account links): one conditional
//!   `UpdateItem` (`SET used_at` if it does not exist), returning the item
//!   as it now is to the one winner and, through
//!   `ReturnValuesOnConditionCheckFailure`, as it was to every loser, so a
//!   reuse is seen with the first use's session and revokes it (RFC 9700
//!   §4.14.2; RFC 6749 §4.1.2). A delete would lose that record.
//! - Compare-and-sets (password hash upgrade, key material rewrap, client
//!   secret rotation, revocation): conditional `UpdateItem`.
//! - The account soft-lock (at most `threshold` password checks between
//!   locks, however many arrive at once): attributes of the user item
//!   (`failed_logins`, `lock_count`, `locked_until`), changed by one of two
//!   conditional `UpdateItem`s per attempt, since an update expression
//!   cannot branch: `ADD failed_logins 1` while it stays below the
//!   threshold (no expected count in its condition, so concurrent attempts
//!   never retry), or, at the threshold, the lock, conditional on the
//!   `lock_count` the lock's length was chosen by. A refused one returns
//!   the item as it was, which decides the next step without a read
//!   (`lockout`, and `crate::lockout` for the algorithm SQL shares).
//! - Audit events: no index by time across tenants, so each event carries
//!   a TTL of its time plus 400 days, the ceiling of any retention (TTL
//!   deletion is free), and `prune_events` deletes, tenant by tenant,
//!   from the oldest, what a shorter retention no longer keeps, reading
//!   little more than what it deletes: ids are minted with the event, so a
//!   walk in id order stops at the first event newer than the cut-off (by
//!   more than 5 minutes of clock skew). A listing `since` a time stops the
//!   same way; kind and subject are filtered from what is read (`audit`).
//! - Foreign keys: whatever a user owns is created in one transaction with
//!   its link item and a `ConditionCheck` that the user exists, so nothing
//!   can be added to a user being deleted; the deletion removes the user
//!   and its claims in one transaction, then everything its links name.
//!   A refresh token belongs to its session instead: it has no link (it
//!   would double every refresh's writes); a token whose session is gone
//!   reads as not found (one more `GetItem`), and TTL removes it.
//! - Cascades larger than one transaction (100 items) cannot be atomic in
//!   DynamoDB: they are done item by item after the step that decides
//!   them, and each is safe to run again (deleting a client again, or a
//!   user again, finishes what an interrupted run left).
//! - Expiry: sessions, tokens, codes, sign-ins and links carry a TTL
//!   attribute, so the table never grows without bound. TTL deletion is
//!   lazy (days), so nothing depends on it: records keep their own
//!   `expires_at`, which core checks as it does on SQL; single-use values
//!   past their TTL at the time of use read as not found; codes and links
//!   that expired before the `prune_before` a store was last given read as
//!   pruned.
//! - Throttling and `TransactionConflict` are retried with backoff within
//!   the store timeout (`table`); an endpoint that does not answer within
//!   it is `Unavailable` (503).

mod audit;
mod item;
mod lockout;
mod oauth;
mod sessions;
mod table;
mod tenants;
mod users;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};
use gatehouse_core::store::{Store, StoreResult};
use secrecy::ExposeSecret;

use crate::{DatabaseUrl, OpenError, StoreOptions};
use item::{ItemBuilder, Read, key};
use table::{Outcome, Table};

pub use table::{Usage, UsageCounts};

/// The layout this binary reads and writes. A table marked newer is
/// refused, as the SQL backends refuse a newer schema.
const SCHEMA_VERSION: i64 = 1;

/// How long past its expiry an item may stay (its TTL), per kind: long
/// enough for everything that still refers to it.
pub(crate) mod keep {
    /// A used refresh token must outlive the session it could still
    /// revoke on reuse: sessions live at most 30 days by default.
    pub const REFRESH: i64 = 30 * 24 * 3600;
    /// Sessions descending from a sign-in outlive it; ending it later must
    /// still find it to revoke them.
    pub const BROWSER: i64 = 30 * 24 * 3600;
    /// Core prunes codes and links an hour after they expire.
    pub const SINGLE_USE: i64 = 3600;
    /// Sessions: a day, then TTL.
    pub const SESSION: i64 = 24 * 3600;
    /// Audit events: the longest any retention may keep them (TTL is set
    /// when they are appended, before any retention is known).
    pub const EVENT: i64 = 400 * 24 * 3600;
}

/// The key of each kind of item (see the module docs).
pub(crate) mod k {
    use sha2::{Digest, Sha256};

    pub fn h(text: &str) -> String {
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
    pub fn tenants() -> String {
        "TENANTS".into()
    }
    pub fn tenant(t: &str) -> String {
        format!("T#{t}")
    }
    pub fn users(t: &str) -> String {
        format!("T#{t}#USERS")
    }
    pub fn owned_by(t: &str, user_id: &str) -> String {
        format!("T#{t}#U#{user_id}")
    }
    pub fn session(t: &str, id: &str) -> String {
        format!("T#{t}#S#{id}")
    }
    pub fn refresh(t: &str, hash: &str) -> String {
        format!("T#{t}#R#{hash}")
    }
    pub fn client_links(t: &str, client_id: &str) -> String {
        format!("T#{t}#CL#{client_id}")
    }
    pub fn code(t: &str, hash: &str) -> String {
        format!("T#{t}#CODE#{hash}")
    }
    pub fn browser(t: &str, token_hash: &str) -> String {
        format!("T#{t}#BS#{token_hash}")
    }
    pub fn browser_id(t: &str, id: &str) -> String {
        format!("T#{t}#B#{id}")
    }
    pub fn account_token(t: &str, hash: &str) -> String {
        format!("T#{t}#AT#{hash}")
    }
    pub fn events(t: &str) -> String {
        format!("T#{t}#EV")
    }
}

/// Gatehouse's store on one DynamoDB table.
pub struct DynamoStore {
    table: Table,
    /// The newest `prune_before` this store was given for authorization
    /// codes and account links: older ones read as pruned (their TTL
    /// deletes them). Per process: another node may still return such a
    /// code as expired, which core refuses all the same.
    code_horizon: AtomicI64,
    token_horizon: AtomicI64,
}

/// Every open store's usage, by table name, for the tests that state what
/// a flow costs (`testing::dynamodb_usage`).
fn registry() -> &'static Mutex<HashMap<String, Arc<Usage>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Arc<Usage>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The calls and capacity the stores open on `table` in this process have
/// used so far.
pub fn usage(table: &str) -> Option<UsageCounts> {
    registry().lock().ok()?.get(table).map(|u| u.snapshot())
}

/// What a `dynamodb://` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub table: String,
    pub region: Option<String>,
    /// A DynamoDB-compatible endpoint (DynamoDB Local, moto, LocalStack);
    /// AWS's own when absent.
    pub endpoint: Option<String>,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, OpenError> {
        let malformed = |why: &str| {
            OpenError::MalformedUrl(format!(
                "{why}; expected dynamodb://TABLE?region=REGION&endpoint=URL \
                 (both optional)"
            ))
        };
        let rest = url
            .split_once("://")
            .map(|(_, r)| r)
            .ok_or_else(|| malformed("no `//` after the scheme"))?;
        let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
        let table = table.trim_end_matches('/');
        // DynamoDB's rule for table names.
        let valid = (3..=255).contains(&table.len())
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(malformed(
                "the table name must be 3 to 255 letters, digits, `_`, `-` or `.`",
            ));
        }
        let mut target = Target {
            table: table.to_string(),
            region: None,
            endpoint: None,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "region" => target.region = Some(value.into_owned()),
                "endpoint" => {
                    url::Url::parse(&value).map_err(|_| malformed("`endpoint` is not a URL"))?;
                    target.endpoint = Some(value.into_owned());
                }
                other => return Err(malformed(&format!("unknown parameter `{other}`"))),
            }
        }
        Ok(target)
    }
}

/// A client for the URL's region and endpoint, with the standard AWS
/// credential chain (environment, profile files, container and instance
/// roles — on Lambda, the function's role), the SDK's retries off (see
/// `table`) and its timeouts within the store's.
pub(crate) async fn client(target: &Target, timeout: Duration) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(timeout)
                .operation_attempt_timeout(timeout)
                .build(),
        );
    if let Some(region) = &target.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let shared = loader.load().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
    if let Some(endpoint) = &target.endpoint {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

pub(crate) async fn open(
    url: &DatabaseUrl,
    options: &StoreOptions,
) -> Result<DynamoStore, OpenError> {
    let target = Target::parse(url.expose())?;
    let connect_err = |reason: String| OpenError::Connect {
        url: url.to_string(),
        reason,
    };
    let client = client(&target, options.acquire_timeout).await;
    if client.config().region().is_none() {
        return Err(OpenError::MalformedUrl(
            "no AWS region: add ?region=… to the dynamodb:// URL or set AWS_REGION".into(),
        ));
    }
    let usage = registry()
        .lock()
        .map(|mut r| r.entry(target.table.clone()).or_default().clone())
        .unwrap_or_default();
    let store = DynamoStore {
        table: Table {
            client,
            name: target.table.clone(),
            timeout: options.acquire_timeout,
            usage,
        },
        code_horizon: AtomicI64::new(i64::MIN),
        token_horizon: AtomicI64::new(i64::MIN),
    };
    match store.schema_version().await {
        Ok(Some(v)) if v > SCHEMA_VERSION => {
            return Err(OpenError::Migrate {
                url: url.to_string(),
                reason: format!(
                    "the table's layout is at version {v}, newer than this Gatehouse knows \
                     ({SCHEMA_VERSION}); run a newer Gatehouse against it"
                ),
            });
        }
        Ok(Some(_)) => {}
        // The table exists, without our mark: a table someone made (or
        // one whose creation was interrupted). Mark it.
        Ok(None) => store
            .mark_schema()
            .await
            .map_err(|e| connect_err(e.to_string()))?,
        Err(Missing::Table) if options.create_if_missing => {
            store
                .create_table(options.acquire_timeout)
                .await
                .map_err(|reason| OpenError::Migrate {
                    url: url.to_string(),
                    reason,
                })?;
        }
        Err(Missing::Table) => {
            return Err(OpenError::NotFound {
                path: format!("the DynamoDB table {}", target.table),
                url: url.to_string(),
            });
        }
        Err(Missing::Unreachable(reason)) => return Err(connect_err(reason)),
    }
    Ok(store)
}

enum Missing {
    Table,
    Unreachable(String),
}

impl DynamoStore {
    fn schema_key() -> item::Item {
        key("META", "SCHEMA")
    }

    async fn schema_version(&self) -> Result<Option<i64>, Missing> {
        let t = &self.table;
        let answer = tokio::time::timeout(
            t.timeout,
            t.client
                .get_item()
                .table_name(&t.name)
                .set_key(Some(Self::schema_key()))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(|_| Missing::Unreachable(format!("no answer within {:?}", t.timeout)))?;
        match answer {
            Ok(out) => Ok(match out.item {
                Some(item) => Read(&item).opt_int("version").ok().flatten(),
                None => None,
            }),
            Err(e) => match e.as_service_error().and_then(|s| s.code()) {
                Some("ResourceNotFoundException") => Err(Missing::Table),
                _ => Err(Missing::Unreachable(DisplayErrorContext(&e).to_string())),
            },
        }
    }

    async fn mark_schema(&self) -> StoreResult<()> {
        let item = ItemBuilder::new("META", "SCHEMA")
            .n("version", SCHEMA_VERSION)
            .build();
        self.table.put(item, None, Vec::new()).await.map(drop)
    }

    /// Creates the table (on-demand billing), waits until it is active,
    /// turns TTL on and marks the layout version.
    async fn create_table(&self, timeout: Duration) -> Result<(), String> {
        let t = &self.table;
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())
        };
        let key_part = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| e.to_string())
        };
        let created = t
            .client
            .create_table()
            .table_name(&t.name)
            .attribute_definitions(attr(item::PK)?)
            .attribute_definitions(attr(item::SK)?)
            .key_schema(key_part(item::PK, KeyType::Hash)?)
            .key_schema(key_part(item::SK, KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(e) = created {
            // Another node created it first: fine.
            if e.as_service_error().and_then(|s| s.code()) != Some("ResourceInUseException") {
                return Err(format!(
                    "creating the table {}: {}",
                    t.name,
                    DisplayErrorContext(&e)
                ));
            }
        }
        // A new table takes seconds to become active (at once locally).
        let deadline = tokio::time::Instant::now() + timeout.max(Duration::from_secs(60));
        loop {
            let status = t
                .client
                .describe_table()
                .table_name(&t.name)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "describing the table {}: {}",
                        t.name,
                        DisplayErrorContext(&e)
                    )
                })?
                .table
                .and_then(|d| d.table_status);
            if status == Some(TableStatus::Active) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("the table {} did not become active", t.name));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(item::TTL)
            .enabled(true)
            .build()
            .map_err(|e| e.to_string())?;
        if let Err(e) = t
            .client
            .update_time_to_live()
            .table_name(&t.name)
            .time_to_live_specification(ttl)
            .send()
            .await
        {
            // Already on (another node): DynamoDB says so as a validation error.
            let code = e.as_service_error().and_then(|s| s.code());
            if code != Some("ValidationException") {
                return Err(format!(
                    "turning TTL on for {}: {}",
                    t.name,
                    DisplayErrorContext(&e)
                ));
            }
        }
        self.mark_schema().await.map_err(|e| e.to_string())?;
        tracing::info!(table = %t.name, "created the DynamoDB table (on-demand billing, TTL on `ttl`)");
        Ok(())
    }

    /// Raises a horizon to `to` (never lowers it).
    fn raise(horizon: &AtomicI64, to: i64) {
        horizon.fetch_max(to, Ordering::Relaxed);
    }
}

/// Deletes a table (tests clean up after themselves).
#[doc(hidden)]
pub async fn drop_table(url: &str) {
    let Ok(target) = Target::parse(url) else {
        return;
    };
    let client = client(&target, Duration::from_secs(5)).await;
    let _ = client.delete_table().table_name(&target.table).send().await;
}

#[async_trait]
impl Store for DynamoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.table.get(Self::schema_key()).await.map(drop)
    }
}

/// `Outcome::Done` as `true`, a failed condition as `false`.
fn done<T>(outcome: Outcome<T>) -> bool {
    matches!(outcome, Outcome::Done(_))
}

/// The secret text of a `SecretString` for an item (sealed material,
/// already encrypted by core; the item is the only place it goes).
fn exposed(s: &secrecy::SecretString) -> &str {
    s.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_table_region_and_endpoint() {
        let t =
            Target::parse("dynamodb://gatehouse?region=eu-west-1&endpoint=http://127.0.0.1:8000")
                .unwrap();
        assert_eq!(t.table, "gatehouse");
        assert_eq!(t.region.as_deref(), Some("eu-west-1"));
        assert_eq!(t.endpoint.as_deref(), Some("http://127.0.0.1:8000"));
        let plain = Target::parse("dynamodb://My.Table_1").unwrap();
        assert_eq!(
            (plain.table.as_str(), plain.region, plain.endpoint),
            ("My.Table_1", None, None)
        );
        for bad in [
            "dynamodb://ab",
            "dynamodb://has space",
            "dynamodb://t?colour=blue",
            "dynamodb://tbl?endpoint=not a url",
            "dynamodb:tbl",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashed_keys_are_bounded() {
        assert_eq!(k::h("x").len(), 64);
        assert_eq!(k::h(&"é".repeat(400)).len(), 64);
    }
}
