//! Items as attribute maps: building them from records, reading records
//! back, and the size rules DynamoDB bills by.
//!
//! Every value is a string (`S`) or a number (`N`); lists are stored as
//! the same JSON text the SQL backends keep, so a list may hold what a
//! plain attribute could not (a NUL) and both kinds of store agree on
//! what a list is.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse_core::store::{StoreError, StoreResult};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The partition and sort key attribute names.
pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
/// The table's TTL attribute (Unix seconds): DynamoDB deletes the item
/// some time after it, lazily (typically within days), so readers never
/// rely on it having run (see the module docs of `dynamo`).
pub(crate) const TTL: &str = "ttl";

/// An item's primary key.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.into())),
        (SK.to_string(), AttributeValue::S(sk.into())),
    ])
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Builds an item attribute by attribute; `None`s are left out (an absent
/// attribute is SQL's NULL, and `attribute_not_exists` tests it).
pub(crate) struct ItemBuilder(Item);

impl ItemBuilder {
    pub(crate) fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self(key(pk, sk))
    }

    pub(crate) fn s(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_string(), s(value));
        self
    }

    pub(crate) fn opt_s(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.s(name, v),
            None => self,
        }
    }

    pub(crate) fn n(mut self, name: &str, value: i64) -> Self {
        self.0.insert(name.to_string(), n(value));
        self
    }

    pub(crate) fn opt_n(self, name: &str, value: Option<i64>) -> Self {
        match value {
            Some(v) => self.n(name, v),
            None => self,
        }
    }

    /// The TTL attribute: when DynamoDB may delete the item.
    pub(crate) fn ttl(self, at: i64) -> Self {
        self.n(TTL, at)
    }

    pub(crate) fn build(self) -> Item {
        self.0
    }
}

/// Reads a record's fields from an item, by attribute name.
pub(crate) struct Read<'a>(pub(crate) &'a Item);

impl Read<'_> {
    pub(crate) fn text(&self, name: &str) -> StoreResult<String> {
        self.opt_text(name)?
            .ok_or_else(|| StoreError::Backend(format!("item attribute {name} is missing")))
    }

    pub(crate) fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(StoreError::Backend(format!(
                "item attribute {name} is not a string"
            ))),
        }
    }

    pub(crate) fn int(&self, name: &str) -> StoreResult<i64> {
        self.opt_int(name)?
            .ok_or_else(|| StoreError::Backend(format!("item attribute {name} is missing")))
    }

    pub(crate) fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| {
                StoreError::Backend(format!("item attribute {name} is not an integer"))
            }),
            Some(_) => Err(StoreError::Backend(format!(
                "item attribute {name} is not a number"
            ))),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> StoreResult<bool> {
        Ok(self.opt_int(name)?.unwrap_or(0) != 0)
    }

    /// A JSON array-of-strings attribute (as the SQL backends keep lists).
    pub(crate) fn json_list(&self, name: &str) -> StoreResult<Vec<String>> {
        serde_json::from_str(&self.text(name)?).map_err(|e| {
            StoreError::Backend(format!("item attribute {name} is not a JSON list: {e}"))
        })
    }

    pub(crate) fn sk(&self) -> StoreResult<String> {
        self.text(SK)
    }
}

/// The size DynamoDB bills an item by: each attribute's name plus its
/// value (a string's UTF-8 bytes; a number about one byte per two
/// digits, plus one). The store's own count of consumed capacity uses it.
pub(crate) fn size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(v) => v.len(),
        AttributeValue::N(v) => v.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// The largest item DynamoDB stores (400 KB, names included).
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Refuses an item DynamoDB would refuse for its size, or text the SQL
/// backends refuse (a NUL), before it is sent: the rule is the same in
/// every backend, and DynamoDB's `ValidationException` never reaches a
/// caller as a fault of ours.
pub(crate) fn storable(item: &Item) -> StoreResult<()> {
    if size(item) > MAX_ITEM_BYTES {
        return Err(StoreError::Unstorable(
            "a value larger than a DynamoDB item holds",
        ));
    }
    let nul = item
        .values()
        .any(|v| matches!(v, AttributeValue::S(s) if s.contains('\0')));
    if nul {
        return Err(StoreError::Unstorable("text with a NUL character"));
    }
    Ok(())
}
