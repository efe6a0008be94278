//! The floor right now: the queue (by tier and team, oldest wait, overdue, escalated), the
//! agents (online, away, with room, at capacity, from their presence), and today's first
//! responses against their targets. Each figure is one indexed query over conversations or a
//! read of presence — never a scan of the messages.

use chrono::{DateTime, Utc};
use entity::conversation;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use crate::coord::{Coordination, Coordinator};
use crate::error::Error;
use entity::conversation::Status;

/// Waiting conversations on one team's queue (`team_id` null: the general queue).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct TeamDepth {
    /// The team.
    pub team_id: Option<i64>,
    /// Tier 1 waiting.
    pub tier1: u64,
    /// Tier 2 waiting.
    pub tier2: u64,
}

/// The queue now.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct QueueFigures {
    /// Conversations waiting (new or open, tier 1 or 2).
    pub depth: u64,
    /// Of which tier 1.
    pub tier1: u64,
    /// Of which tier 2.
    pub tier2: u64,
    /// Waiting with nobody holding them.
    pub unassigned: u64,
    /// Past their response due time.
    pub overdue: u64,
    /// The customer waiting longest for an answer has waited since…
    pub oldest_waiting_since: Option<DateTime<Utc>>,
    /// …this many seconds.
    pub oldest_wait_secs: Option<i64>,
    /// Open escalations to a group.
    pub escalated: u64,
    /// Per team.
    pub by_team: Vec<TeamDepth>,
}

/// The agents now, from their presence.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct AgentFigures {
    /// Online (not away).
    pub online: u64,
    /// Away.
    pub away: u64,
    /// Online with room for another conversation.
    pub available: u64,
    /// Online and at capacity.
    pub at_capacity: u64,
    /// Conversations held by agents with a presence.
    pub holding: i64,
}

/// Today's first responses (since midnight UTC).
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct TodayFigures {
    /// Conversations first answered today.
    pub first_responses: u64,
    /// Their mean first response time, in seconds.
    pub frt_mean_secs: Option<f64>,
    /// Their median first response time, in seconds (the mean of the two middle values when
    /// their number is even).
    pub frt_median_secs: Option<f64>,
    /// Of them, answered within their target.
    pub within_target: u64,
    /// `within_target / first_responses`.
    pub attainment: Option<f64>,
}

/// Everything `GET /api/v1/metrics/live` shows.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct LiveFigures {
    /// When the figures were taken.
    pub at: DateTime<Utc>,
    /// The brand account they cover; absent for every account.
    pub brand_account_id: Option<i64>,
    /// The queue.
    pub queue: QueueFigures,
    /// The agents.
    pub agents: AgentFigures,
    /// Today: first responses from the conversations.
    pub today: TodayFigures,
    /// Today (since midnight UTC) from the hourly aggregates: FRT, ART, attainment, breaches,
    /// handling, in and out of business hours.
    pub sla_today: super::history::Split,
    /// The same per team (`team_id` null: no team).
    pub teams_today: Vec<TeamToday>,
    /// Agents needed this hour by the staffing plan, and online now (the whole floor); null
    /// where no forecast can be made yet (less than a day of history).
    pub staffing: Option<crate::staffing::plan::StaffingNow>,
}

/// One team's figures today.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct TeamToday {
    /// The team.
    pub team_id: Option<i64>,
    /// Its figures.
    pub figures: super::history::Figures,
}

fn queued() -> Condition {
    Condition::all()
        .add(conversation::Column::Status.is_in([Status::New, Status::Open]))
        .add(conversation::Column::Priority.lte(2))
}

/// One team and tier of the queue: team, tier, waiting, unassigned, overdue, oldest wait.
type QueueGroup = (Option<i64>, i16, i64, i64, i64, Option<DateTime<Utc>>);

/// Which slice of the floor the figures cover.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Only this brand account's conversations and figures (agents are shared by every account,
    /// so `agents` is the whole floor either way).
    pub brand_account_id: Option<i64>,
}

impl Scope {
    fn condition(self) -> Condition {
        match self.brand_account_id {
            Some(a) => Condition::all().add(conversation::Column::BrandAccountId.eq(a)),
            None => Condition::all(),
        }
    }
}

/// The queue now.
pub async fn queue(db: &impl ConnectionTrait, now: DateTime<Utc>, scope: Scope) -> Result<QueueFigures, Error> {
    use sea_orm::PaginatorTrait;
    use sea_orm::sea_query::Expr;
    // One pass over the waiting conversations (the queue index) for every per-group figure.
    let now_ms = now.timestamp_millis();
    let groups: Vec<QueueGroup> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::TeamId)
        .column(conversation::Column::Priority)
        .column_as(conversation::Column::Id.count(), "n")
        .column_as(Expr::cust("SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END)"), "unassigned")
        .column_as(Expr::cust(format!("SUM(CASE WHEN due_sort < {now_ms} THEN 1 ELSE 0 END)")), "overdue")
        .column_as(conversation::Column::AwaitingSince.min(), "oldest")
        .filter(queued())
        .filter(scope.condition())
        .group_by(conversation::Column::TeamId)
        .group_by(conversation::Column::Priority)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_team: Vec<TeamDepth> = Vec::new();
    let (mut unassigned, mut overdue, mut oldest) = (0u64, 0u64, None::<DateTime<Utc>>);
    for (team_id, priority, n, free, late, first) in groups {
        let n = u64::try_from(n).unwrap_or(0);
        unassigned += u64::try_from(free).unwrap_or(0);
        overdue += u64::try_from(late).unwrap_or(0);
        oldest = match (oldest, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let at = match by_team.iter().position(|t| t.team_id == team_id) {
            Some(i) => i,
            None => {
                by_team.push(TeamDepth { team_id, tier1: 0, tier2: 0 });
                by_team.len() - 1
            }
        };
        if priority == 1 {
            by_team[at].tier1 += n;
        } else {
            by_team[at].tier2 += n;
        }
    }
    by_team.sort_by_key(|t| t.team_id);
    let (tier1, tier2) = by_team.iter().fold((0, 0), |(a, b), t| (a + t.tier1, b + t.tier2));
    let escalated = conversation::Entity::find()
        .filter(conversation::Column::EscalatedTo.is_not_null())
        .filter(conversation::Column::Status.ne(Status::Resolved))
        .filter(scope.condition())
        .count(db)
        .await?;
    Ok(QueueFigures {
        depth: tier1 + tier2,
        tier1,
        tier2,
        unassigned,
        overdue,
        oldest_waiting_since: oldest,
        oldest_wait_secs: oldest.map(|t| (now - t).num_seconds().max(0)),
        escalated,
        by_team,
    })
}

async fn agents(coord: &Coordination) -> Result<AgentFigures, Error> {
    let mut f = AgentFigures::default();
    for (_, doc) in coord.presences().await? {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&doc) else { continue };
        let (load, capacity) = (v["load"].as_i64().unwrap_or(0), v["capacity"].as_i64().unwrap_or(0));
        f.holding += load;
        match v["status"].as_str() {
            Some("online") if load < capacity => {
                f.online += 1;
                f.available += 1;
            }
            Some("online") => {
                f.online += 1;
                f.at_capacity += 1;
            }
            Some("away") => f.away += 1,
            _ => {}
        }
    }
    Ok(f)
}

/// One first response: the customer's first message (also when the brand wrote first: the
/// same start as the aggregates, see `facts::outbound`), the brand's first answer, its due time.
pub type FirstResponse = (DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);

/// First response figures of these conversations.
pub fn first_responses(rows: &[FirstResponse]) -> TodayFigures {
    let mut secs: Vec<i64> =
        rows.iter().map(|(first, answered, _)| (*answered - *first).num_seconds().max(0)).collect();
    let n = secs.len() as u64;
    let within = rows.iter().filter(|(_, answered, due)| due.is_none_or(|d| *answered <= d)).count() as u64;
    TodayFigures {
        first_responses: n,
        frt_mean_secs: (n > 0).then(|| secs.iter().sum::<i64>() as f64 / n as f64),
        frt_median_secs: super::median(&mut secs),
        within_target: within,
        attainment: (n > 0).then(|| within as f64 / n as f64),
    }
}

/// Today's first responses, from the conversations.
pub async fn today(db: &impl ConnectionTrait, now: DateTime<Utc>, scope: Scope) -> Result<TodayFigures, Error> {
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let rows: Vec<FirstResponse> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::FirstInboundAt)
        .column(conversation::Column::FirstResponseAt)
        .column(conversation::Column::FirstResponseDueAt)
        .filter(conversation::Column::FirstResponseAt.gte(midnight))
        .filter(conversation::Column::FirstInboundAt.is_not_null())
        .filter(scope.condition())
        .into_tuple()
        .all(db)
        .await?;
    Ok(first_responses(&rows))
}

/// Today from the hourly aggregates: overall and per team.
pub async fn sla_today(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<(super::history::Split, Vec<TeamToday>), Error> {
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let q = super::history::HistoryQuery {
        from: Some(midnight),
        to: Some(midnight + chrono::Duration::days(1)),
        bucket: Some("day".into()),
        by: Some("team".into()),
        brand_account_id: scope.brand_account_id,
        ..Default::default()
    };
    let h = super::history::read(db, &q).await?;
    let teams = h
        .rows
        .into_iter()
        .map(|r| TeamToday { team_id: r.key.and_then(|k| k.parse().ok()), figures: r.figures.all })
        .collect();
    Ok((h.total, teams))
}

/// The figures now.
pub async fn figures(db: &impl ConnectionTrait, coord: &Coordination, scope: Scope) -> Result<LiveFigures, Error> {
    let now = Utc::now();
    let (sla_today, teams_today) = sla_today(db, now, scope).await?;
    Ok(LiveFigures {
        at: now,
        brand_account_id: scope.brand_account_id,
        queue: queue(db, now, scope).await?,
        agents: agents(coord).await?,
        today: today(db, now, scope).await?,
        sla_today,
        teams_today,
        staffing: None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn first_response_figures_follow_their_definitions() {
        let t = |m: i64| chrono::Utc.timestamp_opt(1_700_000_000 + m * 60, 0).single().unwrap_or_default();
        // Answered after 10, 20 and 60 minutes; targets 30, 30 and 30 minutes.
        let rows = [(t(0), t(10), Some(t(30))), (t(0), t(20), Some(t(30))), (t(0), t(60), Some(t(30)))];
        let f = super::first_responses(&rows);
        assert_eq!((f.first_responses, f.within_target), (3, 2));
        assert_eq!(f.frt_median_secs, Some(20.0 * 60.0));
        assert_eq!(f.frt_mean_secs, Some(30.0 * 60.0));
        assert_eq!(f.attainment, Some(2.0 / 3.0));
        // An even number: the mean of the two middle values.
        let f = super::first_responses(&rows[..2]);
        assert_eq!(f.frt_median_secs, Some(15.0 * 60.0));
        assert_eq!(super::first_responses(&[]), super::TodayFigures::default());
    }
}
