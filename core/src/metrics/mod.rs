//! Metrics: the figures supervisors and wallboards watch. `facts` says what each event does to
//! the counters, `tally` keeps the hourly aggregates, `live` is what the floor looks like now,
//! `history` reads the aggregates back by hour or day, `wallboard` pushes the live figures.

pub mod facts;
pub mod floor;
pub mod handling;
pub mod history;
pub mod live;
pub mod tally;
pub mod wallboard;

use serde::Deserialize;
/// The median of the values (sorted here): the middle one, or the mean of the two middle ones.
pub fn median(values: &mut [i64]) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2] as f64),
        _ => Some((values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_median_is_the_middle_or_the_mean_of_the_two_middle_values() {
        assert_eq!(super::median(&mut []), None);
        assert_eq!(super::median(&mut [7]), Some(7.0));
        assert_eq!(super::median(&mut [30, 10, 20]), Some(20.0));
        assert_eq!(super::median(&mut [40, 10, 30, 20]), Some(25.0));
        assert_eq!(super::median(&mut [1, 2]), Some(1.5));
    }
}

/// Metrics: handling time and the pushed wallboard.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Handling time stops this long after an agent's last activity on a conversation.
    pub handling_idle_secs: u64,
    /// How often each node looks whether the wallboard figures changed (at most one push per
    /// interval, none when nothing changed).
    pub wallboard_interval_ms: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { handling_idle_secs: 60, wallboard_interval_ms: 500 }
    }
}
