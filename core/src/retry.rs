//! The retry schedule of the outboxes (replies to the networks, webhooks to receivers): a
//! number of tries, and a wait that doubles from a base up to a cap.

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
        let exp = u32::try_from(attempts.clamp(1, 31) - 1).unwrap_or(0);
        Ord::min(self.base.saturating_mul(1 << exp), self.cap)
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
}
