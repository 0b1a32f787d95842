//! A bounded map whose entries expire: the one shape behind the tenant
//! negative cache, the API-key cache and the Basic-check cache.
//!
//! Entries older than `ttl` are never returned. When the map is full, the
//! expired entries are dropped, and if it is still full the oldest one
//! goes, so memory stays within `max_entries` whatever the traffic. A zero
//! `ttl` turns the map off (nothing is kept). A poisoned lock only loses
//! caching, never an answer.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct TtlMap<K, V> {
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash + Clone, V> TtlMap<K, V> {
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on the fresh entry of `key`, if there is one.
    pub(crate) fn with_fresh<R>(&self, key: &K, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get_mut(key) {
            Some((value, at)) if at.elapsed() < self.ttl => Some(f(value)),
            _ => None,
        }
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= self.max_entries
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    pub(crate) fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    /// Drops every entry for which `drop` says so.
    pub(crate) fn remove_where(&self, drop: impl Fn(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|k, (v, _)| !drop(k, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_maps_forget_the_oldest_and_expired_entries_are_not_returned() {
        let map = TtlMap::new(Duration::from_secs(60), 2);
        map.insert("a", 1);
        map.insert("b", 2);
        map.insert("c", 3);
        assert_eq!(map.with_fresh(&"a", |v| *v), None, "the oldest went");
        assert_eq!(map.with_fresh(&"c", |v| *v), Some(3));
        map.remove_where(|k, _| *k == "b");
        assert_eq!(map.with_fresh(&"b", |v| *v), None);

        let off = TtlMap::new(Duration::ZERO, 2);
        off.insert("a", 1);
        assert_eq!(off.with_fresh(&"a", |v| *v), None);
    }
}
