//! The lease reaper: a conversation whose holder's lease lapsed (their session closed or went
//! silent, and nobody renewed it) goes back to the queue, visibly to everyone. Every node runs
//! one; the store's fenced update lets exactly one of them announce each lapse.

use std::time::Duration;

use entity::conversation;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::STATUS_RESOLVED;
use super::claims::lapse;
use crate::coord::Coordinator;
use crate::error::ApiError;
use crate::live::Live;

/// Assigned conversations checked per round trip to the coordinator.
const PAGE: u64 = 500;

/// Hands back every conversation whose lease is gone; returns how many it handed back.
pub async fn sweep(db: &DatabaseConnection, live: &Live) -> Result<usize, ApiError> {
    let mut after = 0_i64;
    let mut lapsed = 0;
    loop {
        let page: Vec<(i64, Option<i64>, i64)> = conversation::Entity::find()
            .select_only()
            .columns([conversation::Column::Id, conversation::Column::AssigneeId, conversation::Column::FenceToken])
            .filter(conversation::Column::AssigneeId.is_not_null())
            .filter(conversation::Column::Status.ne(STATUS_RESOLVED))
            .filter(conversation::Column::Id.gt(after))
            .order_by_asc(conversation::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&(last, _, _)) = page.last() else { break };
        after = last;
        let ids: Vec<i64> = page.iter().map(|(id, _, _)| *id).collect();
        let holders = live.coord.holders(&ids).await?;
        for ((id, assignee, token), holder) in page.into_iter().zip(holders) {
            // A live lease (even a newer one not yet recorded) means someone holds it.
            let (Some(agent), None) = (assignee, holder) else { continue };
            if lapse(db, live, id, agent, token).await? {
                lapsed += 1;
            }
        }
    }
    Ok(lapsed)
}

/// Runs [`sweep`] every `every` until the node shuts down.
pub fn spawn(db: DatabaseConnection, live: Live, every: Duration) {
    let handle = live.clone();
    handle.every(every, "leases lapsed; conversations back on the queue", move || {
        let (db, live) = (db.clone(), live.clone());
        async move { sweep(&db, &live).await }
    });
}
