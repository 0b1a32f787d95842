//! The one table, as the store's operations see it: each call bounded by
//! the store timeout, throttling and transaction conflicts retried with
//! backoff, conditional failures handed back as values, and every call
//! counted with the capacity it consumed.
//!
//! The SDK's own retries are off: it would retry a write whose answer was
//! lost, and a conditional write sent twice is not harmless (a refresh
//! token's second use would look like reuse and revoke the session). Only
//! what DynamoDB refused before doing anything is retried here: throttling
//! and `TransactionConflict`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ConsumedCapacity, Delete, KeysAndAttributes, Put,
    ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use gatehouse_core::store::{StoreError, StoreResult};

use super::item::{Item, size, storable};

/// Attempts of a throttled or conflicting request before the caller sees
/// the store as unavailable (the whole run stays within the timeout).
const MAX_ATTEMPTS: u32 = 8;

/// Expression attribute values of one request (`:name` → value).
pub(crate) type Values = Vec<(&'static str, AttributeValue)>;

/// One write of a `TransactWriteItems`: every item of it happens, or none.
pub(crate) enum Tx {
    Put {
        item: Item,
        cond: Option<&'static str>,
        values: Values,
    },
    Update {
        key: Item,
        update: String,
        cond: Option<String>,
        values: Values,
    },
    Delete {
        key: Item,
        cond: Option<&'static str>,
        values: Values,
    },
    /// A condition on an item the transaction does not write (SQL's
    /// foreign key: the user a new session belongs to still exists).
    Check {
        key: Item,
        cond: &'static str,
        values: Values,
    },
}

impl Tx {
    pub(crate) fn put(item: Item) -> Self {
        Tx::Put {
            item,
            cond: None,
            values: Vec::new(),
        }
    }

    /// A put that fails (cancelling the transaction) if the item exists.
    pub(crate) fn put_new(item: Item) -> Self {
        Tx::Put {
            item,
            cond: Some("attribute_not_exists(#pk)"),
            values: Vec::new(),
        }
    }
}

/// Which sort keys of a partition a query reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SortKeys<'a> {
    /// Those starting with this (all, when empty).
    Prefix(&'a str),
    /// Those sorting before this one.
    Below(&'a str),
}

/// The order a query reads a partition in, by sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    Descending,
}

/// What a conditional write found when its condition did not hold.
pub(crate) enum Outcome<T> {
    Done(T),
    /// The condition failed; the item as it was, if there was one.
    Refused(Option<Item>),
}

/// Why a transaction was cancelled: per item, in order, DynamoDB's reason
/// code (`ConditionalCheckFailed`, `None`, …).
pub(crate) struct Cancelled(pub(crate) Vec<String>);

impl Cancelled {
    /// Whether item `index`'s condition is what failed.
    pub(crate) fn failed(&self, index: usize) -> bool {
        self.0
            .get(index)
            .is_some_and(|code| code == "ConditionalCheckFailed")
    }
}

/// Calls and capacity, counted per store (tests read them to state what
/// each flow costs; see `testing::dynamodb_usage`).
#[derive(Debug, Default)]
pub struct Usage {
    inner: Mutex<UsageCounts>,
}

/// A snapshot of [`Usage`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct UsageCounts {
    /// API calls by operation name (`GetItem`, `TransactWriteItems`, …).
    pub calls: BTreeMap<&'static str, u64>,
    /// Read and write request units by DynamoDB's rules (strongly
    /// consistent reads: 1 per 4 KB per item; writes 1 per 1 KB per item;
    /// transactions twice that), from the sizes of the items sent and
    /// received: what on-demand billing would charge.
    pub read_units: f64,
    pub write_units: f64,
    /// What the server said it consumed (`ReturnConsumedCapacity`), when
    /// it said; a local test server's figure is not DynamoDB's.
    pub reported_units: f64,
}

impl UsageCounts {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &UsageCounts) -> UsageCounts {
        let mut calls = BTreeMap::new();
        for (op, n) in &self.calls {
            let d = n - earlier.calls.get(op).copied().unwrap_or(0);
            if d > 0 {
                calls.insert(*op, d);
            }
        }
        UsageCounts {
            calls,
            read_units: self.read_units - earlier.read_units,
            write_units: self.write_units - earlier.write_units,
            reported_units: self.reported_units - earlier.reported_units,
        }
    }
}

impl Usage {
    pub fn snapshot(&self) -> UsageCounts {
        self.inner.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record(&self, op: &'static str, read: f64, write: f64, reported: &[&ConsumedCapacity]) {
        if let Ok(mut c) = self.inner.lock() {
            *c.calls.entry(op).or_default() += 1;
            c.read_units += read;
            c.write_units += write;
            c.reported_units += reported
                .iter()
                .filter_map(|r| r.capacity_units())
                .sum::<f64>();
        }
    }
}

/// Strongly consistent read units of items of these sizes read together.
fn read_units(bytes: usize) -> f64 {
    bytes.div_ceil(4096).max(1) as f64
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// The table and how to reach it.
pub(crate) struct Table {
    pub(crate) client: Client,
    pub(crate) name: String,
    pub(crate) timeout: Duration,
    pub(crate) usage: Arc<Usage>,
}

/// The `#name` placeholders an expression uses, each for the attribute of
/// that name: every attribute is written as a placeholder, so DynamoDB's
/// long list of reserved words (`name`, `state`, `ttl`, …) never matters.
fn names(texts: &[Option<&str>]) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for text in texts.iter().flatten() {
        let mut rest = *text;
        while let Some(at) = rest.find('#') {
            let tail = &rest[at + 1..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            if !name.is_empty() {
                out.insert(format!("#{name}"), name.to_string());
            }
            rest = &tail[end..];
        }
    }
    (!out.is_empty()).then_some(out)
}

fn values(values: Values) -> Option<HashMap<String, AttributeValue>> {
    (!values.is_empty()).then(|| {
        values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    })
}

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("building a DynamoDB request: {e}"))
}

/// The service errors that mean "throttled: nothing was done, try later".
fn throttled(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "Throttling"
        )
    )
}

/// A transaction cancelled only by conflicts with other transactions (no
/// condition failed): nothing was written, so it may run again.
fn conflicted(e: &TransactWriteItemsError) -> bool {
    match e {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            let codes: Vec<&str> = c
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .collect();
            codes
                .iter()
                .any(|c| *c == "TransactionConflict" || throttled(Some(c)))
                && !codes.contains(&"ConditionalCheckFailed")
        }
        TransactWriteItemsError::TransactionInProgressException(_) => true,
        _ => false,
    }
}

impl Table {
    /// Runs one request: within the timeout, retrying what DynamoDB
    /// refused without acting (throttling, and what `retry` says), and
    /// handing other service errors back for the caller to read.
    async fn call<O, E, F, Fut>(
        &self,
        op: &'static str,
        retry: fn(&E) -> bool,
        mut send: F,
    ) -> StoreResult<Result<O, E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let timeout = self.timeout;
        let run = async {
            let mut attempt = 1;
            loop {
                match send().await {
                    Ok(out) => return Ok(Ok(out)),
                    Err(SdkError::ServiceError(ctx)) => {
                        let e = ctx.into_err();
                        let again = throttled(e.code()) || retry(&e);
                        if again && attempt < MAX_ATTEMPTS {
                            tracing::debug!(op, attempt, code = ?e.code(), "DynamoDB refused for now; retrying");
                            tokio::time::sleep(backoff(attempt)).await;
                            attempt += 1;
                            continue;
                        }
                        if again {
                            return Err(StoreError::Unavailable(format!(
                                "DynamoDB {op} still throttled or conflicting after {attempt} attempts"
                            )));
                        }
                        // A 5xx: it may or may not have been applied, so it is
                        // not sent again (see the module docs).
                        if matches!(e.code(), Some("InternalServerError" | "ServiceUnavailable")) {
                            return Err(StoreError::Unavailable(format!(
                                "DynamoDB {op}: {}",
                                DisplayErrorContext(&e)
                            )));
                        }
                        return Ok(Err(e));
                    }
                    Err(SdkError::ConstructionFailure(e)) => {
                        return Err(StoreError::Backend(format!(
                            "DynamoDB {op}: {}",
                            DisplayErrorContext(&SdkError::<E, HttpResponse>::ConstructionFailure(
                                e
                            ))
                        )));
                    }
                    // Timeouts, connections refused or dropped, unreadable answers.
                    Err(other) => {
                        return Err(StoreError::Unavailable(format!(
                            "DynamoDB {op}: {}",
                            DisplayErrorContext(&other)
                        )));
                    }
                }
            }
        };
        tokio::time::timeout(timeout, run).await.map_err(|_| {
            StoreError::Unavailable(format!("DynamoDB did not answer {op} within {timeout:?}"))
        })?
    }

    /// A service error nobody expected: a bug or a misconfigured table.
    fn unexpected<E: ProvideErrorMetadata + std::error::Error>(
        &self,
        op: &'static str,
        e: E,
    ) -> StoreError {
        match e.code() {
            Some("ResourceNotFoundException") => StoreError::Unavailable(format!(
                "the DynamoDB table {} does not exist (run `gatehouse migrate`)",
                self.name
            )),
            Some("AccessDeniedException" | "UnrecognizedClientException") => {
                StoreError::Unavailable(format!("DynamoDB {op}: {}", DisplayErrorContext(&e)))
            }
            _ => StoreError::Backend(format!("DynamoDB {op}: {}", DisplayErrorContext(&e))),
        }
    }

    /// One item by its key (strongly consistent).
    pub(crate) async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        let out = self
            .call(
                "GetItem",
                |_| false,
                || {
                    self.client
                        .get_item()
                        .table_name(&self.name)
                        .set_key(Some(key.clone()))
                        .consistent_read(true)
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                },
            )
            .await?
            .map_err(|e| self.unexpected("GetItem", e))?;
        let item = out.item;
        self.usage.record(
            "GetItem",
            read_units(item.as_ref().map_or(0, size)),
            0.0,
            &out.consumed_capacity.iter().collect::<Vec<_>>(),
        );
        Ok(item)
    }

    /// Writes `item` if `cond` holds (always, without one).
    pub(crate) async fn put(
        &self,
        item: Item,
        cond: Option<&str>,
        values: Values,
    ) -> StoreResult<Outcome<()>> {
        storable(&item)?;
        let units = write_units(size(&item));
        let names = names(&[cond]);
        let values = self::values(values);
        let out = self
            .call(
                "PutItem",
                |_| false,
                || {
                    self.client
                        .put_item()
                        .table_name(&self.name)
                        .set_item(Some(item.clone()))
                        .set_condition_expression(cond.map(str::to_string))
                        .set_expression_attribute_names(names.clone())
                        .set_expression_attribute_values(values.clone())
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                },
            )
            .await?;
        match out {
            Ok(out) => {
                self.usage.record(
                    "PutItem",
                    0.0,
                    units,
                    &out.consumed_capacity.iter().collect::<Vec<_>>(),
                );
                Ok(Outcome::Done(()))
            }
            Err(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e)) => {
                self.usage.record("PutItem", 0.0, units, &[]);
                Ok(Outcome::Refused(e.item))
            }
            Err(e) => Err(self.unexpected("PutItem", e)),
        }
    }

    /// Updates the item at `key` if `cond` holds; the item as it now is,
    /// or as it was when the condition failed.
    pub(crate) async fn update(
        &self,
        key: Item,
        update: &str,
        cond: Option<&str>,
        values: Values,
    ) -> StoreResult<Outcome<Item>> {
        let names = names(&[Some(update), cond]);
        let values = self::values(values);
        if let Some(v) = &values {
            storable(v)?;
        }
        let out = self
            .call(
                "UpdateItem",
                |_| false,
                || {
                    self.client
                        .update_item()
                        .table_name(&self.name)
                        .set_key(Some(key.clone()))
                        .update_expression(update)
                        .set_condition_expression(cond.map(str::to_string))
                        .set_expression_attribute_names(names.clone())
                        .set_expression_attribute_values(values.clone())
                        .return_values(ReturnValue::AllNew)
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                },
            )
            .await?;
        match out {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                self.usage.record(
                    "UpdateItem",
                    0.0,
                    write_units(size(&item)),
                    &out.consumed_capacity.iter().collect::<Vec<_>>(),
                );
                Ok(Outcome::Done(item))
            }
            Err(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                self.usage.record(
                    "UpdateItem",
                    0.0,
                    write_units(e.item.as_ref().map_or(0, size)),
                    &[],
                );
                Ok(Outcome::Refused(e.item))
            }
            Err(e) => Err(self.unexpected("UpdateItem", e)),
        }
    }

    /// Deletes the item at `key` if `cond` holds; what was deleted (if
    /// anything was there), or the item as it was when the condition failed.
    pub(crate) async fn delete(
        &self,
        key: Item,
        cond: Option<&str>,
        values: Values,
    ) -> StoreResult<Outcome<Option<Item>>> {
        let names = names(&[cond]);
        let values = self::values(values);
        let out = self
            .call(
                "DeleteItem",
                |_| false,
                || {
                    self.client
                        .delete_item()
                        .table_name(&self.name)
                        .set_key(Some(key.clone()))
                        .set_condition_expression(cond.map(str::to_string))
                        .set_expression_attribute_names(names.clone())
                        .set_expression_attribute_values(values.clone())
                        .return_values(ReturnValue::AllOld)
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                },
            )
            .await?;
        match out {
            Ok(out) => {
                self.usage.record(
                    "DeleteItem",
                    0.0,
                    write_units(out.attributes.as_ref().map_or(0, size)),
                    &out.consumed_capacity.iter().collect::<Vec<_>>(),
                );
                Ok(Outcome::Done(out.attributes))
            }
            Err(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(e)) => {
                self.usage.record("DeleteItem", 0.0, 1.0, &[]);
                Ok(Outcome::Refused(e.item))
            }
            Err(e) => Err(self.unexpected("DeleteItem", e)),
        }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// in sort-key order (strongly consistent, all pages).
    pub(crate) async fn query(&self, pk: &str, prefix: &str) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let (mut page, next) = self.query_page(pk, prefix, None, start).await?;
            items.append(&mut page);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// One page of [`Table::query`]: at most `limit` items after `start`
    /// (an exclusive start key), and where the next page starts.
    pub(crate) async fn query_page(
        &self,
        pk: &str,
        prefix: &str,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        self.query_span(pk, SortKeys::Prefix(prefix), Order::Ascending, limit, start)
            .await
    }

    /// One page of the partition's items whose sort keys `keys` names, in
    /// `order`: at most `limit` items after `start` (an exclusive start
    /// key), and where the next page starts.
    pub(crate) async fn query_span(
        &self,
        pk: &str,
        keys: SortKeys<'_>,
        order: Order,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        // A key attribute may not be empty, even in a condition.
        let mut values = vec![(":pk", AttributeValue::S(pk.to_string()))];
        let cond = match keys {
            SortKeys::Prefix("") => "#pk = :pk",
            SortKeys::Prefix(prefix) => {
                values.push((":prefix", AttributeValue::S(prefix.to_string())));
                "#pk = :pk AND begins_with(#sk, :prefix)"
            }
            SortKeys::Below(below) => {
                values.push((":below", AttributeValue::S(below.to_string())));
                "#pk = :pk AND #sk < :below"
            }
        };
        let names = names(&[Some(cond)]);
        let values = self::values(values);
        let out = self
            .call(
                "Query",
                |_| false,
                || {
                    self.client
                        .query()
                        .table_name(&self.name)
                        .key_condition_expression(cond)
                        .set_expression_attribute_names(names.clone())
                        .set_expression_attribute_values(values.clone())
                        .consistent_read(true)
                        .scan_index_forward(order == Order::Ascending)
                        .set_limit(limit)
                        .set_exclusive_start_key(start.clone())
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                },
            )
            .await?
            .map_err(|e| self.unexpected("Query", e))?;
        let items = out.items.unwrap_or_default();
        self.usage.record(
            "Query",
            read_units(items.iter().map(size).sum()),
            0.0,
            &out.consumed_capacity.iter().collect::<Vec<_>>(),
        );
        Ok((items, out.last_evaluated_key))
    }

    /// The items at `keys` that exist (strongly consistent), in no order.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk.to_vec();
            let mut attempt = 1;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending.clone()))
                    .consistent_read(true)
                    .build()
                    .map_err(build_err)?;
                let out = self
                    .call(
                        "BatchGetItem",
                        |_| false,
                        || {
                            self.client
                                .batch_get_item()
                                .request_items(&self.name, request.clone())
                                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                                .send()
                        },
                    )
                    .await?
                    .map_err(|e| self.unexpected("BatchGetItem", e))?;
                let mut items = out
                    .responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default();
                self.usage.record(
                    "BatchGetItem",
                    items.iter().map(|i| read_units(size(i))).sum(),
                    0.0,
                    &out.consumed_capacity.iter().flatten().collect::<Vec<_>>(),
                );
                found.append(&mut items);
                // Keys DynamoDB did not get to (throttling, the 16 MB cap).
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.name))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Unavailable(
                            "DynamoDB BatchGetItem left keys unprocessed".to_string(),
                        ));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// Runs `items` as one transaction: all of them, or (`Err`) none, with
    /// the reason per item when conditions cancelled it.
    pub(crate) async fn transact(&self, items: Vec<Tx>) -> StoreResult<Result<(), Cancelled>> {
        let mut units = 0.0;
        let mut writes = Vec::with_capacity(items.len());
        for tx in items {
            let write = match tx {
                Tx::Put { item, cond, values } => {
                    storable(&item)?;
                    units += 2.0 * write_units(size(&item));
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.name)
                                .set_item(Some(item))
                                .set_condition_expression(cond.map(str::to_string))
                                .set_expression_attribute_names(names(&[cond]))
                                .set_expression_attribute_values(self::values(values))
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
                Tx::Update {
                    key,
                    update,
                    cond,
                    values,
                } => {
                    let values = self::values(values);
                    if let Some(v) = &values {
                        storable(v)?;
                        units += 2.0 * write_units(size(&key) + size(v));
                    } else {
                        units += 2.0;
                    }
                    TransactWriteItem::builder()
                        .update(
                            Update::builder()
                                .table_name(&self.name)
                                .set_key(Some(key))
                                .set_expression_attribute_names(names(&[
                                    Some(update.as_str()),
                                    cond.as_deref(),
                                ]))
                                .update_expression(update)
                                .set_condition_expression(cond)
                                .set_expression_attribute_values(values)
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
                Tx::Delete { key, cond, values } => {
                    units += 2.0;
                    TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(&self.name)
                                .set_key(Some(key))
                                .set_condition_expression(cond.map(str::to_string))
                                .set_expression_attribute_names(names(&[cond]))
                                .set_expression_attribute_values(self::values(values))
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
                Tx::Check { key, cond, values } => {
                    units += 2.0;
                    TransactWriteItem::builder()
                        .condition_check(
                            ConditionCheck::builder()
                                .table_name(&self.name)
                                .set_key(Some(key))
                                .condition_expression(cond)
                                .set_expression_attribute_names(names(&[Some(cond)]))
                                .set_expression_attribute_values(self::values(values))
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
            };
            writes.push(write);
        }
        let out = self
            .call("TransactWriteItems", conflicted, || {
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(writes.clone()))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
            })
            .await?;
        match out {
            Ok(out) => {
                self.usage.record(
                    "TransactWriteItems",
                    0.0,
                    units,
                    &out.consumed_capacity.iter().flatten().collect::<Vec<_>>(),
                );
                Ok(Ok(()))
            }
            Err(TransactWriteItemsError::TransactionCanceledException(e)) => {
                self.usage.record("TransactWriteItems", 0.0, units, &[]);
                Ok(Err(Cancelled(
                    e.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_string())
                        .collect(),
                )))
            }
            Err(e) => Err(self.unexpected("TransactWriteItems", e)),
        }
    }

    /// Runs many independent writes in as few transactions as they fit
    /// (100 items each); for fan-outs that need not be atomic as a whole,
    /// only per item (each keeps its own condition).
    pub(crate) async fn transact_chunks(&self, items: Vec<Tx>) -> StoreResult<()> {
        let mut items = items;
        while !items.is_empty() {
            let rest = items.split_off(items.len().min(100));
            if let Err(c) = self.transact(items).await? {
                return Err(StoreError::Backend(format!(
                    "a cascade step was cancelled: {:?}",
                    c.0
                )));
            }
            items = rest;
        }
        Ok(())
    }
}

/// Exponential backoff with jitter: 10 ms, 20 ms, 40 ms, … up to a second.
fn backoff(attempt: u32) -> Duration {
    let base = 10u64.saturating_mul(1 << attempt.min(7)).min(1_000);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    ) % base.max(1);
    Duration::from_millis(base / 2 + jitter / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_name_becomes_a_placeholder() {
        let got = names(&[
            Some("SET #state = :s, #ttl = :t"),
            Some("attribute_exists(#pk)"),
        ])
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got["#state"], "state");
        assert_eq!(got["#ttl"], "ttl");
        assert!(names(&[Some("a = :b")]).is_none());
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) <= Duration::from_millis(20));
        assert!(backoff(12) <= Duration::from_secs(1));
    }
}
