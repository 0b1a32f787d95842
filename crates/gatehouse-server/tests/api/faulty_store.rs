//! A store that counts calls and can be switched off, to prove which
//! requests touch the database and how the server behaves without it. The
//! forwarding itself is core's generated `PassThrough`; this file holds
//! only the faults.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gatehouse_core::store::{Hook, PassThrough, Store, StoreError, StoreResult};

pub type FaultyStore = PassThrough<Faults>;

#[derive(Default)]
pub struct Faults {
    pub down: AtomicBool,
    pub calls: AtomicUsize,
    by_method: Mutex<HashMap<&'static str, usize>>,
}

impl Hook for Faults {
    fn before(&self, method: &'static str) -> StoreResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.by_method.lock().unwrap().entry(method).or_default() += 1;
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("switched off by the test".into()))
        } else {
            Ok(())
        }
    }
}

pub fn faulty(inner: Arc<dyn Store>) -> FaultyStore {
    PassThrough::new(inner, Faults::default())
}

impl Faults {
    /// Calls of any method so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Calls of one port method (`"session"`) so far.
    pub fn calls_to(&self, method: &str) -> usize {
        self.by_method
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(0)
    }
}
