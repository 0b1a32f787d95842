//! The password-hashing pool: a fixed number of worker threads fed by a
//! bounded queue. Every password check and hash (login, the password grant,
//! register, the compat logins, the dummy check for unknown users, legacy
//! hashes) runs here, never on an unbounded `spawn_blocking`.
//!
//! Why: one argon2id check at the OWASP cost holds 19 MiB and ~40 ms of a
//! core. On tokio's blocking pool (up to 512 threads) a few hundred
//! concurrent logins meant gigabytes of memory that the allocator's
//! per-thread arenas then kept. Here the memory is bounded by
//! `workers × argon2 memory`: each worker owns its working memory (see
//! [`super::password`]) and lets it go after a short idle spell, and work
//! that cannot start soon is refused at once with [`Error::Overloaded`]
//! (503 with `Retry-After`) instead of waiting until the client times out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Sizes of the pool, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSettings {
    /// Worker threads; `0` means one per core. More workers than cores only
    /// add memory: argon2 is CPU-bound.
    pub workers: usize,
    /// Jobs that may wait for a worker; one more is refused at once.
    pub queue: usize,
    /// A job that has waited longer than this when a worker reaches it is
    /// refused instead of run: its client is better told to retry than
    /// kept waiting.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
    /// A worker idle this long gives its working memory back.
    #[serde(with = "humantime_serde")]
    pub idle_release: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 32,
            max_wait: Duration::from_secs(1),
            idle_release: Duration::from_secs(1),
        }
    }
}

impl PoolSettings {
    /// The worker count with `0` resolved to the number of cores.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// The seconds a refused client is told to wait (`Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        self.max_wait.as_secs().max(1)
    }
}

type Work = Box<dyn FnOnce() + Send>;

struct Job {
    enqueued: Instant,
    /// Runs the caller's closure and sends the result back.
    work: Work,
    /// Whether the caller still waits for the answer; a job whose client
    /// went away is dropped rather than run.
    wanted: Box<dyn Fn() -> bool + Send>,
}

/// Counters, for tests and metrics.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Jobs running right now.
    pub busy: AtomicUsize,
    /// Jobs refused because the queue was full or they waited too long.
    pub shed: AtomicUsize,
    /// Jobs run to completion.
    pub done: AtomicUsize,
}

/// The pool. Cheap to share behind an `Arc`; the workers stop when the
/// last handle is dropped (their queue disconnects).
pub struct HashingPool {
    sender: SyncSender<Job>,
    settings: PoolSettings,
    stats: Arc<PoolStats>,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("settings", &self.settings)
            .field("stats", &self.stats)
            .finish()
    }
}

impl HashingPool {
    /// Starts the workers. `on_idle` runs on a worker thread after it has
    /// had nothing to do for `idle_release`: it frees that thread's
    /// working memory.
    pub fn start(settings: PoolSettings, on_idle: fn()) -> Result<Self> {
        let workers = settings.worker_count();
        let (sender, receiver) = sync_channel::<Job>(settings.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let stats = Arc::new(PoolStats::default());
        for n in 0..workers {
            let receiver = receiver.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-hash-{n}"))
                .spawn(move || work(&receiver, &stats, settings, on_idle))
                .map_err(|e| Error::Internal(format!("cannot start a hashing worker: {e}")))?;
        }
        Ok(Self {
            sender,
            settings,
            stats,
        })
    }

    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Runs `f` on a worker and waits for its result, or answers
    /// [`Error::Overloaded`] at once when the queue is full, and as soon as
    /// a worker finds the job waited longer than `max_wait`.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let watcher = WantedWatch::new();
        let wanted = watcher.clone();
        let job = Job {
            enqueued: Instant::now(),
            work: Box::new(move || {
                let _ = tx.send(f());
            }),
            wanted: Box::new(move || wanted.is_wanted()),
        };
        let overloaded = || Error::Overloaded {
            retry_after_secs: self.settings.retry_after_secs(),
        };
        match self.sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.shed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("password hashing queue full; request shed with 503");
                return Err(overloaded());
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::Internal("the hashing workers have stopped".into()));
            }
        }
        // Dropped before the answer (the client went away): the worker
        // sees it and skips the job.
        let _guard = watcher;
        // A dropped sender means the worker refused the job as too old.
        rx.await.map_err(|_| overloaded())
    }
}

/// Tells a worker whether the caller of a queued job still waits.
#[derive(Clone)]
struct WantedWatch(Arc<()>);

impl WantedWatch {
    fn new() -> Self {
        Self(Arc::new(()))
    }

    /// The caller holds one handle and the job another: when the caller's
    /// is gone, nobody will read the answer.
    fn is_wanted(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}

fn work(receiver: &Mutex<Receiver<Job>>, stats: &PoolStats, settings: PoolSettings, on_idle: fn()) {
    let mut holding_memory = false;
    loop {
        // Idle workers wait on the lock; the one holding it waits for a job,
        // but never longer than `idle_release`: a worker blocked on the lock
        // must get its turn to notice it is idle and free its memory.
        let next = {
            let Ok(rx) = receiver.lock() else { return };
            rx.recv_timeout(settings.idle_release)
        };
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if holding_memory {
                    on_idle();
                    holding_memory = false;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if job.enqueued.elapsed() > settings.max_wait {
            stats.shed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                waited_ms = job.enqueued.elapsed().as_millis() as u64,
                "password check waited too long for a worker; request shed with 503"
            );
            continue;
        }
        if !(job.wanted)() {
            continue;
        }
        stats.busy.fetch_add(1, Ordering::Relaxed);
        (job.work)();
        stats.busy.fetch_sub(1, Ordering::Relaxed);
        stats.done.fetch_add(1, Ordering::Relaxed);
        holding_memory = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(workers: usize, queue: usize, max_wait_ms: u64) -> HashingPool {
        HashingPool::start(
            PoolSettings {
                workers,
                queue,
                max_wait: Duration::from_millis(max_wait_ms),
                idle_release: Duration::from_millis(50),
            },
            || {},
        )
        .unwrap()
    }

    #[tokio::test]
    async fn runs_work_and_returns_its_result() {
        let p = pool(2, 4, 1000);
        assert_eq!(p.run(|| 40 + 2).await.unwrap(), 42);
        assert_eq!(p.stats().done.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_sheds_at_once() {
        let p = Arc::new(pool(1, 1, 10_000));
        let slow = || std::thread::sleep(Duration::from_millis(300));
        // One running, one queued: the third is refused without waiting.
        let a = tokio::spawn({
            let p = p.clone();
            async move { p.run(slow).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let b = tokio::spawn({
            let p = p.clone();
            async move { p.run(slow).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let c = p.run(slow).await;
        assert!(matches!(c, Err(Error::Overloaded { .. })), "{c:?}");
        // Refused, not refused after waiting: well inside max_wait (10 s).
        // Not a speed bound, so a loaded runner cannot fail it.
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(a.await.unwrap().is_ok());
        assert!(b.await.unwrap().is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_that_waited_too_long_is_refused_not_run() {
        let p = Arc::new(pool(1, 8, 100));
        let ran = Arc::new(AtomicUsize::new(0));
        let first = tokio::spawn({
            let p = p.clone();
            async move {
                p.run(|| std::thread::sleep(Duration::from_millis(300)))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let counter = ran.clone();
        let late = p
            .run(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .await;
        assert!(matches!(late, Err(Error::Overloaded { .. })), "{late:?}");
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert!(first.await.unwrap().is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_workers_release_their_memory() {
        static RELEASED: AtomicUsize = AtomicUsize::new(0);
        let p = HashingPool::start(
            PoolSettings {
                workers: 1,
                queue: 4,
                max_wait: Duration::from_secs(1),
                idle_release: Duration::from_millis(30),
            },
            || {
                RELEASED.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        p.run(|| ()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Once after the job, not again while it stays idle.
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
    }
}
