//! The staffing plan: for each hour, the agents needed to meet the first-response target, from
//! the forecast volume, the measured handling time and the agents' concurrency ([`erlang`]), set
//! against the agents who were online (past hours and now) or who were online at the same hour
//! of the week the last time it came round (hours to come: rosters repeat by the week), with the
//! hours that are or will be under- or over-staffed flagged.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{agent, metric_hour};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::erlang::{self, Interval, StaffingError, Target};
use crate::coord::{Coordination, Coordinator as _};
use crate::error::Error;
use crate::forecast::{self, Forecasts, Slice, model::Method, num};
use crate::metrics::tally::{hour_of, hour_start};
use crate::sla::PolicySet;

/// The plan's interval: the forecast is hourly.
pub const INTERVAL_SECS: i64 = 3600;
/// Handling time assumed until enough conversations were resolved to measure it.
pub const DEFAULT_AHT_SECS: f64 = 600.0;
/// Resolved conversations needed before the measured handling time is used.
const MIN_RESOLVED: i64 = 20;
/// The handling time is measured over this many days.
const AHT_DAYS: i64 = 28;
/// The industry's usual ceiling on occupancy: agents kept busier than this burn out.
pub const DEFAULT_MAX_OCCUPANCY: f64 = 0.85;

/// `GET /api/v1/staffing`'s query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StaffingQuery {
    /// Only this team (its agents, its conversations).
    pub team_id: Option<i64>,
    /// Only this network's conversations.
    pub network: Option<String>,
    /// Days covered, from the start of the current UTC day (1 to 28; default 1).
    pub days: Option<u32>,
    /// Share of first responses to meet the target time (0.5 to 0.99; default 0.8).
    pub share: Option<f64>,
    /// The target time in seconds (default: the SLA policy's first-response target).
    pub target_secs: Option<i64>,
    /// Conversations an agent works at once (default: the median capacity of the slice's
    /// active agents).
    pub concurrency: Option<u32>,
    /// Handling time per conversation in seconds (default: measured over the last 28 days).
    pub aht_secs: Option<f64>,
    /// Highest share of slot time kept busy (0.1 to 1; default 0.85).
    pub max_occupancy: Option<f64>,
    /// The forecast's interval level, for the plan's forecast (default 0.8).
    pub level: Option<f64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The SLA policy the plan staffs for.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PolicyRef {
    /// The stored policy; null for the configuration's targets.
    pub id: Option<i64>,
    /// Its name.
    pub name: String,
    /// Its first-response target.
    pub first_response_secs: i64,
}

/// One hour of the plan.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct IntervalView {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Conversations: the actual count for hours gone by, the forecast from the current hour on.
    pub volume: f64,
    /// Offered load in Erlangs (`volume × aht / 3600`): conversations in progress on average.
    pub load_erlangs: f64,
    /// Conversation slots the agents needed give (`agents_needed × concurrency`).
    pub servers: u32,
    /// Agents needed.
    pub agents_needed: u32,
    /// Share picked up within the target time with them (Erlang C).
    pub service_level: f64,
    /// Average wait before pickup with them, seconds.
    pub asa_secs: f64,
    /// Share of their slot time busy.
    pub occupancy: f64,
    /// Agents online on average over the hour (for the current hour: now); null for hours to
    /// come.
    pub online: Option<f64>,
    /// For hours to come: agents online on average over the same hour of the week, the last
    /// time it came round (in the last seven days).
    pub expected_online: Option<f64>,
    /// `under` (fewer than needed), `over` (a quarter more than needed and at least two more),
    /// `ok`, or null with nothing to compare with.
    pub status: Option<String>,
}

/// Needed and online, now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StaffingNow {
    /// The current hour.
    pub hour: DateTime<Utc>,
    /// Agents needed this hour.
    pub needed: u32,
    /// Agents online now.
    pub online: u32,
}

/// `GET /api/v1/staffing`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct StaffingView {
    /// When.
    pub generated_at: DateTime<Utc>,
    /// The team, if one.
    pub team_id: Option<i64>,
    /// The network, if one.
    pub network: Option<String>,
    /// The policy staffed for: the strictest first-response target that applies to the slice.
    pub policy: Option<PolicyRef>,
    /// The target time, seconds.
    pub target_secs: i64,
    /// The share to meet within it.
    pub target_share: f64,
    /// Handling time per conversation, seconds.
    pub aht_secs: f64,
    /// `measured`, `default` or `given`.
    pub aht_source: String,
    /// Conversations an agent works at once: an agent is this many servers (docs/staffing.md).
    pub concurrency: u32,
    /// Highest share of slot time kept busy.
    pub max_occupancy: f64,
    /// Interval length, seconds.
    pub interval_secs: i64,
    /// How the forecast was made.
    #[schema(value_type = String)]
    pub model: Method,
    /// One per hour from the start of today (UTC).
    pub intervals: Vec<IntervalView>,
    /// The current hour, when the plan covers it.
    pub now: Option<StaffingNow>,
}

fn refused(e: StaffingError) -> Error {
    Error::Validation(match e {
        StaffingError::TooMuchLoad => "the forecast load needs more agents than a plan can hold".into(),
        other => format!("the staffing inputs are out of range ({other:?})"),
    })
}

/// The inputs a plan is made with, checked.
struct Inputs {
    target: Target,
    target_secs: i64,
    policy: Option<PolicyRef>,
    aht_secs: f64,
    aht_source: &'static str,
    concurrency: u32,
    max_occupancy: f64,
}

async fn inputs(
    db: &impl ConnectionTrait,
    policies: &PolicySet,
    slice: &Slice,
    q: &StaffingQuery,
    now: DateTime<Utc>,
) -> Result<Inputs, Error> {
    let share = q.share.unwrap_or(0.8);
    if !(0.5..=0.99).contains(&share) {
        return Err(Error::Validation(format!("share is between 0.5 and 0.99 (got {share})")));
    }
    let max_occupancy = q.max_occupancy.unwrap_or(DEFAULT_MAX_OCCUPANCY);
    if !(0.1..=1.0).contains(&max_occupancy) {
        return Err(Error::Validation(format!("max_occupancy is between 0.1 and 1 (got {max_occupancy})")));
    }
    let network = slice.network.map_or("", crate::network::Network::as_str);
    // Tier 1's target and tier 2's: staffing for the stricter meets both.
    let strictest = [1, 2].into_iter().filter_map(|t| policies.for_conversation(t, network)).min_by_key(|p| p.first);
    let policy = match strictest {
        Some(p) => Some(PolicyRef {
            id: p.id,
            name: match p.id {
                // Deleted since the node last reloaded the policies: named by its id.
                Some(id) => match crate::sla::get(db, id).await {
                    Ok(p) => p.name,
                    Err(Error::NotFound(_)) => format!("policy {id}"),
                    Err(e) => return Err(e),
                },
                None => "configured targets".into(),
            },
            first_response_secs: p.first.num_seconds(),
        }),
        None => None,
    };
    let target_secs = match q.target_secs {
        Some(t) if (1..=30 * 86_400).contains(&t) => t,
        Some(t) => return Err(Error::Validation(format!("target_secs is 1 to 2592000 (got {t})"))),
        None => policy.as_ref().map_or(3600, |p| p.first_response_secs),
    };
    let (aht_secs, aht_source) = match q.aht_secs {
        Some(a) if a.is_finite() && (1.0..=86_400.0).contains(&a) => (a, "given"),
        Some(a) => return Err(Error::Validation(format!("aht_secs is 1 to 86400 (got {a})"))),
        None => match measured_aht(db, slice, now).await? {
            Some(a) => (a, "measured"),
            None => (DEFAULT_AHT_SECS, "default"),
        },
    };
    let concurrency = match q.concurrency {
        Some(c) if (1..=erlang::MAX_CONCURRENCY).contains(&c) => c,
        Some(c) => return Err(Error::Validation(format!("concurrency is 1 to {} (got {c})", erlang::MAX_CONCURRENCY))),
        None => median_capacity(db, slice).await?,
    };
    Ok(Inputs {
        target: Target { answer_within_secs: target_secs as f64, share },
        target_secs,
        policy,
        aht_secs,
        aht_source,
        concurrency,
        max_occupancy,
    })
}

/// Handling time of the conversations resolved in the last 28 days over their number, when at
/// least 20 were.
async fn measured_aht(db: &impl ConnectionTrait, slice: &Slice, now: DateTime<Utc>) -> Result<Option<f64>, Error> {
    let to = hour_of(now) + 1;
    let mut sel = metric_hour::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(SUM(resolved_handling_ms) AS BIGINT)"), "ms")
        .column_as(Expr::cust("CAST(SUM(resolved) AS BIGINT)"), "n")
        .filter(metric_hour::Column::Hour.gte(to - AHT_DAYS * 24))
        .filter(metric_hour::Column::Hour.lt(to));
    if let Some(t) = slice.team_id {
        sel = sel.filter(metric_hour::Column::TeamId.eq(t));
    }
    if let Some(n) = slice.network {
        sel = sel.filter(metric_hour::Column::Network.eq(n.as_str()));
    }
    let sums: Option<(Option<i64>, Option<i64>)> = sel.into_tuple().one(db).await?;
    Ok(match sums {
        Some((Some(ms), Some(n))) if n >= MIN_RESOLVED && ms > 0 => Some(ms as f64 / 1000.0 / n as f64),
        _ => None,
    })
}

/// The agents a slice's staffing counts: the team's active members, or every active agent.
async fn agents_of(db: &impl ConnectionTrait, slice: &Slice) -> Result<Vec<agent::Model>, Error> {
    let mut sel = agent::Entity::find().filter(agent::Column::Active.eq(true));
    if let Some(t) = slice.team_id {
        sel = sel.filter(agent::Column::TeamId.eq(t));
    }
    Ok(sel.all(db).await?)
}

/// The median capacity of the slice's active agents (the lower middle of an even count), at
/// least 1; 1 with no agents.
async fn median_capacity(db: &impl ConnectionTrait, slice: &Slice) -> Result<u32, Error> {
    let mut caps: Vec<u32> = agents_of(db, slice)
        .await?
        .iter()
        .map(|a| u32::try_from(a.capacity).unwrap_or(1).clamp(1, erlang::MAX_CONCURRENCY))
        .collect();
    caps.sort_unstable();
    Ok(caps.get(caps.len().saturating_sub(1) / 2).copied().unwrap_or(1))
}

/// Agents online on average over each hour `from..to` (hours since the epoch), up to `now`
/// (the current hour counts only its part gone by), from the status timeline of `agents`.
pub async fn online_by_hour(
    db: &impl ConnectionTrait,
    agents: &HashSet<i64>,
    from: i64,
    to: i64,
    now: DateTime<Utc>,
) -> Result<Vec<f64>, Error> {
    let n = usize::try_from(to - from).unwrap_or(0);
    let (start, end) = (hour_start(from), hour_start(to).min(now));
    let mut online = vec![0.0; n];
    if n == 0 || agents.is_empty() || end <= start {
        return Ok(online);
    }
    let before = crate::metrics::floor::status_before(db, start).await?;
    let changes = crate::metrics::floor::status_changes(db, start, Some(end)).await?;
    for &a in agents {
        let timeline = crate::metrics::floor::stretches(
            before.get(&a).map(String::as_str),
            changes.get(&a).map_or(&[][..], Vec::as_slice),
            start,
        );
        for s in timeline.iter().filter(|s| s.status == "online") {
            let (s_from, s_to) = (s.from.max(start), s.to.unwrap_or(end).min(end));
            let mut t = s_from;
            while t < s_to {
                let h = hour_of(t);
                let hour_end = hour_start(h + 1).min(s_to);
                if let Some(slot) = usize::try_from(h - from).ok().and_then(|i| online.get_mut(i)) {
                    *slot += (hour_end - t).num_milliseconds() as f64 / 3_600_000.0;
                }
                t = hour_end;
            }
        }
    }
    Ok(online)
}

/// Agents of `agents` online now, by their presence (what the wallboard's own "online" counts).
async fn online_now(coord: &Coordination, agents: &HashSet<i64>) -> Result<u32, Error> {
    let mut n = 0;
    for (id, doc) in coord.presences().await? {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&doc) else { continue };
        if agents.contains(&id.get()) && v["status"].as_str() == Some("online") {
            n += 1;
        }
    }
    Ok(n)
}

/// `under`, `over` or `ok` for `available` agents against `needed`.
pub fn judge(needed: u32, available: f64) -> &'static str {
    let needed = f64::from(needed);
    if available + 1e-9 < needed {
        "under"
    } else if available > needed * 1.25 && available - needed >= 2.0 {
        "over"
    } else {
        "ok"
    }
}

/// Makes the plan for `q` as of `now`.
pub async fn read(
    db: &impl ConnectionTrait,
    coord: &Coordination,
    forecasts: &Forecasts,
    policies: &PolicySet,
    q: &StaffingQuery,
    now: DateTime<Utc>,
) -> Result<StaffingView, Error> {
    let (level, days) = forecast::checked(q.level, q.days, 1)?;
    let slice = forecast::slice_of(q.team_id, q.network.as_deref())?;
    let inputs = inputs(db, policies, &slice, q, now).await?;
    let fits = forecasts.fits(db, policies, &slice, level, now).await?;
    let (day, now_hour) = (fits.day_hour, fits.now_hour);
    let actual = forecast::hourly(db, &slice, day, now_hour).await?;
    let agents: HashSet<i64> = agents_of(db, &slice).await?.into_iter().map(|a| a.id).collect();
    let hours = i64::from(days) * 24;
    let online = online_by_hour(db, &agents, day, now_hour + 1, now).await?;
    let week = forecast::model::WEEK as i64;
    // The last seven complete hours-of-the-week: an hour to come expects what its hour of the
    // week had the last time round (rosters repeat by the week), however far ahead it is.
    let last_week = online_by_hour(db, &agents, now_hour - week, now_hour, now).await?;
    let online_at_now = online_now(coord, &agents).await?;
    let mut intervals = Vec::with_capacity(usize::try_from(hours).unwrap_or(0));
    let mut current = None;
    for h in day..day + hours {
        let idx = |from: i64| usize::try_from(h - from).ok();
        let volume = if h < now_hour {
            idx(day).and_then(|i| actual.get(i).copied())
        } else {
            fits.at(h).map(|(point, _, _)| point)
        };
        let Some(volume) = volume else { continue };
        let interval = Interval { arrivals: volume, aht_secs: inputs.aht_secs, interval_secs: INTERVAL_SECS as f64 };
        let s = erlang::staff_interval(&interval, &inputs.target, inputs.concurrency, Some(inputs.max_occupancy))
            .map_err(refused)?;
        let (on, expected) = if h < now_hour {
            (idx(day).and_then(|i| online.get(i).copied()), None)
        } else if h == now_hour {
            (Some(f64::from(online_at_now)), None)
        } else {
            let i = usize::try_from((h - now_hour).rem_euclid(week)).ok();
            (None, i.and_then(|i| last_week.get(i).copied()))
        };
        let available = on.or(expected);
        // With no forecast volume and nobody around, there is nothing to judge.
        let status = available.filter(|a| *a > 0.0 || s.agents > 0).map(|a| judge(s.agents, a).to_owned());
        if h == now_hour {
            current = Some(StaffingNow { hour: hour_start(h), needed: s.agents, online: online_at_now });
        }
        intervals.push(IntervalView {
            hour: hour_start(h),
            volume,
            load_erlangs: s.load_erlangs,
            servers: s.servers,
            agents_needed: s.agents,
            service_level: if s.agents == 0 { 1.0 } else { s.service_level },
            asa_secs: s.asa_secs,
            occupancy: s.occupancy,
            online: on,
            expected_online: expected,
            status,
        });
    }
    Ok(StaffingView {
        generated_at: now,
        team_id: slice.team_id,
        network: slice.network.map(|n| n.as_str().to_owned()),
        policy: inputs.policy,
        target_secs: inputs.target_secs,
        target_share: inputs.target.share,
        aht_secs: inputs.aht_secs,
        aht_source: inputs.aht_source.into(),
        concurrency: inputs.concurrency,
        max_occupancy: inputs.max_occupancy,
        interval_secs: INTERVAL_SECS,
        model: fits.method(),
        intervals,
        now: current,
    })
}

/// How long "needed / online now" is reused: the plan is hourly, and working it out reads the
/// status timeline, which a wallboard tick every half second or a console's poll need not do.
pub const FLOOR_NOW_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

type Kept = Option<(std::time::Instant, Option<StaffingNow>)>;

/// Needed and online now for the whole floor, worked out at most every [`FLOOR_NOW_EVERY`] on
/// a node; the wallboard's ticks and `GET /api/v1/metrics/live` share it.
#[derive(Clone, Default)]
pub struct FloorNow {
    kept: std::sync::Arc<tokio::sync::Mutex<Kept>>,
}

impl FloorNow {
    /// The figures, reused if worked out in the last [`FLOOR_NOW_EVERY`]. Callers at the same
    /// moment wait for one computation rather than each making their own. A failure (the store
    /// unreachable, a plan the inputs cannot make) is logged and gives `None` for the period: the
    /// live figures and the wallboard go on without this one figure rather than fail whole.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        coord: &Coordination,
        forecasts: &Forecasts,
        policies: &PolicySet,
    ) -> Option<StaffingNow> {
        let mut kept = self.kept.lock().await;
        if let Some((at, s)) = &*kept
            && at.elapsed() < FLOOR_NOW_EVERY
        {
            return s.clone();
        }
        let s = now(db, coord, forecasts, policies, Utc::now()).await.unwrap_or_else(|e| {
            tracing::warn!(error.message = %e, "working out the agents needed now failed");
            None
        });
        *kept = Some((std::time::Instant::now(), s.clone()));
        s
    }
}

/// Needed and online now for the whole floor, for the wallboard; `None` without a forecast.
pub async fn now(
    db: &impl ConnectionTrait,
    coord: &Coordination,
    forecasts: &Forecasts,
    policies: &PolicySet,
    now: DateTime<Utc>,
) -> Result<Option<StaffingNow>, Error> {
    let q = StaffingQuery::default();
    let fits = forecasts.fits(db, policies, &Slice::default(), 0.8, now).await?;
    if fits.method() == Method::None {
        return Ok(None);
    }
    let plan = read(db, coord, forecasts, policies, &q, now).await?;
    Ok(plan.now)
}

/// The plan as CSV, one row per hour.
pub fn csv(p: &StaffingView) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Unexpected(e.into());
    w.write_record([
        "hour",
        "volume",
        "load_erlangs",
        "servers",
        "agents_needed",
        "service_level",
        "asa_secs",
        "occupancy",
        "online",
        "expected_online",
        "status",
    ])
    .map_err(fail)?;
    for i in &p.intervals {
        w.write_record([
            i.hour.to_rfc3339(),
            num(i.volume),
            num(i.load_erlangs),
            i.servers.to_string(),
            i.agents_needed.to_string(),
            num(i.service_level),
            num(i.asa_secs),
            num(i.occupancy),
            i.online.map(num).unwrap_or_default(),
            i.expected_online.map(num).unwrap_or_default(),
            i.status.clone().unwrap_or_default(),
        ])
        .map_err(fail)?;
    }
    w.into_inner().map_err(|e| Error::Unexpected(anyhow::anyhow!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_leaves_a_little_slack_before_over() {
        assert_eq!(judge(6, 5.0), "under");
        assert_eq!(judge(6, 6.0), "ok");
        assert_eq!(judge(6, 7.0), "ok");
        assert_eq!(judge(6, 8.0), "over");
        assert_eq!(judge(1, 2.0), "ok");
        assert_eq!(judge(0, 2.0), "over");
    }
}
