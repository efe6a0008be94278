//! Backtesting: does the forecast beat "the same hour last week"? The last `holdout` hours of a
//! history are hidden, forecast from what came before, and both the forecast and the seasonal
//! naive baseline are scored on them. `chorus forecast --backtest` prints the result for the
//! store's history (or for generated history); CI runs it on generated history with a known
//! weekly pattern, which the forecast must beat.

use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use serde::Serialize;

use super::model::{self, Band, DAY, Method, WEEK};

/// How well one method did on the held-out hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// Mean absolute percentage error, in percent, over the hours with an actual count above
    /// zero (a percentage of zero is undefined); `None` when every hour was zero.
    pub mape: Option<f64>,
    /// Mean absolute error, in conversations per hour, over every hour.
    pub mae: f64,
    /// Share of hours whose actual count fell inside the prediction interval.
    pub coverage: f64,
}

/// A backtest's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Hours the forecast was fitted on.
    pub trained_hours: usize,
    /// Hours held out and scored.
    pub held_out_hours: usize,
    /// The interval's nominal level.
    pub level: f64,
    /// How the forecast was made.
    pub method: Method,
    /// The forecast's score.
    pub forecast: Score,
    /// The baseline's: each hour predicted by the same hour one week earlier.
    pub seasonal_naive: Score,
}

impl Backtest {
    /// Whether the forecast's MAPE is below the baseline's (with MAE when MAPE is undefined).
    pub fn beats_seasonal_naive(&self) -> bool {
        match (self.forecast.mape, self.seasonal_naive.mape) {
            (Some(f), Some(n)) => f < n,
            _ => self.forecast.mae < self.seasonal_naive.mae,
        }
    }
}

fn score(actual: &[f64], band: &Band) -> Score {
    let n = actual.len().max(1) as f64;
    let mut mae = 0.0;
    let (mut ape, mut counted, mut inside) = (0.0, 0usize, 0usize);
    for (i, a) in actual.iter().enumerate() {
        let err = (a - band.point[i]).abs();
        mae += err;
        if *a > 0.0 {
            ape += err / a;
            counted += 1;
        }
        if band.lower[i] <= *a && *a <= band.upper[i] {
            inside += 1;
        }
    }
    Score { mape: (counted > 0).then(|| 100.0 * ape / counted as f64), mae: mae / n, coverage: inside as f64 / n }
}

/// Hides the last `holdout` hours of `series`, forecasts them from the rest at `level`, and
/// scores the forecast and the seasonal naive baseline. `None` when the history before the
/// held-out hours is shorter than a week (the baseline needs one) or nothing is held out.
pub fn backtest(series: &[f64], holdout: usize, level: f64) -> Option<Backtest> {
    if holdout == 0 || series.len() < holdout + WEEK {
        return None;
    }
    let (train, test) = series.split_at(series.len() - holdout);
    let band = model::forecast(train, holdout, level);
    if band.is_empty() {
        return None;
    }
    let naive = model::seasonal_naive(train, WEEK, holdout, level);
    Some(Backtest {
        trained_hours: train.len(),
        held_out_hours: holdout,
        level,
        method: band.method,
        forecast: score(test, &band),
        seasonal_naive: score(test, &naive),
    })
}

/// Generated hourly history with a known pattern, for the backtest in CI and for trying the
/// forecast without real history: a working-day curve (quiet nights, a morning rise, a lunch
/// dip, an evening peak on social), weekends at 55 %, a slow upward trend of 1 % a week, and
/// Poisson counts around that (what independent customers writing produce). The same `seed`
/// gives the same history.
pub fn synthetic(weeks: usize, mean_per_hour: f64, seed: u64) -> Vec<f64> {
    const CURVE: [f64; DAY] = [
        0.25, 0.18, 0.14, 0.12, 0.14, 0.25, 0.5, 0.9, 1.3, 1.55, 1.6, 1.55, 1.35, 1.45, 1.5, 1.45, 1.4, 1.45, 1.6, 1.7,
        1.55, 1.2, 0.8, 0.45,
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..weeks * WEEK)
        .map(|t| {
            let weekday = (t / DAY) % 7;
            let week_shape = if weekday < 5 { 1.0 } else { 0.55 };
            let trend = 1.0 + 0.01 * t as f64 / WEEK as f64;
            let mean = mean_per_hour * CURVE[t % DAY] * week_shape * trend;
            Poisson::new(mean.max(1e-9)).map(|p| p.sample(&mut rng)).unwrap_or(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forecast_beats_the_same_hour_last_week_on_a_weekly_pattern() {
        // Six weeks of history at a small team's volume, the last week held out.
        let series = synthetic(6, 20.0, 7);
        let Some(b) = backtest(&series, WEEK, 0.8) else { panic!("six weeks are enough history") };
        assert_eq!(b.method, Method::DailyWeekly);
        assert_eq!((b.trained_hours, b.held_out_hours), (5 * WEEK, WEEK));
        assert!(b.beats_seasonal_naive(), "{b:?}");
        // An 80 % interval should hold roughly 80 % of the hours.
        assert!((0.65..=0.95).contains(&b.forecast.coverage), "{b:?}");
    }

    #[test]
    fn too_little_history_has_no_backtest() {
        assert!(backtest(&synthetic(1, 20.0, 1), WEEK, 0.8).is_none());
        assert!(backtest(&synthetic(3, 20.0, 1), 0, 0.8).is_none());
    }

    #[test]
    fn scores_count_what_they_say() {
        let band = Band {
            method: Method::SeasonalNaive,
            point: vec![10.0, 0.0],
            lower: vec![8.0, 0.0],
            upper: vec![12.0, 1.0],
        };
        let s = score(&[12.0, 2.0], &band);
        // Both hours are above zero: |12 − 10| / 12 and |2 − 0| / 2.
        assert!((s.mape.unwrap_or_default() - 100.0 * (2.0 / 12.0 + 1.0) / 2.0).abs() < 1e-9);
        assert!((s.mae - 2.0).abs() < 1e-9);
        assert!((s.coverage - 0.5).abs() < 1e-9);
        let zero = score(&[0.0, 0.0], &band);
        assert_eq!(zero.mape, None);
    }

    #[test]
    fn generated_history_is_repeatable_and_weekly() {
        let a = synthetic(2, 20.0, 3);
        assert_eq!(a, synthetic(2, 20.0, 3));
        let weekday: f64 = a[..5 * DAY].iter().sum::<f64>() / 5.0;
        let weekend: f64 = a[5 * DAY..WEEK].iter().sum::<f64>() / 2.0;
        assert!(weekend < 0.7 * weekday, "{weekday} {weekend}");
    }
}
