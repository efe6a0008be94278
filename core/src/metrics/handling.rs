//! Handling time from agent activity: each thing an agent does on a conversation (opening it,
//! typing, claiming, replying, noting, tagging) keeps that conversation's clock running for up
//! to the idle cut-off; closing it, releasing or resolving stops it. So a conversation left open
//! on a screen over lunch counts one cut-off, not an hour, and the figure is time worked, not
//! the wall clock between first and last message.
//!
//! A live session keeps one [`HandlingClock`]; what it settles is written with
//! [`settle`] — onto the conversation (`handling_ms`, the basis of AHT when it is resolved) and
//! into the hourly aggregates (THT) — on each heartbeat, before a resolution and when the
//! session ends.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use entity::conversation;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::error::Error;
use crate::ids::{AgentId, ConversationId};

/// One session's handling clocks.
#[derive(Debug)]
pub struct HandlingClock {
    idle: Duration,
    /// Conversations with a running clock: the last activity.
    running: BTreeMap<ConversationId, DateTime<Utc>>,
    /// Settled milliseconds not yet written.
    settled: BTreeMap<ConversationId, i64>,
}

impl HandlingClock {
    /// Clocks that stop `idle` after the last activity.
    pub fn new(idle: Duration) -> Self {
        Self { idle, running: BTreeMap::new(), settled: BTreeMap::new() }
    }

    fn credit(&mut self, c: ConversationId, from: DateTime<Utc>, to: DateTime<Utc>) {
        let ms = Ord::max((to - from).min(self.idle).num_milliseconds(), 0);
        if ms > 0 {
            *self.settled.entry(c).or_default() += ms;
        }
    }

    /// Activity on `c` at `at`.
    pub fn touch(&mut self, c: ConversationId, at: DateTime<Utc>) {
        if let Some(last) = self.running.insert(c, at) {
            self.credit(c, last, at);
        }
    }

    /// Work on `c` stopped at `at`.
    pub fn stop(&mut self, c: ConversationId, at: DateTime<Utc>) {
        if let Some(last) = self.running.remove(&c) {
            self.credit(c, last, at);
        }
    }

    /// Stops every clock (the session ended).
    pub fn stop_all(&mut self, at: DateTime<Utc>) {
        for c in self.running.keys().copied().collect::<Vec<_>>() {
            self.stop(c, at);
        }
    }

    /// Stops the clocks idle past the cut-off at `at` (each counts one cut-off).
    pub fn expire(&mut self, at: DateTime<Utc>) {
        let idle: Vec<ConversationId> =
            self.running.iter().filter(|(_, l)| at - **l >= self.idle).map(|(c, _)| *c).collect();
        for c in idle {
            self.stop(c, at);
        }
    }

    /// Takes what was settled: (conversation, milliseconds).
    pub fn take(&mut self) -> Vec<(ConversationId, i64)> {
        std::mem::take(&mut self.settled).into_iter().collect()
    }
}

/// Writes settled handling time of `agent`: onto each conversation and into the hourly figures.
///
/// On SQLite the write goes through the group commit of live writes (`Live::commit_aside`).
/// Why: every session settles on each heartbeat and when it ends, an update per conversation
/// it worked on. Written in transactions of their own on SQLite, those met the ingest writer
/// and the claims in SQLite's busy handler, which sleeps in steps of up to 100 ms; in the group
/// commit they take their turn with the claims. One statement per [`SETTLE_CHUNK`]
/// conversations, not one each, and each chunk a write of its own, counted in rows: a batch
/// holds the node's one write turn while its statements run, and sessions that end together (a
/// shift ending, a node restarting) settle together. As one write each, fifty claimers'
/// settlements held the turn 72–116 ms in the bench's crisis mix, and the ingest writer waited
/// behind them. On PostgreSQL the chunks have batches of their own, beside the claims' rather
/// than ahead of them (see `Live::commit_aside`).
pub async fn settle(
    db: &DatabaseConnection,
    live: &crate::live::Live,
    agent: AgentId,
    settled: &[(ConversationId, i64)],
) -> Result<(), Error> {
    let now = Utc::now();
    let chunks = settled.chunks(SETTLE_CHUNK).map(|chunk| {
        let chunk = chunk.to_vec();
        live.commit_aside(db, chunk.len(), move |txn| {
            let chunk = chunk.clone();
            Box::pin(async move {
                let added: HashMap<ConversationId, i64> = chunk.iter().copied().collect();
                let rows = conversation::Entity::update_many()
                    .col_expr(conversation::Column::HandlingMs, added_to_each(&chunk))
                    .filter(conversation::Column::Id.is_in(added.keys().copied()))
                    .exec_with_returning(txn)
                    .await?;
                let mut tally = super::tally::Tally::default();
                for row in rows {
                    let ms = added.get(&ConversationId(row.id)).copied().unwrap_or(0);
                    tally.add(&row, &super::facts::handled(&row, now, agent.get(), ms));
                }
                tally.flush(txn).await?;
                Ok(((), crate::live::Staged::default()))
            })
        })
    });
    // Queued together, committed in as many batches as their rows need; a chunk that failed
    // loses its own time only.
    futures_util::future::join_all(chunks).await.into_iter().collect()
}

/// Most conversations settled in one statement (three parameters each), and in one write of
/// the group commit.
const SETTLE_CHUNK: usize = 100;

/// `handling_ms` plus each conversation's own settled milliseconds, in one expression for one
/// `UPDATE` over them all.
fn added_to_each(chunk: &[(ConversationId, i64)]) -> Expr {
    let current = || Expr::col(conversation::Column::HandlingMs);
    let mut branches = chunk.iter().map(|&(c, ms)| (conversation::Column::Id.eq(c), current().add(ms)));
    let Some((first_if, first_then)) = branches.next() else { return current() };
    branches
        .fold(Expr::case(first_if, first_then), |case, (when, then)| case.case(when, then))
        .finally(current())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn activity_counts_up_to_the_idle_cut_off() {
        let t = |s: i64| Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap_or_default();
        let mut h = HandlingClock::new(Duration::seconds(60));
        // Conversation 1: open at 0, type at 20 and 50, then nothing until 400, close at 430.
        h.touch(ConversationId(1), t(0));
        h.touch(ConversationId(1), t(20));
        h.touch(ConversationId(1), t(50));
        h.touch(ConversationId(1), t(400)); // 350 s idle: counts 60
        h.stop(ConversationId(1), t(430));
        // Conversation 2: open at 100, left open; the heartbeat at 200 expires it (60).
        h.touch(ConversationId(2), t(100));
        h.expire(t(130));
        h.expire(t(200));
        // Conversation 3: open at 300, session ends at 310.
        h.touch(ConversationId(3), t(300));
        h.stop_all(t(310));
        // 1: 20 + 30 + 60 + 30 = 140 s; 2: 60 s; 3: 10 s.
        assert_eq!(
            h.take(),
            vec![(ConversationId(1), 140_000), (ConversationId(2), 60_000), (ConversationId(3), 10_000)]
        );
        assert!(h.take().is_empty());
        // Stopping a conversation that was never touched counts nothing.
        h.stop(ConversationId(9), t(500));
        assert!(h.take().is_empty());
    }
}
