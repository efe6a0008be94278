//! The supervisor's floor: per agent, what they are doing now and what they have done since the
//! start of the day — status and its timeline, conversations held, handling time, replies, first
//! responses, resolutions, breaches, their last action; per team, what waits and how well the
//! targets are met; and the approval requests waiting, oldest first.
//!
//! Figures come from where they are kept anyway — the hourly aggregates (`metric_hours`, by
//! agent and by team), the store's holders, the coordinator's presence, the audit trail for
//! the last action — so the view costs a handful of grouped queries however busy the floor.
//! Status history is the one thing recorded for it: each session's online, away and offline
//! ([`record_status`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{agent, agent_status_change, approval, audit, conversation, team};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::history::{Figures, HistoryQuery};
use crate::auth::Role;
use crate::coord::{Coordination, Coordinator};
use crate::error::Error;

/// Longest look back: the floor is about today.
const MAX_LOOKBACK_HOURS: i64 = 48;
/// Approval requests listed.
const APPROVALS: u64 = 200;

/// One stretch of a status.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Stretch {
    /// `online`, `away` or `offline`.
    pub status: String,
    /// From.
    pub from: DateTime<Utc>,
    /// To (none: still).
    pub to: Option<DateTime<Utc>>,
}

/// One agent on the floor.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FloorAgent {
    /// The agent.
    pub agent_id: i64,
    /// Their name.
    pub name: String,
    /// Their team.
    pub team_id: Option<i64>,
    /// `online`, `away` or `offline` now.
    pub status: String,
    /// Since when.
    pub status_since: Option<DateTime<Utc>>,
    /// The day so far, oldest first.
    pub status_today: Vec<Stretch>,
    /// Conversations they hold now.
    pub held: i64,
    /// Most they may hold.
    pub capacity: i32,
    /// Handling time since the start, seconds.
    pub handling_secs: i64,
    /// Replies sent.
    pub replies: i64,
    /// First responses.
    pub first_responses: i64,
    /// Conversations resolved.
    pub resolved: i64,
    /// Answers past their due time.
    pub breaches: i64,
    /// Their last action anywhere (a claim, a reply, a note…).
    pub last_action_at: Option<DateTime<Utc>>,
}

/// One team's queue.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FloorTeam {
    /// The team (none: the general queue).
    pub team_id: Option<i64>,
    /// Its name.
    pub name: String,
    /// Conversations waiting for someone to take them.
    pub queued: i64,
    /// How long the customer who has waited longest has waited, seconds.
    pub oldest_wait_secs: Option<i64>,
    /// Answers within target since the start (none: no answers yet).
    pub attainment: Option<f64>,
}

/// An approval request waiting.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FloorApproval {
    /// The request.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Who decides.
    pub group: String,
    /// Who wrote the reply.
    pub author_id: i64,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// How long it has waited, seconds.
    pub age_secs: i64,
    /// When it moves on unless decided.
    pub due_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/floor`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Floor {
    /// When read.
    pub at: DateTime<Utc>,
    /// The start of the figures.
    pub since: DateTime<Utc>,
    /// Agents (not wallboard screens), by name.
    pub agents: Vec<FloorAgent>,
    /// The general queue, then teams by name.
    pub teams: Vec<FloorTeam>,
    /// Approval requests waiting, oldest first.
    pub approvals: Vec<FloorApproval>,
}

/// From when.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FloorQuery {
    /// Start of the figures (RFC 3339; the console sends its local midnight). Default: the
    /// start of the UTC day; at most 48 hours back.
    pub since: Option<DateTime<Utc>>,
}

/// Records an agent's status as one of their sessions set it.
///
/// On SQLite the insert goes through the group commit of live writes (`Live::commit_aside`).
/// Why: sessions open and close in waves (a shift starting, a load balancer moving everyone),
/// and each writes a status. Written on their own on SQLite, those inserts met the ingest writer
/// and the claims in SQLite's busy handler, which sleeps in steps of up to 100 ms: in the
/// bench's crisis mix one insert waited 833 ms. Each waiting its own turn at the write lock was
/// worse (the ingest writer queued behind hundreds of one-row transactions). In the group
/// commit a wave of them shares a few transactions with the claims (docs/performance.md). On
/// PostgreSQL, whose writers do not exclude each other, they have batches of their own beside
/// the claims' (see `Live::commit_aside`), so a wave does not hold the claims behind it.
pub async fn record_status(
    db: &sea_orm::DatabaseConnection,
    live: &crate::live::Live,
    agent_id: i64,
    status: &str,
) -> Result<(), Error> {
    let (status, at) = (status.to_owned(), Utc::now());
    live.commit_aside(db, 1, move |txn| {
        let status = status.clone();
        Box::pin(async move {
            agent_status_change::ActiveModel {
                agent_id: Set(agent_id),
                status: Set(status),
                at: Set(at),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            Ok(((), crate::live::Staged::default()))
        })
    })
    .await
}

/// The stretches of the day from the changes since `since` and the status at `since`
/// (`before`): repeats of one status (a second session opening) are one stretch.
pub fn stretches(before: Option<&str>, changes: &[(String, DateTime<Utc>)], since: DateTime<Utc>) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    if let Some(b) = before {
        out.push(Stretch { status: b.to_owned(), from: since, to: None });
    }
    for (status, at) in changes {
        if out.last().is_some_and(|s| &s.status == status) {
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.to = Some(*at);
        }
        out.push(Stretch { status: status.clone(), from: *at, to: None });
    }
    out
}

fn start_of(q: &FloorQuery, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let since = q.since.unwrap_or(midnight);
    if since > now || now - since > chrono::Duration::hours(MAX_LOOKBACK_HOURS) {
        return Err(Error::Validation(format!("since must be within the last {MAX_LOOKBACK_HOURS} hours")));
    }
    Ok(since)
}

/// Per-key sums of the hourly aggregates since `since`, split `by` agent or team.
async fn sums(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    by: &str,
) -> Result<HashMap<Option<i64>, Figures>, Error> {
    let q = HistoryQuery {
        from: Some(since),
        to: Some(now + chrono::Duration::hours(1)),
        bucket: Some("hour".into()),
        by: Some(by.into()),
        ..Default::default()
    };
    let mut out: HashMap<Option<i64>, Figures> = HashMap::new();
    for row in super::history::read(db, &q).await?.rows {
        let f = out.entry(row.key.and_then(|k| k.parse().ok())).or_default();
        let r = row.figures.all;
        f.outbound += r.outbound;
        f.first_responses += r.first_responses;
        f.frt_met += r.frt_met;
        f.responses += r.responses;
        f.art_met += r.art_met;
        f.breaches += r.breaches;
        f.resolved += r.resolved;
        f.tht_secs += r.tht_secs;
    }
    Ok(out)
}

/// The floor now, figures since `q.since`.
pub async fn read(db: &impl ConnectionTrait, coord: &Coordination, q: &FloorQuery) -> Result<Floor, Error> {
    let now = Utc::now();
    let since = start_of(q, now)?;
    let people: Vec<agent::Model> = agent::Entity::find()
        .filter(agent::Column::Active.eq(true))
        .order_by_asc(agent::Column::Name)
        .order_by_asc(agent::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|a| Role::parse_stored(&a.roles).iter().any(|r| *r != Role::Wallboard))
        .collect();
    let presence: HashMap<i64, String> = coord
        .presences()
        .await?
        .into_iter()
        .filter_map(|(a, doc)| {
            let v: serde_json::Value = serde_json::from_str(&doc).ok()?;
            Some((a.get(), v["status"].as_str()?.to_owned()))
        })
        .collect();
    let held: HashMap<i64, i64> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::AssigneeId)
        .column_as(conversation::Column::Id.count(), "n")
        .filter(conversation::Column::AssigneeId.is_not_null())
        .filter(conversation::Column::Status.ne(crate::conversations::STATUS_RESOLVED))
        .group_by(conversation::Column::AssigneeId)
        .into_tuple::<(Option<i64>, i64)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(a, n)| Some((a?, n)))
        .collect();
    let changes = status_changes(db, since, None).await?;
    let before = status_before(db, since).await?;
    let last_actions = last_actions(db, since).await?;
    let by_agent = sums(db, since, now, "agent").await?;
    let agents = people
        .into_iter()
        .map(|a| {
            let f = by_agent.get(&Some(a.id)).cloned().unwrap_or_default();
            let today =
                stretches(before.get(&a.id).map(String::as_str), changes.get(&a.id).map_or(&[], Vec::as_slice), since);
            let status = presence.get(&a.id).cloned().unwrap_or_else(|| "offline".to_owned());
            let status_since = today.last().filter(|s| s.status == status).map(|s| s.from);
            FloorAgent {
                agent_id: a.id,
                name: a.name,
                team_id: a.team_id,
                status,
                status_since,
                status_today: today,
                held: held.get(&a.id).copied().unwrap_or(0),
                capacity: a.capacity,
                handling_secs: f.tht_secs.round() as i64,
                replies: f.outbound,
                first_responses: f.first_responses,
                resolved: f.resolved,
                breaches: f.breaches,
                last_action_at: last_actions.get(&a.id).copied(),
            }
        })
        .collect();
    Ok(Floor { at: now, since, agents, teams: teams(db, since, now).await?, approvals: approvals(db, now).await? })
}

/// Each agent's status changes from `since` (until `until`, if given), in order.
pub(crate) async fn status_changes(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<HashMap<i64, Vec<(String, DateTime<Utc>)>>, Error> {
    let mut sel = agent_status_change::Entity::find()
        .select_only()
        .columns([
            agent_status_change::Column::AgentId,
            agent_status_change::Column::Status,
            agent_status_change::Column::At,
        ])
        .filter(agent_status_change::Column::At.gte(since));
    if let Some(until) = until {
        sel = sel.filter(agent_status_change::Column::At.lt(until));
    }
    let rows: Vec<(i64, String, DateTime<Utc>)> = sel
        .order_by_asc(agent_status_change::Column::At)
        .order_by_asc(agent_status_change::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut changes: HashMap<i64, Vec<(String, DateTime<Utc>)>> = HashMap::new();
    for (a, s, at) in rows {
        changes.entry(a).or_default().push((s, at));
    }
    Ok(changes)
}

/// Each agent's status at `since`: their last change before it.
pub(crate) async fn status_before(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<HashMap<i64, String>, Error> {
    let latest: Vec<(i64, i64)> = agent_status_change::Entity::find()
        .select_only()
        .column(agent_status_change::Column::AgentId)
        .column_as(agent_status_change::Column::Id.max(), "id")
        .filter(agent_status_change::Column::At.lt(since))
        .filter(agent_status_change::Column::At.gte(since - chrono::Duration::hours(MAX_LOOKBACK_HOURS)))
        .group_by(agent_status_change::Column::AgentId)
        .into_tuple()
        .all(db)
        .await?;
    if latest.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = agent_status_change::Entity::find()
        .filter(agent_status_change::Column::Id.is_in(latest.into_iter().map(|(_, id)| id)))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.agent_id, r.status)).collect())
}

/// Each agent's newest audited action since `since`.
async fn last_actions(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<HashMap<i64, DateTime<Utc>>, Error> {
    let rows: Vec<(String, Option<DateTime<Utc>>)> = audit::Entity::find()
        .select_only()
        .column(audit::Column::Actor)
        .column_as(audit::Column::CreatedAt.max(), "at")
        .filter(audit::Column::CreatedAt.gte(since))
        .filter(audit::Column::Actor.starts_with("agent:"))
        .filter(audit::Column::Action.ne("auth.login"))
        .group_by(audit::Column::Actor)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(actor, at)| Some((actor.strip_prefix("agent:")?.parse().ok()?, at?))).collect())
}

/// The general queue and every team: waiting now, the longest wait, attainment since `since`.
async fn teams(db: &impl ConnectionTrait, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<FloorTeam>, Error> {
    let waiting: Vec<(Option<i64>, i64, Option<DateTime<Utc>>)> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::TeamId)
        .column_as(conversation::Column::Id.count(), "n")
        .column_as(conversation::Column::AwaitingSince.min(), "oldest")
        .filter(
            conversation::Column::Status.is_in([crate::conversations::STATUS_NEW, crate::conversations::STATUS_OPEN]),
        )
        .filter(conversation::Column::Priority.lte(2))
        .filter(conversation::Column::AssigneeId.is_null())
        .filter(conversation::Column::EscalatedTo.is_null())
        .group_by(conversation::Column::TeamId)
        .into_tuple()
        .all(db)
        .await?;
    let waiting: HashMap<Option<i64>, (i64, Option<DateTime<Utc>>)> =
        waiting.into_iter().map(|(t, n, oldest)| (t, (n, oldest))).collect();
    let by_team = sums(db, since, now, "team").await?;
    let names = team::Entity::find().order_by_asc(team::Column::Name).all(db).await?;
    let general = std::iter::once((None, "General".to_owned()));
    Ok(general
        .chain(names.into_iter().map(|t| (Some(t.id), t.name)))
        .map(|(id, name)| {
            let (queued, oldest) = waiting.get(&id).copied().unwrap_or((0, None));
            let f = by_team.get(&id).cloned().unwrap_or_default();
            let answered = f.first_responses + f.responses;
            FloorTeam {
                team_id: id,
                name,
                queued,
                oldest_wait_secs: oldest.map(|o| (now - o).num_seconds().max(0)),
                attainment: (answered > 0).then(|| (f.frt_met + f.art_met) as f64 / answered as f64),
            }
        })
        .collect())
}

/// Approval requests waiting, oldest first.
async fn approvals(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<FloorApproval>, Error> {
    let rows = approval::Entity::find()
        .filter(approval::Column::Status.eq(crate::approvals::STATUS_PENDING))
        .order_by_asc(approval::Column::RequestedAt)
        .order_by_asc(approval::Column::Id)
        .limit(APPROVALS)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|a| FloorApproval {
            id: a.id,
            conversation_id: a.conversation_id,
            group: a.group_name,
            author_id: a.author_id,
            requested_at: a.requested_at,
            age_secs: (now - a.requested_at).num_seconds().max(0),
            due_at: a.due_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_status_changes_is_a_timeline_without_repeats() {
        let t0 = Utc::now() - chrono::Duration::hours(3);
        let at = |m: i64| t0 + chrono::Duration::minutes(m);
        let changes = vec![
            ("online".to_owned(), at(10)),
            ("online".to_owned(), at(12)), // a second tab
            ("away".to_owned(), at(60)),
            ("online".to_owned(), at(75)),
            ("offline".to_owned(), at(120)),
        ];
        let day = stretches(Some("offline"), &changes, t0);
        type Shape<'a> = (&'a str, DateTime<Utc>, Option<DateTime<Utc>>);
        let shape: Vec<Shape> = day.iter().map(|s| (s.status.as_str(), s.from, s.to)).collect();
        assert_eq!(
            shape,
            vec![
                ("offline", t0, Some(at(10))),
                ("online", at(10), Some(at(60))),
                ("away", at(60), Some(at(75))),
                ("online", at(75), Some(at(120))),
                ("offline", at(120), None),
            ]
        );
        assert!(stretches(None, &[], t0).is_empty());
    }

    #[test]
    fn the_floor_looks_back_at_most_two_days() {
        let now = Utc::now();
        assert!(start_of(&FloorQuery { since: Some(now - chrono::Duration::hours(49)) }, now).is_err());
        assert!(start_of(&FloorQuery { since: Some(now + chrono::Duration::minutes(1)) }, now).is_err());
        assert!(start_of(&FloorQuery::default(), now).is_ok_and(|s| s <= now));
    }
}
