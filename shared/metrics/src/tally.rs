//! An in-process recorder for the [`metrics`] facade: counters and histograms by name (labels
//! are not used by this codebase and are ignored), read as a [`Snapshot`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, LocalRecorderGuard, Metadata,
    Recorder, SharedString, Unit,
};
use serde::Serialize;

use crate::names::{Kind, Name};

/// What a histogram keeps besides its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Only the running summary (a long-lived process: `chat-local`).
    Summary,
    /// Also every value since the last [`Tally::take`] (a Lambda, drained per invocation).
    Values,
}

/// The recorder. One per process, installed by [`install`].
#[derive(Debug)]
pub struct Tally {
    keep: Keep,
    counters: Mutex<BTreeMap<String, Arc<CounterCell>>>,
    histograms: Mutex<BTreeMap<String, Arc<HistogramCell>>>,
}

#[derive(Debug, Default)]
struct CounterCell(AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct HistogramCell {
    keep: Keep,
    state: Mutex<HistogramState>,
}

#[derive(Debug, Default)]
struct HistogramState {
    summary: Summary,
    values: Vec<f64>,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.summary.add(value);
        if self.keep == Keep::Values {
            state.values.push(value);
        }
    }
}

/// A histogram's running summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    fn add(&mut self, value: f64) {
        if self.count == 0 || value < self.min {
            self.min = value;
        }
        if self.count == 0 || value > self.max {
            self.max = value;
        }
        self.count += 1;
        self.sum += value;
    }
}

/// Counters and histograms at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub counters: BTreeMap<String, u64>,
    pub histograms: BTreeMap<String, Summary>,
    /// With [`Keep::Values`], each histogram's values since the last take.
    #[serde(skip)]
    pub values: BTreeMap<String, Vec<f64>>,
}

impl Snapshot {
    /// Whether nothing was counted or recorded.
    pub fn is_empty(&self) -> bool {
        self.counters.values().all(|&n| n == 0) && self.histograms.values().all(|h| h.count == 0)
    }

    /// A counter's value (0 when never counted).
    pub fn counter(&self, name: Name) -> u64 {
        self.counters.get(name.name).copied().unwrap_or(0)
    }
}

impl Tally {
    pub fn new(keep: Keep) -> Tally {
        Tally {
            keep,
            counters: Mutex::new(BTreeMap::new()),
            histograms: Mutex::new(BTreeMap::new()),
        }
    }

    /// Everything so far, every metric of [`crate::names::ALL`] included (at zero if unseen).
    pub fn snapshot(&self) -> Snapshot {
        self.read(false)
    }

    /// Everything since the last take, and starts again from zero.
    pub fn take(&self) -> Snapshot {
        self.read(true)
    }

    fn read(&self, reset: bool) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for name in crate::names::ALL {
            match name.kind {
                Kind::Counter => snapshot.counters.insert(name.name.to_string(), 0),
                Kind::Histogram => None,
            };
        }
        for (name, cell) in lock(&self.counters).iter() {
            let value = if reset {
                cell.0.swap(0, Ordering::Relaxed)
            } else {
                cell.0.load(Ordering::Relaxed)
            };
            snapshot.counters.insert(name.clone(), value);
        }
        for name in crate::names::ALL {
            if name.kind == Kind::Histogram {
                snapshot
                    .histograms
                    .insert(name.name.to_string(), Summary::default());
            }
        }
        for (name, cell) in lock(&self.histograms).iter() {
            let mut state = cell.state.lock().unwrap_or_else(PoisonError::into_inner);
            snapshot.histograms.insert(name.clone(), state.summary);
            if !state.values.is_empty() {
                snapshot.values.insert(name.clone(), state.values.clone());
            }
            if reset {
                *state = HistogramState::default();
            }
        }
        snapshot
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a map half-changed: recover it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process's tally as the facade's recorder.
struct Installed(&'static Tally);

impl Recorder for Installed {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    // The facade registers on every `counter!` call (a fan-out to 10,000 members counts
    // 10,000 posts): a lookup by `&str` first, so that only a metric's first count allocates.
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = lock(&self.0.counters);
        let cell = match counters.get(key.name()) {
            Some(cell) => cell.clone(),
            None => {
                let cell = Arc::new(CounterCell::default());
                counters.insert(key.name().to_string(), cell.clone());
                cell
            }
        };
        Counter::from_arc(cell)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        // No gauges here: a Lambda has no long-lived state worth one.
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = lock(&self.0.histograms);
        let cell = match histograms.get(key.name()) {
            Some(cell) => cell.clone(),
            None => {
                let cell = Arc::new(HistogramCell {
                    keep: self.0.keep,
                    state: Mutex::new(HistogramState::default()),
                });
                histograms.insert(key.name().to_string(), cell.clone());
                cell
            }
        };
        Histogram::from_arc(cell)
    }
}

static INSTALLED: OnceLock<&'static Tally> = OnceLock::new();

/// The process's tally, installed as the global recorder on first call (later calls return the
/// same one, whatever `keep` they ask for: one process, one set of numbers).
pub fn install(keep: Keep) -> &'static Tally {
    INSTALLED.get_or_init(|| {
        let tally: &'static Tally = Box::leak(Box::new(Tally::new(keep)));
        // Only this function sets a recorder, once: an error would mean someone else did, and
        // then this tally simply stays empty.
        let _ = metrics::set_global_recorder(Installed(tally));
        tally
    })
}

/// A tally for this thread only, while the guard lives (tests: a `current_thread` runtime runs
/// a whole async test on one thread, so it counts exactly what that test did, whatever other
/// tests run beside it).
pub fn for_this_thread(keep: Keep) -> (&'static Tally, LocalRecorderGuard<'static>) {
    let tally: &'static Tally = Box::leak(Box::new(Tally::new(keep)));
    let recorder: &'static Installed = Box::leak(Box::new(Installed(tally)));
    (tally, metrics::set_default_local_recorder(recorder))
}

/// Counts `n` events of `name`.
pub fn count(name: Name, n: u64) {
    metrics::counter!(name.name).increment(n);
}

/// Records one value of the histogram `name`.
pub fn record(name: Name, value: f64) {
    metrics::histogram!(name.name).record(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{FANOUT_MS, MESSAGES_STORED, POSTS};

    #[test]
    fn counts_and_records_through_the_facade_and_take_starts_again() {
        let tally: &'static Tally = Box::leak(Box::new(Tally::new(Keep::Values)));
        metrics::with_local_recorder(&Installed(tally), || {
            count(POSTS, 2);
            count(POSTS, 1);
            record(FANOUT_MS, 4.0);
            record(FANOUT_MS, 2.0);
        });
        let first = tally.take();
        assert_eq!(first.counter(POSTS), 3);
        assert_eq!(
            first.counter(MESSAGES_STORED),
            0,
            "every known counter is listed"
        );
        let summary = first.histograms[FANOUT_MS.name];
        assert_eq!(
            (summary.count, summary.sum, summary.min, summary.max),
            (2, 6.0, 2.0, 4.0)
        );
        assert_eq!(first.values[FANOUT_MS.name], vec![4.0, 2.0]);
        let second = tally.take();
        assert!(second.is_empty());
        assert!(second.values.is_empty());
    }

    #[test]
    fn a_cumulative_tally_keeps_no_values() {
        let tally: &'static Tally = Box::leak(Box::new(Tally::new(Keep::Summary)));
        metrics::with_local_recorder(&Installed(tally), || record(FANOUT_MS, 1.0));
        let snapshot = tally.snapshot();
        assert_eq!(snapshot.histograms[FANOUT_MS.name].count, 1);
        assert!(snapshot.values.is_empty());
        assert_eq!(tally.snapshot(), snapshot, "a snapshot resets nothing");
    }
}
