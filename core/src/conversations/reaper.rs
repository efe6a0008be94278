//! The lease reaper: a conversation whose holder's lease lapsed (their session closed or went
//! silent, and nobody renewed it) goes back to the queue, visibly to everyone. Every node runs
//! one; the store's fenced update lets exactly one of them announce each lapse.
//!
//! The reaper is the only place that decides a lease lapsed, and it decides with the
//! coordinator in one atomic step per page ([`Coordinator::sweep`]): an expired lease lapses;
//! a lease the coordinator forgot is reinstated for its recorded holder; a release the store
//! never heard of is finished; and after an outage (no sweep anywhere for a while: Redis, the
//! store or every node was down) expired leases get a new term, since their holders could not
//! renew them. docs/architecture.md gives the argument.

use std::time::Duration;

use entity::conversation;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::STATUS_RESOLVED;
use super::claims::{Handback, lapse};
use crate::coord::{Coordinator, Holder, Verdict};
use crate::error::Error;
use crate::ids::{AgentId, ConversationId, FenceToken};
use crate::live::Live;
use crate::prom::Metrics;

/// Assigned conversations checked per round trip to the coordinator.
const PAGE: u64 = 500;

/// What one sweep did, for the log and `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Handed back to the queue (lapsed, or a release finished).
    pub handed_back: usize,
    /// Of those, releases the store had not heard of.
    pub released: usize,
    /// Forgotten leases given back to their recorded holders.
    pub reinstated: usize,
    /// Leases extended because the sweep followed an outage.
    pub extended: usize,
}

/// No sweep recorded anywhere for this long means nobody could watch the leases: the next
/// sweep extends expired ones instead of lapsing them. Several reaper periods, so one slow
/// sweep on a busy node is not taken for an outage, and never under five seconds.
pub fn outage_after(every: Duration) -> Duration {
    (every * 5).max(Duration::from_secs(5))
}

/// Decides every held conversation's lease once (see the module doc).
pub async fn sweep(db: &DatabaseConnection, live: &Live, lease: Duration, every: Duration) -> Result<Swept, Error> {
    let mut after = ConversationId(0);
    let mut done = Swept::default();
    let mut outage = false;
    loop {
        let page: Vec<(ConversationId, Option<AgentId>, FenceToken)> = conversation::Entity::find()
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
        let held: Vec<(ConversationId, Holder)> = page
            .iter()
            .filter_map(|&(id, assignee, token)| assignee.map(|agent_id| (id, Holder { agent_id, token })))
            .collect();
        // Called with an empty page too: the sweep itself is recorded, so a quiet deployment
        // is not mistaken for an outage.
        let swept = live.coord.sweep(&held, lease, outage_after(every), outage).await?;
        outage = swept.outage;
        for (&(id, h), verdict) in held.iter().zip(swept.verdicts) {
            let why = match verdict {
                Verdict::Live => continue,
                Verdict::Reinstated => {
                    done.reinstated += 1;
                    continue;
                }
                Verdict::Extended => {
                    done.extended += 1;
                    continue;
                }
                Verdict::Lapsed => Handback::LeaseExpired,
                Verdict::Released => Handback::Released,
            };
            let held = super::claims::Held { conversation_id: id, agent_id: h.agent_id, fence_token: h.token };
            if lapse(db, live, held, why).await? {
                done.handed_back += 1;
                done.released += usize::from(why == Handback::Released);
            }
        }
        match page.last() {
            Some(&(last, _, _)) if page.len() as u64 == PAGE => after = last,
            _ => break,
        }
    }
    if done.reinstated + done.extended > 0 {
        tracing::warn!(
            reinstated = done.reinstated,
            extended = done.extended,
            outage,
            "leases the coordinator had forgotten or could not watch were kept for their holders"
        );
    }
    Ok(done)
}

/// Runs [`sweep`] every `every` until the node shuts down, counting its decisions.
pub fn spawn(db: DatabaseConnection, live: Live, metrics: Metrics, lease: Duration, every: Duration) {
    let handle = live.clone();
    handle.every(every, "leases lapsed; conversations back on the queue", move || {
        let (db, live, metrics) = (db.clone(), live.clone(), metrics.clone());
        async move {
            let s = sweep(&db, &live, lease, every).await?;
            let count = |verdict: &str, n: usize| {
                metrics.lease_decisions.with_label_values(&[verdict]).inc_by(u64::try_from(n).unwrap_or(u64::MAX));
            };
            count("lapsed", s.handed_back - s.released);
            count("released", s.released);
            count("reinstated", s.reinstated);
            count("extended", s.extended);
            Ok(s.handed_back)
        }
    });
}
