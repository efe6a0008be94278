//! Retry schedules, one rule for all: a wait that doubles from a base up to a cap. [`Retry`] is
//! the outboxes' (replies to the networks, webhooks to receivers; the attempt count is stored
//! with the item), [`Backoff`] the in-memory loops' that retry until they succeed (publishing
//! to and tailing the shared log).

use std::time::Duration;

/// How many tries, and how long between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries before the item is marked failed.
    pub max_attempts: i32,
    /// Wait before the first retry.
    pub base: Duration,
    /// Longest wait.
    pub cap: Duration,
}

impl Retry {
    /// From settings' attempts and base wait in milliseconds.
    pub fn new(max_attempts: u32, base_ms: u64, cap: Duration) -> Self {
        Self {
            max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
            base: Duration::from_millis(base_ms),
            cap,
        }
    }

    /// Wait before attempt `n + 1` after `n` failed ones: base, 2 × base, 4 × base, … ≤ cap.
    pub fn backoff(&self, attempts: i32) -> Duration {
        doubled(self.base, attempts, self.cap)
    }
}

fn doubled(base: Duration, attempts: i32, cap: Duration) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 31) - 1).unwrap_or(0);
    Ord::min(base.saturating_mul(1 << exp), cap)
}

/// The wait of a loop that retries until it succeeds: [`Backoff::wait`] after each failure
/// (base, 2 × base, … ≤ cap), [`Backoff::reset`] after a success.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: i32,
}

impl Backoff {
    /// A schedule from `base` up to `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, failures: 0 }
    }

    /// The wait due after one more failure.
    pub fn next_wait(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        doubled(self.base, self.failures, self.cap)
    }

    /// Sleeps the wait due after one more failure.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_wait()).await;
    }

    /// Back to the base wait (the loop succeeded).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_its_base_and_is_capped() {
        let retry = Retry::new(5, 1000, Duration::from_secs(60));
        let waits: Vec<u64> = (1..=8).map(|n| retry.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        let fast = Retry::new(5, 20, Duration::from_secs(3600));
        assert_eq!(fast.backoff(3), Duration::from_millis(80));
        assert_eq!(fast.backoff(i32::MAX), Duration::from_secs(3600));
        assert_eq!(Retry::new(u32::MAX, 1, Duration::ZERO).max_attempts, i32::MAX);
    }

    #[test]
    fn a_loops_backoff_doubles_to_its_cap_and_starts_over_after_a_success() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_millis(300));
        let waits: Vec<u128> = (0..5).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, vec![50, 100, 200, 300, 300]);
        b.reset();
        assert_eq!(b.next_wait(), Duration::from_millis(50));
    }
}
