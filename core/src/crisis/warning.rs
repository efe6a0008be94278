//! Early warning: inbound volume per topic (all messages, each triage category, each watched
//! term) in the latest window, against the same topic's own average over the windows before.
//! A topic at `spike_ratio` times its baseline (and at least `min_count` messages) raises a
//! `crisis.alert` to PR and supervisors (the `alerts` topic) with sample messages. Windows are
//! counted by the messages' own time, so a replayed stream alerts as the live one would; the
//! alert row is unique per topic and window, so with several nodes watching, one raises it.

use chrono::{DateTime, Duration, Utc};
use entity::{conversation, crisis_alert, message};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::crisis::CrisisSettings;
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Sample messages an alert carries.
const SAMPLES: u64 = 5;

/// A message that triggered an alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sample {
    /// Message id.
    pub message_id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Network.
    pub network: String,
    /// Text.
    pub text: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

impl From<message::Model> for Sample {
    fn from(m: message::Model) -> Self {
        Self {
            message_id: m.id,
            conversation_id: m.conversation_id,
            network: m.network,
            text: m.text,
            sent_at: m.sent_at,
        }
    }
}

/// A spike, as `crisis.alert` carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alert {
    /// Id.
    pub id: i64,
    /// `all`, `category:<name>` or `term:<word>`.
    pub topic: String,
    /// Messages in the window.
    pub count: i32,
    /// The topic's average per window before it.
    pub baseline: f64,
    /// `count / baseline` (`count` when the baseline is zero).
    pub ratio: f64,
    /// The window's length in seconds.
    pub window_secs: u64,
    /// The window's start.
    pub window_start: DateTime<Utc>,
    /// The latest messages of the spike.
    pub samples: Vec<Sample>,
}

/// What one topic counts.
#[derive(Debug, Clone, PartialEq)]
enum Topic {
    All,
    Category(String),
    Term(String),
}

impl Topic {
    fn name(&self) -> String {
        match self {
            Topic::All => "all".into(),
            Topic::Category(c) => format!("category:{c}"),
            Topic::Term(t) => format!("term:{t}"),
        }
    }
}

fn inbound_between(from: DateTime<Utc>, to: DateTime<Utc>) -> sea_orm::Select<message::Entity> {
    message::Entity::find()
        .filter(message::Column::Direction.eq("inbound"))
        .filter(message::Column::SentAt.gte(from))
        .filter(message::Column::SentAt.lt(to))
}

fn narrow(q: sea_orm::Select<message::Entity>, topic: &Topic) -> sea_orm::Select<message::Entity> {
    match topic {
        Topic::All => q,
        Topic::Category(c) => q.filter(
            message::Column::ConversationId.in_subquery(
                conversation::Entity::find()
                    .select_only()
                    .column(conversation::Column::Id)
                    .filter(conversation::Column::Category.eq(c.as_str()))
                    .into_query(),
            ),
        ),
        Topic::Term(t) => q.filter(
            Expr::expr(Func::lower(Expr::col((message::Entity, message::Column::Text)))).like(format!("%{t}%")),
        ),
    }
}

async fn count(db: &impl ConnectionTrait, q: sea_orm::Select<message::Entity>) -> Result<i64, Error> {
    use sea_orm::PaginatorTrait;
    Ok(i64::try_from(q.count(db).await?).unwrap_or(i64::MAX))
}

/// Whether `count` in the window is a spike against `baseline` per window.
pub fn is_spike(count: i64, baseline: f64, s: &CrisisSettings) -> bool {
    count >= i64::from(s.min_count) && (count as f64) >= s.spike_ratio * baseline.max(0.0)
}

/// One look at the stream; returns the alerts raised.
pub async fn scan(db: &DatabaseConnection, live: &Live, s: &CrisisSettings) -> Result<usize, Error> {
    let window = Duration::seconds(i64::try_from(s.window_secs).unwrap_or(300));
    let now = Utc::now();
    let start = now - window;
    let base_from = start - window * i32::try_from(s.baseline_windows).unwrap_or(12);
    let in_window = inbound_between(start, now).select_only().column(message::Column::ConversationId).into_query();
    let categories: Vec<Option<String>> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::Category)
        .filter(conversation::Column::Id.in_subquery(in_window))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut topics = vec![Topic::All];
    topics.extend(categories.into_iter().flatten().map(Topic::Category));
    topics.extend(super::watched::terms(db).await?.into_iter().map(Topic::Term));
    let mut raised = 0;
    for topic in topics {
        let now_count = count(db, narrow(inbound_between(start, now), &topic)).await?;
        if now_count < i64::from(s.min_count) {
            continue;
        }
        let before = count(db, narrow(inbound_between(base_from, start), &topic)).await?;
        let baseline = before as f64 / f64::from(s.baseline_windows);
        if !is_spike(now_count, baseline, s) {
            continue;
        }
        if raise(db, live, s, &topic, (now_count, baseline), (start, now)).await? {
            raised += 1;
        }
    }
    Ok(raised)
}

/// Raises an alert for a spike of `n` messages against `baseline` in the window `start..now`.
async fn raise(
    db: &DatabaseConnection,
    live: &Live,
    s: &CrisisSettings,
    topic: &Topic,
    (n, baseline): (i64, f64),
    (start, now): (DateTime<Utc>, DateTime<Utc>),
) -> Result<bool, Error> {
    let name = topic.name();
    // Quiet for a while after an alert on the same topic: one spike, one alert.
    let cooldown = now - Duration::seconds(i64::try_from(s.cooldown_secs).unwrap_or(1800));
    let recent = crisis_alert::Entity::find()
        .filter(crisis_alert::Column::Topic.eq(name.as_str()))
        .filter(crisis_alert::Column::RaisedAt.gte(cooldown))
        .one(db)
        .await?;
    if recent.is_some() {
        return Ok(false);
    }
    let samples: Vec<Sample> = narrow(inbound_between(start, now), topic)
        .order_by_desc(message::Column::SentAt)
        .limit(SAMPLES)
        .all(db)
        .await?
        .into_iter()
        .map(Sample::from)
        .collect();
    let window_secs = i64::try_from(s.window_secs).unwrap_or(300);
    let bucket = now.timestamp() / window_secs * window_secs;
    let txn = crate::db::begin_write(db).await?;
    let inserted = crisis_alert::ActiveModel {
        topic: Set(name.clone()),
        window_start: Set(bucket),
        count: Set(i32::try_from(n).unwrap_or(i32::MAX)),
        baseline: Set(baseline),
        samples: Set(serde_json::json!(samples)),
        raised_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let Ok(row) = inserted else {
        // Another node raised this window's alert.
        txn.rollback().await?;
        return Ok(false);
    };
    let alert = Alert {
        id: row.id,
        topic: name,
        count: row.count,
        baseline,
        ratio: if baseline > 0.0 { n as f64 / baseline } else { n as f64 },
        window_secs: s.window_secs,
        window_start: start,
        samples,
    };
    let mut evs = vec![NewEvent { kind: kind::CRISIS_ALERT, conversation_id: None, payload: serde_json::json!(alert) }];
    events::append(&txn, &evs).await?;
    let ratio = if baseline > 0.0 { format!("{:.0}× its usual", alert.ratio) } else { "from nothing".to_owned() };
    let actionable = crate::alerts::NewAlert {
        kind: entity::alert::Kind::CrisisSpike,
        dedupe_key: format!("crisis_spike:{}", row.id),
        title: format!("Spike on {}: {} messages in {} min, {ratio}", alert.topic, alert.count, s.window_secs / 60),
        detail: format!("{} sample messages in the early warning", alert.samples.len()),
        conversation_id: None,
        crisis_alert_id: Some(row.id),
    };
    evs.extend(crate::alerts::raise(&txn, actionable).await?);
    txn.commit().await?;
    live.publish(&evs);
    tracing::warn!(topic = %alert.topic, count = alert.count, baseline = alert.baseline, "crisis early warning raised");
    Ok(true)
}

/// Volume above its forecast's interval (`forecast::watch`), recorded as the early warning
/// records its own spikes: topic `forecast:<scope>`, the hour as its window, the forecast as its
/// baseline, the hour's latest messages as samples. PR and supervisors then see it where they
/// watch for spikes (`crisis.alert`, the floor's spike line, `GET /api/v1/crisis-alerts`), and a
/// spike that is no topic's in particular (a seasonal model catches what a flat 12-window
/// average cannot) still reaches them. In the caller's transaction; returns the row's id and its
/// `crisis.alert` event, or `None` when this scope's hour is recorded already (whichever node
/// came first).
pub async fn record_forecast_spike(
    txn: &impl ConnectionTrait,
    scope: &str,
    network: Option<crate::network::Network>,
    hour: DateTime<Utc>,
    count: i64,
    expected: f64,
) -> Result<Option<(i64, NewEvent)>, Error> {
    use sea_orm::sea_query::OnConflict;
    let topic = format!("forecast:{scope}");
    let end = hour + Duration::hours(1);
    let mut q = inbound_between(hour, end);
    if let Some(n) = network {
        q = q.filter(message::Column::Network.eq(n.as_str()));
    }
    let samples: Vec<Sample> =
        q.order_by_desc(message::Column::SentAt).limit(SAMPLES).all(txn).await?.into_iter().map(Sample::from).collect();
    let row = crisis_alert::ActiveModel {
        topic: Set(topic.clone()),
        window_start: Set(hour.timestamp()),
        count: Set(i32::try_from(count).unwrap_or(i32::MAX)),
        baseline: Set(expected),
        samples: Set(serde_json::json!(samples)),
        raised_at: Set(Utc::now()),
        ..Default::default()
    };
    // ON CONFLICT DO NOTHING rather than a failed insert: on PostgreSQL a failed statement would
    // abort the caller's whole transaction.
    let inserted = crisis_alert::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([crisis_alert::Column::Topic, crisis_alert::Column::WindowStart])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    let Some(row) = crisis_alert::Entity::find()
        .filter(crisis_alert::Column::Topic.eq(topic.as_str()))
        .filter(crisis_alert::Column::WindowStart.eq(hour.timestamp()))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let alert = Alert {
        id: row.id,
        topic,
        count: row.count,
        baseline: expected,
        ratio: if expected > 0.0 { count as f64 / expected } else { count as f64 },
        window_secs: 3600,
        window_start: hour,
        samples,
    };
    let ev = NewEvent { kind: kind::CRISIS_ALERT, conversation_id: None, payload: serde_json::json!(alert) };
    events::append(txn, std::slice::from_ref(&ev)).await?;
    Ok(Some((row.id, ev)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_is_many_times_the_baseline_and_enough_messages() {
        let s = CrisisSettings::default();
        assert!(is_spike(50, 2.0, &s), "25× its baseline");
        assert!(!is_spike(15, 2.0, &s), "7.5× is not 10×");
        assert!(!is_spike(5, 0.0, &s), "too few to mean anything");
        assert!(is_spike(s.min_count.into(), 0.0, &s), "from nothing to a burst");
    }
}
