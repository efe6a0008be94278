//! Push assignment: waiting conversations are handed to online agents with room instead of
//! waiting for them to ask (`next`) — per team (a team with `auto_assign` pushes its own queue
//! to its members) and, with `live.auto_assign`, for the general queue to everyone. Never to an
//! offline, away or full agent; when everyone is full, conversations wait in queue order and go
//! out as capacity frees. Each hand-out
//! is an ordinary claim (atomic, with the capacity check), so nodes running this side by side
//! never hand one conversation out twice; the agent hears it on their `agent:<id>` topic as a
//! `conversation.claimed` with `"assigned_by": "auto"`.

use std::collections::HashMap;
use std::time::Duration;

use entity::{agent, conversation, team};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::claims::{self, Claimant};
use super::routing::{self, Available, Skills};
use super::{STATUS_NEW, STATUS_OPEN};
use crate::error::Error;
use crate::ids::{AgentId, ConversationId};
use crate::live::Live;

/// Waiting conversations looked at per round and group.
const ROUND: u64 = 200;

/// Picks who among `members` (indices into `pool`) gets `c`: their previous agent if available,
/// else the least loaded whose skills cover it.
fn pick(
    c: &conversation::Model,
    previous: Option<AgentId>,
    pool: &[Available],
    members: &[usize],
    skills: &HashMap<AgentId, Skills>,
) -> Option<usize> {
    let fits = |a: &Available| a.load < a.capacity && skills.get(&a.agent_id).is_some_and(|s| s.covers(c));
    if let Some(p) = previous
        && let Some(&i) = members.iter().find(|&&i| pool[i].agent_id == p && fits(&pool[i]))
    {
        return Some(i);
    }
    members.iter().copied().filter(|&i| fits(&pool[i])).min_by(|&x, &y| {
        let (x, y) = (&pool[x], &pool[y]);
        (x.load * y.capacity, x.agent_id).cmp(&(y.load * x.capacity, y.agent_id))
    })
}

/// Whose work is pushed to whom: a team's conversations to its members, or (with the node-wide
/// `live.auto_assign`) the general queue's to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Team(i64),
    General,
}

/// One round: hands out what it can; returns how many conversations it assigned. `general`
/// pushes the general queue (conversations no team's routes took) too.
pub async fn round(db: &DatabaseConnection, live: &Live, general: bool, lease: Duration) -> Result<usize, Error> {
    let mut pool = routing::available(&live.coord).await?;
    if pool.is_empty() {
        return Ok(0);
    }
    let mut groups: Vec<Group> = team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .filter(team::Column::AutoAssign.eq(true))
        .order_by_asc(team::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .map(Group::Team)
        .collect();
    if general {
        groups.push(Group::General);
    }
    if groups.is_empty() {
        return Ok(0);
    }
    let agents = agent::Entity::find()
        .filter(agent::Column::Id.is_in(pool.iter().map(|a| a.agent_id)))
        .filter(agent::Column::Active.eq(true))
        .all(db)
        .await?;
    let skills: HashMap<AgentId, Skills> = agents
        .iter()
        .map(|a| {
            let list: Vec<String> = serde_json::from_value(a.skills.clone()).unwrap_or_default();
            (AgentId(a.id), Skills::parse(&list))
        })
        .collect();
    let team_of: HashMap<AgentId, Option<i64>> = agents.iter().map(|a| (AgentId(a.id), a.team_id)).collect();
    pool.retain(|a| skills.contains_key(&a.agent_id));
    let mut assigned = 0;
    for group in groups {
        let members: Vec<usize> = (0..pool.len())
            .filter(|&i| match group {
                Group::General => true,
                Group::Team(t) => team_of.get(&pool[i].agent_id).copied().flatten() == Some(t),
            })
            .collect();
        if members.iter().all(|&i| pool[i].load >= pool[i].capacity) {
            continue;
        }
        assigned += hand_out(db, live, group, &mut pool, &members, &skills, lease).await?;
    }
    Ok(assigned)
}

/// Hands one group's waiting conversations, in queue order, to its members with room.
async fn hand_out(
    db: &DatabaseConnection,
    live: &Live,
    group: Group,
    pool: &mut [Available],
    members: &[usize],
    skills: &HashMap<AgentId, Skills>,
    lease: Duration,
) -> Result<usize, Error> {
    let q = conversation::Entity::find()
        .filter(conversation::Column::Status.is_in([STATUS_NEW, STATUS_OPEN]))
        .filter(conversation::Column::Priority.lte(2))
        .filter(conversation::Column::AssigneeId.is_null())
        .filter(conversation::Column::EscalatedTo.is_null());
    let q = match group {
        Group::Team(t) => q.filter(conversation::Column::TeamId.eq(t)),
        Group::General => q.filter(conversation::Column::TeamId.is_null()),
    };
    let waiting = q
        .order_by_asc(conversation::Column::Priority)
        .order_by_asc(conversation::Column::DueSort)
        .order_by_desc(conversation::Column::Risk)
        .order_by_asc(conversation::Column::Id)
        .limit(ROUND)
        .all(db)
        .await?;
    let previous: HashMap<i64, Option<AgentId>> = conversation::Entity::find()
        .select_only()
        .columns([conversation::Column::Id, conversation::Column::AssigneeId])
        .filter(conversation::Column::Id.is_in(waiting.iter().filter_map(|c| c.previous_conversation_id)))
        .into_tuple::<(i64, Option<AgentId>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut assigned = 0;
    for c in &waiting {
        if members.iter().all(|&i| pool[i].load >= pool[i].capacity) {
            break;
        }
        let prev = c.previous_conversation_id.and_then(|p| previous.get(&p).copied().flatten());
        let by = match group {
            Group::Team(t) => serde_json::json!({"assigned_by": "auto", "team_id": t}),
            Group::General => serde_json::json!({"assigned_by": "auto"}),
        };
        // Presence tells load only as of each agent's last heartbeat, so the pick may be full
        // already: then the next candidate is asked for the same conversation.
        while let Some(i) = pick(c, prev, pool, members, skills) {
            let a = pool[i];
            let who = Claimant { agent_id: a.agent_id, capacity: i32::try_from(a.capacity).unwrap_or(0), lease };
            let audit = crate::audit::Entry {
                actor: "system:auto_assign".into(),
                action: "conversation.claim".into(),
                target_type: "conversation".into(),
                target_id: Some(c.id.to_string()),
                ..Default::default()
            };
            match claims::claim_as(db, live, ConversationId(c.id), &who, by.clone(), audit).await {
                Ok(_) => {
                    pool[i].load += 1;
                    assigned += 1;
                    break;
                }
                Err(Error::AtCapacity(_)) => pool[i].load = pool[i].capacity,
                // Taken meanwhile (by `next`, a claim, or another node's round).
                Err(Error::AlreadyClaimed(_) | Error::StaleClaim | Error::Conflict(_)) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(assigned)
}

/// Runs [`round`] every `every` until the node shuts down. The loop runs even with `general`
/// off: a team may turn its push on at any time, on any node.
pub fn spawn(db: DatabaseConnection, live: Live, general: bool, every: Duration, lease: Duration) {
    let handle = live.clone();
    handle.every(every, "conversations auto-assigned", move || {
        let (db, live) = (db.clone(), live.clone());
        async move { round(&db, &live, general, lease).await }
    });
}
