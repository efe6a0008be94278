//! Forecasting inbound work: how many conversations each coming hour will bring, per team and
//! network or in total, with a prediction interval, from the hourly history Chorus already
//! keeps (`metric_hours`). [`model`] is the arithmetic (MSTL + ETS, augurs), [`holidays`] the
//! SLA calendars' closed days, [`backtest`] the check against "the same hour last week";
//! this module reads the history, fits, and keeps the fits for the hour.
//!
//! Two fits per slice: the **day-ahead** forecast, from the history up to the start of the
//! current UTC day (what the day was expected to bring: actual against forecast), and the
//! **current** one, from the history up to the current hour (the intraday re-forecast, which
//! follows the day's actuals as each hour completes). Both are kept per node until the hour
//! changes; every node fits from the same store, so all nodes show the same figures.

pub mod backtest;
pub mod holidays;
pub mod model;
pub mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use entity::metric_hour;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::metrics::tally::{hour_of, hour_start};
use crate::network::Network;
use crate::sla::PolicySet;
use model::{Band, Method, WEEK};

/// Weeks of history a forecast is fitted on.
pub const HISTORY_WEEKS: i64 = 8;
/// Most days ahead.
pub const MAX_DAYS: u32 = 28;
const MAX_HORIZON: usize = MAX_DAYS as usize * 24;
/// Fits kept per node at most (slices × levels in the current hour).
const CACHE_LIMIT: usize = 256;

/// What part of the work to forecast.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize, ToSchema)]
pub struct Slice {
    /// Only this team's conversations.
    pub team_id: Option<i64>,
    /// Only this network's.
    pub network: Option<Network>,
}

/// `GET /api/v1/forecast`'s query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// Only this team.
    pub team_id: Option<i64>,
    /// Only this network.
    pub network: Option<String>,
    /// Days covered, from the start of the current UTC day (1 to 28; default 7).
    pub days: Option<u32>,
    /// The prediction interval's level (0.5 to 0.99; default 0.8).
    pub level: Option<f64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Checks a level and a number of days.
pub fn checked(level: Option<f64>, days: Option<u32>, default_days: u32) -> Result<(f64, u32), Error> {
    let level = level.unwrap_or(0.8);
    if !(0.5..=0.99).contains(&level) {
        return Err(Error::Validation(format!("level is between 0.5 and 0.99 (got {level})")));
    }
    let days = days.unwrap_or(default_days);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::Validation(format!("days is 1 to {MAX_DAYS} (got {days})")));
    }
    Ok((level, days))
}

/// One hour of the forecast.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct HourView {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Conversations that arrived in it (so far, for the current hour); null for hours to come.
    pub actual: Option<i64>,
    /// Expected conversations: the day-ahead forecast for past hours of today, the current
    /// (intraday) forecast from the current hour on.
    pub forecast: f64,
    /// The prediction interval's lower end.
    pub lower: f64,
    /// Its upper end.
    pub upper: f64,
    /// What the day was expected to bring, forecast from the history up to the start of the
    /// day; null after today.
    pub day_ahead: Option<f64>,
    /// A holiday in the SLA calendar that applies.
    pub holiday: bool,
}

/// Actual volume outside the prediction interval: the early sign of a crisis (or of an outage
/// on the network, when below).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Outside {
    /// The hour.
    pub hour: DateTime<Utc>,
    /// Conversations in it (so far).
    pub actual: i64,
    /// The forecast for it.
    pub forecast: f64,
    /// The interval.
    pub lower: f64,
    /// The interval.
    pub upper: f64,
    /// `above` or `below`.
    pub direction: String,
}

/// `GET /api/v1/forecast`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ForecastView {
    /// When.
    pub generated_at: DateTime<Utc>,
    /// The team, if one.
    pub team_id: Option<i64>,
    /// The network, if one.
    pub network: Option<String>,
    /// What is counted: `conversations` (conversations opened per hour: the work that arrives).
    pub measure: String,
    /// The interval's level.
    pub level: f64,
    /// How the current forecast was made: `mstl(24,168)+ets`, `mstl(24)+ets`,
    /// `seasonal_naive` or `none` (less than a day of history).
    #[schema(value_type = String)]
    pub model: Method,
    /// Hours of history it was fitted on.
    pub history_hours: usize,
    /// One per hour from the start of today (UTC), `days` × 24 of them.
    pub hours: Vec<HourView>,
    /// The newest hour whose actual left its interval (the current hour once it is already above
    /// its upper end; else the last complete hour of today), if any.
    pub outside: Option<Outside>,
}

/// The fits of one slice at one hour.
#[derive(Debug)]
pub struct Fits {
    /// The hour they were made at (hours since the epoch).
    pub now_hour: i64,
    /// The start of the day (hours since the epoch).
    pub day_hour: i64,
    /// Hours of history before `now_hour`.
    pub history_hours: usize,
    /// From the history up to `day_hour`, for `MAX_HORIZON` hours from it.
    pub day_ahead: Band,
    /// From the history up to `now_hour`, for hours from it.
    pub current: Band,
    /// Holidays, for `MAX_HORIZON` hours from `day_hour`.
    pub holiday: Vec<bool>,
}

impl Fits {
    /// The band for hour `h` (hours since the epoch): day-ahead before now, current from now.
    pub fn at(&self, h: i64) -> Option<(f64, f64, f64)> {
        let pick = |b: &Band, i: i64| {
            let i = usize::try_from(i).ok()?;
            Some((*b.point.get(i)?, *b.lower.get(i)?, *b.upper.get(i)?))
        };
        if h < self.now_hour {
            pick(&self.day_ahead, h - self.day_hour)
        } else {
            pick(&self.current, h - self.now_hour)
        }
    }

    /// How the current forecast was made.
    pub fn method(&self) -> Method {
        self.current.method
    }
}

/// What a fit depends on besides the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    slice: Slice,
    level: u64,
    now_hour: i64,
    calendar: String,
}

/// The fits this node made in the current hour.
#[derive(Clone, Default)]
pub struct Forecasts {
    kept: Arc<Mutex<HashMap<Key, Arc<Fits>>>>,
}

impl Forecasts {
    /// The fits for `slice` at `level` as of `now`: kept ones if made this hour, else made now
    /// (on the blocking pool: a fit is tens of milliseconds of arithmetic).
    pub async fn fits(
        &self,
        db: &impl ConnectionTrait,
        policies: &PolicySet,
        slice: &Slice,
        level: f64,
        now: DateTime<Utc>,
    ) -> Result<Arc<Fits>, Error> {
        let now_hour = hour_of(now);
        let calendar =
            policies.for_conversation(1, slice.network.map_or("", Network::as_str)).map(|p| p.calendar.clone());
        // The calendar is part of the key: a holiday added to the policy shows at once.
        let key = Key { slice: slice.clone(), level: level.to_bits(), now_hour, calendar: format!("{calendar:?}") };
        if let Some(f) = self.lock().get(&key) {
            return Ok(f.clone());
        }
        let day_hour = now_hour.div_euclid(24) * 24;
        let first = match first_hour(db).await? {
            Some(f) => f.max(day_hour - HISTORY_WEEKS * WEEK as i64),
            None => now_hour,
        };
        let history = hourly(db, slice, first, now_hour).await?;
        let fits = tokio::task::spawn_blocking(move || {
            let mask_of = |from: i64, n: usize| match &calendar {
                Some(c) => holidays::mask(c, hour_start(from), n),
                None => vec![false; n],
            };
            let past = mask_of(first, history.len());
            let before_day = usize::try_from(day_hour - first).unwrap_or(0).min(history.len());
            let fit = |upto: usize, from_hour: i64| {
                let mut h = history[..upto].to_vec();
                let factor = holidays::factor(&h, &past[..upto]);
                holidays::smooth(&mut h, &past[..upto]);
                let mut band = model::forecast(&h, MAX_HORIZON, level);
                if let Some(f) = factor {
                    let ahead = mask_of(from_hour, MAX_HORIZON);
                    for (i, _) in ahead.iter().enumerate().filter(|(_, on)| **on) {
                        for v in [&mut band.point, &mut band.lower, &mut band.upper] {
                            if let Some(x) = v.get_mut(i) {
                                *x *= f;
                            }
                        }
                    }
                }
                band
            };
            Fits {
                now_hour,
                day_hour,
                history_hours: history.len(),
                day_ahead: fit(before_day, day_hour),
                current: fit(history.len(), now_hour),
                holiday: mask_of(day_hour, MAX_HORIZON),
            }
        })
        .await
        .map_err(|e| Error::Unexpected(anyhow::anyhow!("the forecast's fit failed: {e}")))?;
        let fits = Arc::new(fits);
        let mut kept = self.lock();
        kept.retain(|k, _| k.now_hour == now_hour);
        if kept.len() < CACHE_LIMIT {
            kept.insert(key, fits.clone());
        }
        Ok(fits)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Fits>>> {
        // A map of finished fits: a panic elsewhere cannot leave it half-updated.
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The first hour with any figures in the store: history before it is not zero, it is absent.
pub async fn first_hour(db: &impl ConnectionTrait) -> Result<Option<i64>, Error> {
    let first: Option<Option<i64>> = metric_hour::Entity::find()
        .select_only()
        .column_as(metric_hour::Column::Hour.min(), "first")
        .into_tuple()
        .one(db)
        .await?;
    Ok(first.flatten())
}

/// Conversations opened per hour of `slice`, for the hours `from..to` (hours since the epoch),
/// zero where nothing was recorded.
pub async fn hourly(db: &impl ConnectionTrait, slice: &Slice, from: i64, to: i64) -> Result<Vec<f64>, Error> {
    let n = usize::try_from(to - from).unwrap_or(0);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut sel = metric_hour::Entity::find()
        .select_only()
        .column(metric_hour::Column::Hour)
        .column_as(Expr::cust("CAST(SUM(conversations) AS BIGINT)"), "n")
        .filter(metric_hour::Column::Hour.gte(from))
        .filter(metric_hour::Column::Hour.lt(to));
    if let Some(t) = slice.team_id {
        sel = sel.filter(metric_hour::Column::TeamId.eq(t));
    }
    if let Some(n) = slice.network {
        sel = sel.filter(metric_hour::Column::Network.eq(n.as_str()));
    }
    let rows: Vec<(i64, Option<i64>)> = sel.group_by(metric_hour::Column::Hour).into_tuple().all(db).await?;
    let mut out = vec![0.0; n];
    for (h, count) in rows {
        if let Some(slot) = usize::try_from(h - from).ok().and_then(|i| out.get_mut(i)) {
            *slot = count.unwrap_or(0) as f64;
        }
    }
    Ok(out)
}

/// The slice a query names; an unknown network is the caller's mistake.
pub fn slice_of(team_id: Option<i64>, network: Option<&str>) -> Result<Slice, Error> {
    let network = network
        .map(|n| Network::parse(n).ok_or_else(|| Error::Validation(format!("unknown network {n:?}"))))
        .transpose()?;
    Ok(Slice { team_id, network })
}

/// Reads the forecast for `q` as of `now`.
pub async fn read(
    db: &impl ConnectionTrait,
    forecasts: &Forecasts,
    policies: &PolicySet,
    q: &ForecastQuery,
    now: DateTime<Utc>,
) -> Result<ForecastView, Error> {
    let (level, days) = checked(q.level, q.days, 7)?;
    let slice = slice_of(q.team_id, q.network.as_deref())?;
    let fits = forecasts.fits(db, policies, &slice, level, now).await?;
    let actual = hourly(db, &slice, fits.day_hour, fits.now_hour + 1).await?;
    let mut hours = Vec::new();
    for i in 0..i64::from(days) * 24 {
        let h = fits.day_hour + i;
        let Some((point, lower, upper)) = fits.at(h) else { continue };
        let idx = usize::try_from(i).unwrap_or(usize::MAX);
        hours.push(HourView {
            hour: hour_start(h),
            actual: actual.get(idx).map(|v| *v as i64),
            forecast: point,
            lower,
            upper,
            day_ahead: (i < 24).then(|| fits.day_ahead.point.get(idx).copied()).flatten(),
            holiday: fits.holiday.get(idx).copied().unwrap_or(false),
        });
    }
    let outside = outside(&hours, hour_start(fits.now_hour));
    Ok(ForecastView {
        generated_at: now,
        team_id: slice.team_id,
        network: slice.network.map(|n| n.as_str().to_owned()),
        measure: "conversations".into(),
        level,
        model: fits.method(),
        history_hours: fits.history_hours,
        hours,
        outside,
    })
}

/// The current hour if its count so far is already above the whole hour's upper end, else the
/// last complete hour if it ended outside its interval.
pub fn outside(hours: &[HourView], now: DateTime<Utc>) -> Option<Outside> {
    let current = hours.iter().find(|h| h.hour == now);
    if let Some(h) = current
        && let Some(a) = h.actual
        && a as f64 > h.upper
    {
        return Some(Outside {
            hour: h.hour,
            actual: a,
            forecast: h.forecast,
            lower: h.lower,
            upper: h.upper,
            direction: "above".into(),
        });
    }
    let last = hours.iter().find(|h| h.hour == now - Duration::hours(1))?;
    let a = last.actual?;
    let direction = if a as f64 > last.upper {
        "above"
    } else if (a as f64) < last.lower {
        "below"
    } else {
        return None;
    };
    Some(Outside {
        hour: last.hour,
        actual: a,
        forecast: last.forecast,
        lower: last.lower,
        upper: last.upper,
        direction: direction.into(),
    })
}

/// A figure in the CSVs: three decimals.
pub(crate) fn num(v: f64) -> String {
    format!("{v:.3}")
}

/// The forecast as CSV, one row per hour.
pub fn csv(f: &ForecastView) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Unexpected(e.into());
    w.write_record(["hour", "actual", "forecast", "lower", "upper", "day_ahead", "holiday"]).map_err(fail)?;
    for h in &f.hours {
        w.write_record([
            h.hour.to_rfc3339(),
            h.actual.map(|a| a.to_string()).unwrap_or_default(),
            num(h.forecast),
            num(h.lower),
            num(h.upper),
            h.day_ahead.map(num).unwrap_or_default(),
            h.holiday.to_string(),
        ])
        .map_err(fail)?;
    }
    w.into_inner().map_err(|e| Error::Unexpected(anyhow::anyhow!("{e}")))
}
