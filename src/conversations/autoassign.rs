//! Push assignment: when it is on, waiting conversations are handed to online agents with room
//! instead of waiting for them to ask (`next`). Never to an offline, away or full agent; when
//! everyone is full, conversations wait in queue order and go out as capacity frees. Each hand-out
//! is an ordinary claim (atomic, with the capacity check), so nodes running this side by side
//! never hand one conversation out twice; the agent hears it on their `agent:<id>` topic as a
//! `conversation.claimed` with `"assigned_by": "auto"`.

use std::collections::HashMap;
use std::time::Duration;

use entity::{agent, conversation};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::claims::{self, Claimant};
use super::routing::{self, Available, Skills};
use super::{STATUS_NEW, STATUS_OPEN};
use crate::error::ApiError;
use crate::live::Live;

/// Waiting conversations looked at per round.
const ROUND: u64 = 200;

/// Picks who gets `c`: their previous agent if available, else the least loaded available agent
/// whose skills cover it.
fn pick(
    c: &conversation::Model,
    previous: Option<i64>,
    pool: &[Available],
    skills: &HashMap<i64, Skills>,
) -> Option<usize> {
    let fits = |a: &Available| a.load < a.capacity && skills.get(&a.agent_id).is_some_and(|s| s.covers(c));
    if let Some(p) = previous
        && let Some(i) = pool.iter().position(|a| a.agent_id == p && fits(a))
    {
        return Some(i);
    }
    pool.iter()
        .enumerate()
        .filter(|(_, a)| fits(a))
        .min_by(|(_, x), (_, y)| (x.load * y.capacity, x.agent_id).cmp(&(y.load * x.capacity, y.agent_id)))
        .map(|(i, _)| i)
}

/// One round: hands out what it can; returns how many conversations it assigned.
pub async fn round(db: &DatabaseConnection, live: &Live, lease: Duration) -> Result<usize, ApiError> {
    let mut pool = routing::available(&live.coord).await?;
    if pool.is_empty() {
        return Ok(0);
    }
    let agents = agent::Entity::find()
        .filter(agent::Column::Id.is_in(pool.iter().map(|a| a.agent_id)))
        .filter(agent::Column::Active.eq(true))
        .all(db)
        .await?;
    let skills: HashMap<i64, Skills> = agents
        .iter()
        .map(|a| {
            let list: Vec<String> = serde_json::from_value(a.skills.clone()).unwrap_or_default();
            (a.id, Skills::parse(&list))
        })
        .collect();
    pool.retain(|a| skills.contains_key(&a.agent_id));
    let waiting = conversation::Entity::find()
        .filter(conversation::Column::Status.is_in([STATUS_NEW, STATUS_OPEN]))
        .filter(conversation::Column::Priority.lte(2))
        .filter(conversation::Column::AssigneeId.is_null())
        .order_by_asc(conversation::Column::Priority)
        .order_by_asc(conversation::Column::DueSort)
        .order_by_desc(conversation::Column::Risk)
        .order_by_asc(conversation::Column::Id)
        .limit(ROUND)
        .all(db)
        .await?;
    let previous: HashMap<i64, Option<i64>> = conversation::Entity::find()
        .select_only()
        .columns([conversation::Column::Id, conversation::Column::AssigneeId])
        .filter(conversation::Column::Id.is_in(waiting.iter().filter_map(|c| c.previous_conversation_id)))
        .into_tuple::<(i64, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut assigned = 0;
    for c in &waiting {
        if pool.iter().all(|a| a.load >= a.capacity) {
            break;
        }
        let prev = c.previous_conversation_id.and_then(|p| previous.get(&p).copied().flatten());
        let Some(i) = pick(c, prev, &pool, &skills) else { continue };
        let a = pool[i];
        let who = Claimant {
            agent_id: a.agent_id,
            capacity: i32::try_from(a.capacity).unwrap_or(0),
            lease,
            skills: Vec::new(),
        };
        match claims::claim_as(db, live, c.id, &who, serde_json::json!({"assigned_by": "auto"})).await {
            Ok(_) => {
                pool[i].load += 1;
                assigned += 1;
            }
            // Their presence was behind: they are full. Stop offering them work this round.
            Err(ApiError::AtCapacity(_)) => pool[i].load = pool[i].capacity,
            // Taken meanwhile (by `next`, a claim, or another node's round).
            Err(ApiError::AlreadyClaimed(_) | ApiError::StaleClaim | ApiError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(assigned)
}

/// Runs [`round`] every `every` until the node shuts down.
pub fn spawn(db: DatabaseConnection, live: Live, every: Duration, lease: Duration) {
    let handle = live.clone();
    handle.every(every, "conversations auto-assigned", move || {
        let (db, live) = (db.clone(), live.clone());
        async move { round(&db, &live, lease).await }
    });
}
