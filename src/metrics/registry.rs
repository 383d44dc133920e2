//! The recording side: a [`Registry`] shared by every worker, which gives each OS thread its
//! own shard (one [`Tally`] per row behind the thread's own mutex) on first use. The hot path
//! takes no shared lock and sends no message; only the collector's once-a-second swap ever
//! contends a shard's mutex, for the time of a pointer swap.

use super::sample::{Event, RowKey, Sample};
use super::tally::{Interval, Tally};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

/// Source of registry ids, so a thread's shard list can tell registries apart (several live
/// in one process in tests, and a thread may outlive a registry).
static NEXT_REGISTRY_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's shards, one per registry it has recorded into. Weak: the registry owns
    /// the shards, so dropping a registry frees them even while the thread lives on.
    static LOCAL_SHARDS: RefCell<Vec<LocalShard>> = const { RefCell::new(Vec::new()) };
}

/// One thread's handle on its shard of one registry.
struct LocalShard {
    registry: u64,
    shard: Weak<Shard>,
}

impl Drop for LocalShard {
    /// Runs when the thread exits: marks the shard so the collector drains it one last time
    /// and then forgets it, so short-lived threads (a blocking pool) do not pile up shards.
    fn drop(&mut self) {
        if let Some(shard) = self.shard.upgrade() {
            shard.retired.store(true, Ordering::Release);
        }
    }
}

/// One thread's recording state: a tally per row.
#[derive(Debug)]
pub(crate) struct Shard {
    /// Locked by the owning thread per sample and by the collector once per tick to swap the
    /// rows out. A plain `Vec` so the swap moves three words, not the histograms.
    pub(crate) rows: Mutex<Vec<Interval>>,
    /// The owning thread has exited: after the next drain the shard holds nothing more.
    pub(crate) retired: AtomicBool,
}

impl Shard {
    fn new(rows: usize) -> Self {
        Self {
            rows: Mutex::new(new_rows(rows)),
            retired: AtomicBool::new(false),
        }
    }

    /// Locks the rows. A panic while holding the lock leaves at worst one sample half
    /// counted, which is better than losing the whole run's numbers, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<Interval>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One empty tally per row.
pub(crate) fn new_rows<C: hdrhistogram::Counter>(rows: usize) -> Vec<Tally<C>> {
    (0..rows).map(|_| Tally::new()).collect()
}

/// Where workers record. Share it as an `Arc<Registry>`; each OS thread that records gets
/// its own shard (a histogram per row, about 184 KiB each), so memory grows with threads and
/// rows, never with users.
#[derive(Debug)]
pub(crate) struct Registry {
    id: u64,
    rows: Vec<RowKey>,
    started: Instant,
    /// Every live thread's shard. Locked when a thread records for the first time and when
    /// the collector takes its per-tick snapshot, never per sample.
    shards: Mutex<Vec<Arc<Shard>>>,
    /// For a thread whose thread-locals are gone (recording from a thread-local destructor):
    /// shared, so contended, but such samples are rare and still counted.
    fallback: OnceLock<Arc<Shard>>,
    dropped: AtomicU64,
    users: AtomicU64,
    /// The open model's planned rate as `f64` bits; [`NO_RATE`] under the closed model.
    rate: AtomicU64,
}

/// A NaN's bits, which no planned rate has.
const NO_RATE: u64 = u64::MAX;

impl Registry {
    /// A registry for these rows; a [`Sample::row`] is an index into `rows`. The registry's
    /// creation is time zero for failure messages' first and last seen times.
    pub(crate) fn new(rows: Vec<RowKey>) -> Self {
        Self {
            id: NEXT_REGISTRY_ID.fetch_add(1, Ordering::Relaxed),
            rows,
            started: Instant::now(),
            shards: Mutex::new(Vec::new()),
            fallback: OnceLock::new(),
            dropped: AtomicU64::new(0),
            users: AtomicU64::new(0),
            rate: AtomicU64::new(NO_RATE),
        }
    }

    /// The rows, in index order.
    pub(crate) fn rows(&self) -> &[RowKey] {
        &self.rows
    }

    /// Records one sample into the calling thread's shard. A sample whose row is out of range
    /// is an engine bug: it panics in debug builds and is ignored in release builds.
    pub(crate) fn record(&self, sample: &Sample<'_>) {
        debug_assert!(
            sample.row < self.rows.len(),
            "sample row {} out of range ({} rows)",
            sample.row,
            self.rows.len()
        );
        // Only failures need the clock (for first/last seen).
        let at = match sample.failure {
            Some(_) => self.started.elapsed(),
            None => Duration::ZERO,
        };
        let shard = self.local_shard();
        let mut rows = shard.lock();
        if let Some(tally) = rows.get_mut(sample.row) {
            tally.record(sample, at);
        }
    }

    /// Counts an event of a row in the calling thread's shard.
    pub(crate) fn count(&self, row: usize, event: Event) {
        let shard = self.local_shard();
        let mut rows = shard.lock();
        if let Some(tally) = rows.get_mut(row) {
            tally.count(event);
        }
    }

    /// Counts open-model iterations that were due but not started (no free user).
    pub(crate) fn record_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the live users gauge.
    pub(crate) fn set_users(&self, n: u64) {
        self.users.store(n, Ordering::Relaxed);
    }

    /// Sets the open model's planned rate (per second) now; `None` under the closed model.
    pub(crate) fn set_rate(&self, rate: Option<f64>) {
        self.rate
            .store(rate.map_or(NO_RATE, f64::to_bits), Ordering::Relaxed);
    }

    /// The open model's planned rate, as last set.
    pub(crate) fn rate(&self) -> Option<f64> {
        Some(self.rate.load(Ordering::Relaxed))
            .filter(|&bits| bits != NO_RATE)
            .map(f64::from_bits)
    }

    /// Dropped iterations so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The live users gauge.
    pub(crate) fn users(&self) -> u64 {
        self.users.load(Ordering::Relaxed)
    }

    /// The live shards, for the collector; a cheap clone so no lock is held while merging.
    pub(crate) fn shards(&self) -> Vec<Arc<Shard>> {
        self.lock_shards().clone()
    }

    /// Forgets shards the collector has drained after their thread exited.
    pub(crate) fn remove_shards(&self, drained: &[Arc<Shard>]) {
        self.lock_shards()
            .retain(|shard| !drained.iter().any(|d| Arc::ptr_eq(d, shard)));
    }

    fn lock_shards(&self) -> MutexGuard<'_, Vec<Arc<Shard>>> {
        // The list is only pushed to and filtered, so it is consistent even after a panic.
        self.shards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The calling thread's shard, created and registered on the thread's first sample.
    fn local_shard(&self) -> Arc<Shard> {
        let local = LOCAL_SHARDS.try_with(|cell| {
            let mut list = cell.try_borrow_mut().ok()?;
            if let Some(shard) = list
                .iter()
                .find(|l| l.registry == self.id)
                .and_then(|l| l.shard.upgrade())
            {
                return Some(shard);
            }
            // First sample of this thread here: forget shards of registries that are gone
            // (and a stale entry of this one, if any), then register a new shard.
            list.retain(|l| l.registry != self.id && l.shard.strong_count() > 0);
            let shard = self.register();
            list.push(LocalShard {
                registry: self.id,
                shard: Arc::downgrade(&shard),
            });
            Some(shard)
        });
        match local {
            Ok(Some(shard)) => shard,
            _ => Arc::clone(self.fallback.get_or_init(|| self.register())),
        }
    }

    fn register(&self) -> Arc<Shard> {
        let shard = Arc::new(Shard::new(self.rows.len()));
        self.lock_shards().push(Arc::clone(&shard));
        shard
    }
}
