//! `GET /api/v1/metrics/history`: the hourly aggregates read back by hour or day (UTC), split by
//! agent, team, brand account, network or category, with in-hours and out-of-hours figures beside the total.
//! One grouped read of `metric_hours` — whose primary key starts with the hour — never of the
//! messages.

use chrono::{DateTime, Duration, Utc};
use entity::metric_hour;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::facts::Counts;
use crate::error::Error;

/// Most hourly buckets in one answer (93 days); days may span ten years.
const MAX_HOURS: i64 = 93 * 24;
const MAX_DAYS: i64 = 3660;

/// What to read.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Start (RFC 3339, inclusive; rounded down to the bucket). Default: 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End (exclusive). Default: now.
    pub to: Option<DateTime<Utc>>,
    /// `hour` (default) or `day` (UTC days).
    pub bucket: Option<String>,
    /// Split by `agent`, `team`, `brand_account`, `network` or `category`; absent for one row per
    /// bucket.
    pub by: Option<String>,
    /// Only this agent.
    pub agent_id: Option<i64>,
    /// Only this team.
    pub team_id: Option<i64>,
    /// Only this brand account.
    pub brand_account_id: Option<i64>,
    /// Only this network.
    pub network: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The figures of one slice, following the definitions in docs/architecture.md ("Metrics").
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Figures {
    /// Customer messages.
    pub inbound: i64,
    /// Brand messages.
    pub outbound: i64,
    /// Conversations opened.
    pub conversations: i64,
    /// Customer messages answered.
    pub responses: i64,
    /// `responses / inbound`.
    pub response_rate: Option<f64>,
    /// First responses.
    pub first_responses: i64,
    /// Mean first response time, seconds.
    pub frt_mean_secs: Option<f64>,
    /// First responses within target.
    pub frt_met: i64,
    /// `frt_met / first_responses`.
    pub frt_attainment: Option<f64>,
    /// Mean response time over every answered customer message, seconds.
    pub art_mean_secs: Option<f64>,
    /// Answers within target.
    pub art_met: i64,
    /// `art_met / responses`.
    pub art_attainment: Option<f64>,
    /// Answers (first or later) past their due time.
    pub breaches: i64,
    /// Resolutions.
    pub resolved: i64,
    /// Mean first message → resolution, seconds.
    pub resolution_mean_secs: Option<f64>,
    /// Average handling time of the conversations resolved, seconds.
    pub aht_secs: Option<f64>,
    /// Total handling time spent, seconds.
    pub tht_secs: f64,
    /// Conversations that started negative.
    pub negative_starts: i64,
    /// Of those, now positive (net change over the period).
    pub conversions: i64,
    /// `conversions / negative_starts`.
    pub conversion_rate: Option<f64>,
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn mean_secs(ms: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| ms as f64 / n as f64 / 1000.0)
}

impl From<Counts> for Figures {
    fn from(c: Counts) -> Self {
        Self {
            inbound: c.inbound,
            outbound: c.outbound,
            conversations: c.conversations,
            responses: c.responses,
            response_rate: ratio(c.responses, c.inbound),
            first_responses: c.first_responses,
            frt_mean_secs: mean_secs(c.frt_ms, c.first_responses),
            frt_met: c.frt_met,
            frt_attainment: ratio(c.frt_met, c.first_responses),
            art_mean_secs: mean_secs(c.art_ms, c.responses),
            art_met: c.art_met,
            art_attainment: ratio(c.art_met, c.responses),
            breaches: (c.first_responses - c.frt_met) + (c.responses - c.art_met),
            resolved: c.resolved,
            resolution_mean_secs: mean_secs(c.resolution_ms, c.resolved),
            aht_secs: mean_secs(c.resolved_handling_ms, c.resolved),
            tht_secs: c.handling_ms as f64 / 1000.0,
            negative_starts: c.negative_starts,
            conversions: c.conversions,
            conversion_rate: ratio(c.conversions, c.negative_starts),
        }
    }
}

/// All, inside business hours, outside them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Split {
    /// Everything.
    pub all: Figures,
    /// Customer messages (and conversations) that arrived in business hours.
    pub in_hours: Figures,
    /// …and outside them.
    pub out_of_hours: Figures,
}

#[derive(Default, Clone, Copy)]
struct SplitCounts {
    all: Counts,
    inside: Counts,
    outside: Counts,
}

impl SplitCounts {
    fn add(&mut self, c: Counts, in_hours: bool) {
        self.all += c;
        if in_hours {
            self.inside += c;
        } else {
            self.outside += c;
        }
    }
}

impl From<SplitCounts> for Split {
    fn from(s: SplitCounts) -> Self {
        Self { all: s.all.into(), in_hours: s.inside.into(), out_of_hours: s.outside.into() }
    }
}

/// One bucket of one slice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HistoryRow {
    /// Start of the hour or day.
    pub bucket_start: DateTime<Utc>,
    /// The agent id, team id, brand account id, network or category (`by`); null without `by`
    /// (and for no team, no agent, no brand account, no category).
    pub key: Option<String>,
    /// The figures.
    #[serde(flatten)]
    pub figures: Split,
}

/// `GET /api/v1/metrics/history`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct History {
    /// First bucket's start.
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// `hour` or `day`.
    pub bucket: String,
    /// The split, if any.
    pub by: Option<String>,
    /// Buckets with anything in them, in time order, then by key.
    pub rows: Vec<HistoryRow>,
    /// The whole period.
    pub total: Split,
}

#[derive(Debug, FromQueryResult)]
struct Summed {
    bucket: i64,
    key: Option<String>,
    in_hours: i16,
    #[sea_orm(nested)]
    counts: Counts,
}

/// The key expression of a split, and whether 0 / "" mean "none".
fn key_expr(by: Option<&str>) -> Result<&'static str, Error> {
    Ok(match by {
        None => "NULL",
        Some("agent") => "CAST(agent_id AS TEXT)",
        Some("team") => "CAST(team_id AS TEXT)",
        Some("brand_account") => "CAST(brand_account_id AS TEXT)",
        Some("network") => "network",
        Some("category") => "category",
        Some(other) => {
            return Err(Error::Validation(format!(
                "by is agent, team, brand_account, network or category (got {other:?})"
            )));
        }
    })
}

fn none_key(by: Option<&str>, key: Option<String>) -> Option<String> {
    match (by, key) {
        (Some("agent" | "team" | "brand_account"), Some(k)) if k == "0" => None,
        (_, Some(k)) if k.is_empty() => None,
        (_, k) => k,
    }
}

/// Reads the history.
pub async fn read(db: &impl ConnectionTrait, q: &HistoryQuery) -> Result<History, Error> {
    let (width, max) = match q.bucket.as_deref().unwrap_or("hour") {
        "hour" => (1, MAX_HOURS),
        "day" => (24, MAX_DAYS * 24),
        other => return Err(Error::Validation(format!("bucket is hour or day (got {other:?})"))),
    };
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - Duration::hours(24));
    let first_hour = super::tally::hour_of(from).div_euclid(width) * width;
    let end_hour = (to.timestamp() + 3599).div_euclid(3600);
    if end_hour <= first_hour {
        return Err(Error::Validation("from must be before to".into()));
    }
    if end_hour - first_hour > max {
        return Err(Error::Validation(format!(
            "at most {} {}s at a time",
            max / width,
            if width == 1 { "hour" } else { "day" }
        )));
    }
    let by = q.by.as_deref();
    let key = key_expr(by)?;
    let bucket = if width == 1 { "hour".to_owned() } else { format!("(hour / {width})") };
    let mut sel = metric_hour::Entity::find()
        .select_only()
        .column_as(Expr::cust(bucket.clone()), "bucket")
        .column_as(Expr::cust(key), "key")
        .column(metric_hour::Column::InHours)
        .filter(metric_hour::Column::Hour.gte(first_hour))
        .filter(metric_hour::Column::Hour.lt(end_hour));
    for (_, c) in super::tally::COUNTERS {
        sel = sel.column_as(Expr::cust(format!("CAST(SUM({c}) AS BIGINT)")), c);
    }
    if let Some(a) = q.agent_id {
        sel = sel.filter(metric_hour::Column::AgentId.eq(a));
    }
    if let Some(t) = q.team_id {
        sel = sel.filter(metric_hour::Column::TeamId.eq(t));
    }
    if let Some(a) = q.brand_account_id {
        sel = sel.filter(metric_hour::Column::BrandAccountId.eq(a));
    }
    if let Some(n) = &q.network {
        sel = sel.filter(metric_hour::Column::Network.eq(n.as_str()));
    }
    if let Some(c) = &q.category {
        sel = sel.filter(metric_hour::Column::Category.eq(c.as_str()));
    }
    sel = sel.group_by(Expr::cust(bucket)).group_by(metric_hour::Column::InHours);
    if by.is_some() {
        sel = sel.group_by(Expr::cust(key));
    }
    let rows: Vec<Summed> = sel.order_by_asc(Expr::cust("1")).into_model::<Summed>().all(db).await?;
    let mut slices: std::collections::BTreeMap<(i64, Option<String>), SplitCounts> = Default::default();
    let mut total = SplitCounts::default();
    for r in &rows {
        let counts = r.counts;
        slices.entry((r.bucket, none_key(by, r.key.clone()))).or_default().add(counts, r.in_hours != 0);
        total.add(counts, r.in_hours != 0);
    }
    let start_of = |b: i64| DateTime::from_timestamp(b * width * 3600, 0).unwrap_or_default();
    Ok(History {
        from: start_of(first_hour / width),
        to,
        bucket: if width == 1 { "hour".into() } else { "day".into() },
        by: q.by.clone(),
        rows: slices
            .into_iter()
            .map(|((b, key), s)| HistoryRow { bucket_start: start_of(b), key, figures: s.into() })
            .collect(),
        total: total.into(),
    })
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

/// The history as CSV: one row per bucket, key and scope (`all`, `in_hours`, `out_of_hours`).
pub fn csv(h: &History) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Unexpected(e.into());
    w.write_record([
        "bucket_start",
        "key",
        "scope",
        "inbound",
        "outbound",
        "conversations",
        "responses",
        "response_rate",
        "first_responses",
        "frt_mean_secs",
        "frt_attainment",
        "art_mean_secs",
        "art_attainment",
        "breaches",
        "resolved",
        "resolution_mean_secs",
        "aht_secs",
        "tht_secs",
        "negative_starts",
        "conversions",
        "conversion_rate",
    ])
    .map_err(fail)?;
    for r in &h.rows {
        for (scope, f) in
            [("all", &r.figures.all), ("in_hours", &r.figures.in_hours), ("out_of_hours", &r.figures.out_of_hours)]
        {
            w.write_record([
                r.bucket_start.to_rfc3339(),
                r.key.clone().unwrap_or_default(),
                scope.to_owned(),
                f.inbound.to_string(),
                f.outbound.to_string(),
                f.conversations.to_string(),
                f.responses.to_string(),
                opt(f.response_rate),
                f.first_responses.to_string(),
                opt(f.frt_mean_secs),
                opt(f.frt_attainment),
                opt(f.art_mean_secs),
                opt(f.art_attainment),
                f.breaches.to_string(),
                f.resolved.to_string(),
                opt(f.resolution_mean_secs),
                opt(f.aht_secs),
                format!("{:.3}", f.tht_secs),
                f.negative_starts.to_string(),
                f.conversions.to_string(),
                opt(f.conversion_rate),
            ])
            .map_err(fail)?;
        }
    }
    w.into_inner().map_err(|e| Error::Unexpected(anyhow::anyhow!("{e}")))
}
