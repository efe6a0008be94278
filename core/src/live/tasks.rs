//! The node's background tasks (the ingest writer, the event publisher and tail, the reply and
//! webhook senders, the housekeeping passes), supervised: a task that panics or ends while the
//! node runs is logged, counted (`chorus_task_failures_total{task}`) and restarted after a pause
//! that grows while it keeps failing. A node whose task is down, or keeps failing, says so on
//! `/readyz`, so a load balancer moves traffic away instead of the node serving half-working.

use std::collections::{BTreeMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use prometheus::IntCounterVec;
use tokio_util::sync::CancellationToken;

/// Failures within this window that make a task count as failing.
const FAILING_WINDOW: Duration = Duration::from_secs(300);
/// How many failures in the window make it failing (one is a blip, restarted and fine).
const FAILING_AFTER: usize = 3;
/// The first pause before a restart, doubled per failure in the window, at most [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// How a supervised task's future ended without panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Its work is over: its input closed (the node is being dropped) or the node stops.
    Done,
    /// It stopped although the node runs on: a failure, restarted.
    Early,
}

#[derive(Debug, Default)]
struct Health {
    failures: VecDeque<Instant>,
    down: bool,
    last: String,
}

/// The node's supervised tasks (cheap to clone).
#[derive(Clone, Default)]
pub struct Tasks {
    health: Arc<Mutex<BTreeMap<&'static str, Health>>>,
    failures: Option<IntCounterVec>,
}

impl Tasks {
    /// Counting failures in `failures` (labelled `task`).
    pub fn new(failures: IntCounterVec) -> Self {
        Self { health: Arc::default(), failures: Some(failures) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Health>> {
        // Every update is a single field write: a poisoned map is still consistent.
        self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs the future `make` builds until the node stops (`stop` is cancelled) or the future
    /// says its work is [`Ended::Done`]; when it panics or ends [`Ended::Early`], logs why,
    /// counts it, waits, and runs a new one. State a task must
    /// keep across restarts (a channel's receiving end) lives outside the future, shared.
    pub fn spawn<F, Fut>(&self, name: &'static str, stop: CancellationToken, mut make: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Ended> + Send + 'static,
    {
        let tasks = self.clone();
        tasks.lock().entry(name).or_default();
        tokio::spawn(async move {
            loop {
                let outcome = AssertUnwindSafe(make()).catch_unwind().await;
                if stop.is_cancelled() {
                    return;
                }
                let why = match outcome {
                    Ok(Ended::Done) => return,
                    Ok(Ended::Early) => "it returned while the node runs".to_owned(),
                    Err(panic) => panic_message(panic.as_ref()),
                };
                let pause = tasks.failed(name, &why);
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => return,
                }
                tasks.lock().entry(name).or_default().down = false;
                tracing::warn!(task = name, "background task restarted");
            }
        });
    }

    /// Records a failure; answers how long to wait before restarting.
    pub fn failed(&self, name: &'static str, why: &str) -> Duration {
        tracing::error!(task = name, why, "background task failed");
        if let Some(c) = &self.failures {
            c.with_label_values(&[name]).inc();
        }
        let mut all = self.lock();
        let h = all.entry(name).or_default();
        let now = Instant::now();
        h.failures.push_back(now);
        while h.failures.front().is_some_and(|t| now.duration_since(*t) > FAILING_WINDOW) {
            h.failures.pop_front();
        }
        h.down = true;
        h.last = why.to_owned();
        let doublings = u32::try_from(h.failures.len().saturating_sub(1)).unwrap_or(u32::MAX).min(8);
        (FIRST_PAUSE * 2u32.saturating_pow(doublings)).min(MAX_PAUSE)
    }

    /// A task that failed and carries on by itself (a periodic pass that panicked: the next
    /// tick runs anew): counted, and failing when it keeps doing so.
    pub fn failed_once(&self, name: &'static str, why: &str) {
        self.failed(name, why);
        self.lock().entry(name).or_default().down = false;
    }

    /// The tasks that are down now or failed [`FAILING_AFTER`] times lately, with why.
    pub fn unhealthy(&self) -> Vec<(&'static str, String)> {
        let now = Instant::now();
        self.lock()
            .iter()
            .filter(|(_, h)| {
                h.down
                    || h.failures.iter().filter(|t| now.duration_since(**t) <= FAILING_WINDOW).count() >= FAILING_AFTER
            })
            .map(|(name, h)| (*name, h.last.clone()))
            .collect()
    }
}

/// What a panic said.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .map_or_else(|| "panicked".to_owned(), |m| format!("panicked: {m}"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_is_restarted_and_reported_until_it_settles() {
        let tasks = Tasks::default();
        let stop = CancellationToken::new();
        let stop_tx = stop.clone();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        tasks.spawn("flaky", stop, move || {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    panic!("run {n} broke");
                }
                std::future::pending::<Ended>().await
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 4 {
            assert!(Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unhealthy = tasks.unhealthy();
        assert_eq!(unhealthy.len(), 1, "three failures in a row: failing");
        assert!(unhealthy[0].1.contains("run 2 broke"), "{unhealthy:?}");
        stop_tx.cancel();
    }

    #[tokio::test]
    async fn one_failure_is_a_blip_once_restarted() {
        let tasks = Tasks::default();
        tasks.failed_once("sweep", "panicked: once");
        assert!(tasks.unhealthy().is_empty());
        tasks.failed("writer", "panicked: down");
        assert_eq!(tasks.unhealthy().len(), 1, "down until restarted");
    }
}
