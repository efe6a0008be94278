//! The forecast itself: hourly counts in, hourly counts out with a prediction interval. Pure
//! arithmetic over the numbers passed in (no store, no clock), so the backtest, the API and the
//! tests all run exactly the same code.
//!
//! The model is MSTL (multiple seasonal-trend decomposition by LOESS, augurs) with a daily and a
//! weekly season, and AutoETS (exponential smoothing, chosen by AICc) for what is left after the
//! seasons: the trend. Its prediction interval is the trend model's, with the seasons added
//! back. A short history falls back to what it can support (see [`Method`]), never to a figure
//! made up: with less than a day there is no forecast.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;
use serde::Serialize;
use utoipa::ToSchema;

/// Hours in a day: the daily season.
pub const DAY: usize = 24;
/// Hours in a week: the weekly season.
pub const WEEK: usize = 168;

/// How a forecast was made, from the history it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum Method {
    /// Two weeks or more: daily and weekly seasons, ETS trend.
    #[serde(rename = "mstl(24,168)+ets")]
    DailyWeekly,
    /// Two days to a week: the daily season only, ETS trend.
    #[serde(rename = "mstl(24)+ets")]
    Daily,
    /// One to two weeks: the last week repeated ("the same hour last week").
    #[serde(rename = "seasonal_naive(168)")]
    WeeklyNaive,
    /// One day, or a model that could not be fitted: the last day repeated.
    #[serde(rename = "seasonal_naive")]
    SeasonalNaive,
    /// Less than a day: nothing to go on.
    #[serde(rename = "none")]
    None,
}

impl Method {
    /// The name the API and the backtest print.
    pub fn name(self) -> &'static str {
        match self {
            Self::DailyWeekly => "mstl(24,168)+ets",
            Self::Daily => "mstl(24)+ets",
            Self::WeeklyNaive => "seasonal_naive(168)",
            Self::SeasonalNaive => "seasonal_naive",
            Self::None => "none",
        }
    }
}

/// Hourly predictions: the point and the interval at the level asked for. All three have the
/// horizon's length (empty for [`Method::None`]) and none is below zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// How it was made.
    pub method: Method,
    /// The expected count per hour.
    pub point: Vec<f64>,
    /// The interval's lower end.
    pub lower: Vec<f64>,
    /// The interval's upper end.
    pub upper: Vec<f64>,
}

impl Band {
    fn none() -> Self {
        Self { method: Method::None, point: Vec::new(), lower: Vec::new(), upper: Vec::new() }
    }

    /// Whether the band has a value for each hour.
    pub fn is_empty(&self) -> bool {
        self.point.is_empty()
    }
}

/// Forecasts `horizon` hours after `history` (one count per hour, oldest first, no gaps) with
/// a prediction interval at `level` (between 0 and 1).
pub fn forecast(history: &[f64], horizon: usize, level: f64) -> Band {
    if horizon == 0 || history.len() < DAY {
        return Band::none();
    }
    // Between one and two weeks the weekly season cannot be fitted yet, and the daily one alone
    // misses it (weekends): repeating last week did better in backtests on weekly patterns.
    if (WEEK..2 * WEEK).contains(&history.len()) {
        return Band { method: Method::WeeklyNaive, ..seasonal_naive(history, WEEK, horizon, level) };
    }
    let periods = if history.len() >= 2 * WEEK {
        Some((Method::DailyWeekly, vec![DAY, WEEK]))
    } else if history.len() >= 2 * DAY {
        Some((Method::Daily, vec![DAY]))
    } else {
        None
    };
    if let Some((method, periods)) = periods
        && let Some(band) = mstl(history, &periods, horizon, level)
    {
        return Band { method, ..band };
    }
    seasonal_naive(history, DAY, horizon, level)
}

/// MSTL with an AutoETS trend, fitted on the square roots of the counts, its interval widened
/// to what the last week of the history says it should be; `None` when it cannot be fitted (a
/// constant series can make the ETS search fail) or gives numbers that are not finite.
///
/// Why square roots: hourly arrivals are counts, whose spread grows with their level (Poisson:
/// the variance is the mean), while MSTL and ETS assume one spread for every hour. Fitted as
/// they are, a busy hour's interval is too narrow and a quiet hour's too wide. The square root
/// makes a count's spread about the same at every level (Box–Cox with λ = ½; Hyndman &
/// Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §3.1). Back on the count
/// scale the interval's ends are squared; the point is the mean, `p² + σ²` (§5.6, bias
/// adjustment), since the mean is what a staffing plan needs.
///
/// Why widened: the model's own interval comes from the trend's residuals after the seasons
/// were fitted to the same data, which have soaked up part of the noise, so it is too narrow
/// (in backtests on generated Poisson history an 80 % interval held 48–74 % of the hours). So
/// the model is also fitted without the last week, and its errors on that week, the honest
/// out-of-sample ones, give the half-width at the level asked for; the wider of the two is used
/// (an empirical prediction interval, §5.5). That needs a week to spare beyond what the seasons
/// need (three weeks for the weekly season, nine days for the daily one); with less, the
/// model's own, narrower interval stands. Either way no interval is narrower than a Poisson
/// count's own scatter around the mean (a half-width of `z · ½` on the root scale). (Checking a two-week history with the daily season
/// alone was tried: its errors miss the weekly shape, the interval came out far too wide, and
/// the point, which the bias adjustment lifts with it, lost to seasonal naive.)
fn mstl(history: &[f64], periods: &[usize], horizon: usize, level: f64) -> Option<Band> {
    let roots: Vec<f64> = history.iter().map(|v| v.max(0.0).sqrt()).collect();
    let (point, half) = mstl_roots(&roots, periods, horizon, level)?;
    let longest = periods.iter().copied().max().unwrap_or(DAY);
    let empirical = (roots.len() >= 2 * longest + WEEK)
        .then(|| {
            let (train, held) = roots.split_at(roots.len() - WEEK);
            let (inner, _) = mstl_roots(train, periods, WEEK, level)?;
            let mut errors: Vec<f64> = held.iter().zip(&inner).map(|(a, p)| (a - p).abs()).collect();
            errors.sort_by(f64::total_cmp);
            let at = ((errors.len() as f64 * level).ceil() as usize).clamp(1, errors.len());
            Some(errors[at - 1])
        })
        .flatten()
        .unwrap_or(0.0);
    let z = normal_quantile(0.5 + level / 2.0);
    // Below a millionth of a conversation is none: an empty series fits to values like 1e-198.
    let squared = |v: f64| {
        let sq = v.max(0.0).powi(2);
        if sq < 1e-6 { 0.0 } else { sq }
    };
    let mut band = Band { method: Method::DailyWeekly, point: Vec::new(), lower: Vec::new(), upper: Vec::new() };
    // However right the mean, a count scatters around it: on the root scale a Poisson count's
    // spread is ½ at any level, so no interval is narrower than `z · ½` there.
    let poisson = z * 0.5;
    for (p, h) in point.iter().zip(&half) {
        // The bias adjustment takes the model's spread, not the Poisson floor: a series that
        // was always zero forecasts zero, not a quarter.
        let spread = h.max(empirical);
        band.point.push(if squared(*p + spread) == 0.0 { 0.0 } else { squared(*p) + (spread / z).powi(2) });
        let h = spread.max(poisson);
        band.lower.push(squared(p - h));
        band.upper.push(squared(p + h));
    }
    Some(band)
}

/// The fit on the root scale: each hour's point and its interval's half-width.
fn mstl_roots(roots: &[f64], periods: &[usize], horizon: usize, level: f64) -> Option<(Vec<f64>, Vec<f64>)> {
    let trend = AutoETS::non_seasonal().into_trend_model();
    let fitted = MSTLModel::new(periods.to_vec(), trend).fit(roots).ok()?;
    let f = fitted.predict(horizon, level).ok()?;
    let intervals = f.intervals?;
    let ok = |v: &[f64]| v.len() == horizon && v.iter().all(|x| x.is_finite());
    if !ok(&f.point) || !ok(&intervals.lower) || !ok(&intervals.upper) {
        return None;
    }
    let half = intervals.lower.iter().zip(&intervals.upper).map(|(lo, hi)| (hi - lo) / 2.0).collect();
    Some((f.point, half))
}

/// The standard normal quantile at `p`.
fn normal_quantile(p: f64) -> f64 {
    distrs::Normal::ppf(p, 0.0, 1.0)
}

/// Seasonal naive: each hour is the same hour one `period` earlier (the last season repeated).
/// Its interval follows Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd
/// ed., §5.5): the residuals `y[t] − y[t − period]` give `σ`, and `k` whole seasons ahead the
/// spread is `σ·√(k + 1)`. With a single season there are no residuals; the count's own Poisson
/// spread (`√point`) stands in for `σ`.
pub fn seasonal_naive(history: &[f64], period: usize, horizon: usize, level: f64) -> Band {
    if period == 0 || history.len() < period || horizon == 0 {
        return Band::none();
    }
    let last = &history[history.len() - period..];
    let residuals: Vec<f64> = history.windows(period + 1).map(|w| w[period] - w[0]).collect();
    let sigma = if residuals.len() >= 2 {
        let n = residuals.len() as f64;
        let mean = residuals.iter().sum::<f64>() / n;
        Some((residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
    } else {
        None
    };
    let z = normal_quantile(0.5 + level / 2.0);
    let mut band = Band { method: Method::SeasonalNaive, point: Vec::new(), lower: Vec::new(), upper: Vec::new() };
    for h in 0..horizon {
        let point = last[h % period].max(0.0);
        let k = (h / period) as f64;
        let spread = z * sigma.unwrap_or_else(|| point.sqrt()) * (k + 1.0).sqrt();
        band.point.push(point);
        band.lower.push((point - spread).max(0.0));
        band.upper.push(point + spread);
    }
    band
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series with a daily shape, busier on weekdays, and a little noise that is the same on
    /// every run.
    fn weekly(weeks: usize) -> Vec<f64> {
        (0..weeks * WEEK)
            .map(|t| {
                let hour = t % DAY;
                let weekday = (t / DAY) % 7;
                let day_shape = if (8..20).contains(&hour) { 30.0 } else { 6.0 };
                let week_shape = if weekday < 5 { 1.0 } else { 0.5 };
                let wiggle = ((t * 7919) % 11) as f64 - 5.0;
                day_shape * week_shape + wiggle * 0.4
            })
            .collect()
    }

    #[test]
    fn less_than_a_day_is_no_forecast() {
        let b = forecast(&[3.0; 23], 24, 0.8);
        assert_eq!(b.method, Method::None);
        assert!(b.is_empty());
    }

    #[test]
    fn one_day_repeats_the_day_with_a_poisson_spread() {
        let day: Vec<f64> = (0..24).map(|h| h as f64).collect();
        let b = forecast(&day, 48, 0.8);
        assert_eq!(b.method, Method::SeasonalNaive);
        assert_eq!(b.point[5], 5.0);
        assert_eq!(b.point[29], 5.0);
        // z(0.9) = 1.2816; one season ahead the spread is √2 times the first.
        assert!((b.upper[4] - (4.0 + 1.2816 * 2.0)).abs() < 1e-3, "{}", b.upper[4]);
        assert!((b.upper[28] - (4.0 + 1.2816 * 2.0 * 2f64.sqrt())).abs() < 1e-3, "{}", b.upper[28]);
        assert_eq!(b.lower[0], 0.0);
    }

    #[test]
    fn four_weeks_use_both_seasons_and_follow_the_shape() {
        let h = weekly(4);
        let b = forecast(&h, WEEK, 0.8);
        assert_eq!(b.method, Method::DailyWeekly);
        assert_eq!(b.point.len(), WEEK);
        // Monday noon is busy (30), Monday 3 am quiet (6), Saturday noon half of Monday's. The
        // seasons of a four-week history are smoothed: a step from 6 to 30 within the hour comes
        // out rounder (Monday noon about 24), so the shape is checked, within a quarter.
        let (mon_noon, mon_night, sat_noon) = (b.point[12], b.point[3], b.point[5 * DAY + 12]);
        assert!((mon_noon - 30.0).abs() < 7.5, "{mon_noon}");
        assert!((mon_night - 6.0).abs() < 3.0, "{mon_night}");
        assert!((sat_noon - 15.0).abs() < 3.75, "{sat_noon}");
        assert!(mon_noon > 3.0 * mon_night && sat_noon < 0.75 * mon_noon);
        for i in 0..WEEK {
            assert!(b.lower[i] <= b.point[i] && b.point[i] <= b.upper[i], "hour {i}");
            assert!(b.lower[i] >= 0.0);
        }
    }

    #[test]
    fn ten_days_repeat_last_week() {
        let h = weekly(2)[..240].to_vec();
        let b = forecast(&h, 24, 0.8);
        assert_eq!(b.method, Method::WeeklyNaive);
        // The first hour ahead is the same hour one week before it.
        assert_eq!(b.point[0], h[240 - WEEK].max(0.0));
    }

    #[test]
    fn three_days_use_the_daily_season() {
        let h = weekly(1)[..72].to_vec();
        assert_eq!(forecast(&h, 24, 0.8).method, Method::Daily);
    }

    #[test]
    fn a_constant_series_still_forecasts() {
        let b = forecast(&vec![4.0; 3 * WEEK], 24, 0.9);
        assert!(!b.is_empty());
        assert!(b.point.iter().all(|p| (p - 4.0).abs() < 0.5), "{:?}", &b.point[..5]);
    }
}
