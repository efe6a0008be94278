//! Adds [`Fact`]s up per hourly bucket and writes them as one upsert that increments the
//! counters in place (`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`), in the
//! transaction of the change they describe. Buckets are written in key order so two nodes
//! tallying overlapping buckets take PostgreSQL's row locks in the same order.

use std::collections::BTreeMap;

use entity::{conversation, metric_hour};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};

use super::facts::{Counts, Fact};

/// A bucket: hour, network, category, team, agent, brand account, business hours.
type Key = (i64, String, String, i64, i64, i64, i16);

/// The counters of every column, in the table's order.
pub(crate) const COUNTERS: [(metric_hour::Column, &str); 15] = [
    (metric_hour::Column::Inbound, "inbound"),
    (metric_hour::Column::Outbound, "outbound"),
    (metric_hour::Column::Conversations, "conversations"),
    (metric_hour::Column::FirstResponses, "first_responses"),
    (metric_hour::Column::FrtMs, "frt_ms"),
    (metric_hour::Column::FrtMet, "frt_met"),
    (metric_hour::Column::Responses, "responses"),
    (metric_hour::Column::ArtMs, "art_ms"),
    (metric_hour::Column::ArtMet, "art_met"),
    (metric_hour::Column::Resolved, "resolved"),
    (metric_hour::Column::ResolutionMs, "resolution_ms"),
    (metric_hour::Column::ResolvedHandlingMs, "resolved_handling_ms"),
    (metric_hour::Column::HandlingMs, "handling_ms"),
    (metric_hour::Column::NegativeStarts, "negative_starts"),
    (metric_hour::Column::Conversions, "conversions"),
];

/// Facts added up by bucket, not yet written.
#[derive(Debug, Default)]
pub struct Tally {
    buckets: BTreeMap<Key, Counts>,
}

/// The hour bucket of a time.
pub fn hour_of(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// The start of hour bucket `h` (the inverse of [`hour_of`]).
pub fn hour_start(h: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(h.saturating_mul(3600), 0).unwrap_or_default()
}

impl Tally {
    /// Adds a fact about conversation `c` (its network, category and team as they are now).
    pub fn add(&mut self, c: &conversation::Model, f: &Fact) {
        let key = (
            hour_of(f.at),
            c.network.clone(),
            c.category.clone().unwrap_or_default(),
            c.team_id.unwrap_or(0),
            f.agent_id.unwrap_or(0),
            c.brand_account_id,
            i16::from(f.in_hours),
        );
        *self.buckets.entry(key).or_default() += f.counts;
    }

    /// Adds several facts about one conversation.
    pub fn extend(&mut self, c: &conversation::Model, facts: &[Fact]) {
        for f in facts {
            self.add(c, f);
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Writes the counters.
    pub async fn flush(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let rows: Vec<(Key, Counts)> = self.buckets.into_iter().collect();
        for chunk in crate::db::chunks(db, &rows) {
            let models = chunk.iter().map(|((hour, network, category, team, agent, account, in_hours), n)| {
                metric_hour::ActiveModel {
                    hour: Set(*hour),
                    network: Set(network.clone()),
                    category: Set(category.clone()),
                    team_id: Set(*team),
                    agent_id: Set(*agent),
                    brand_account_id: Set(*account),
                    in_hours: Set(*in_hours),
                    inbound: Set(n.inbound),
                    outbound: Set(n.outbound),
                    conversations: Set(n.conversations),
                    first_responses: Set(n.first_responses),
                    frt_ms: Set(n.frt_ms),
                    frt_met: Set(n.frt_met),
                    responses: Set(n.responses),
                    art_ms: Set(n.art_ms),
                    art_met: Set(n.art_met),
                    resolved: Set(n.resolved),
                    resolution_ms: Set(n.resolution_ms),
                    resolved_handling_ms: Set(n.resolved_handling_ms),
                    handling_ms: Set(n.handling_ms),
                    negative_starts: Set(n.negative_starts),
                    conversions: Set(n.conversions),
                }
            });
            let mut on = OnConflict::columns([
                metric_hour::Column::Hour,
                metric_hour::Column::Network,
                metric_hour::Column::Category,
                metric_hour::Column::TeamId,
                metric_hour::Column::AgentId,
                metric_hour::Column::BrandAccountId,
                metric_hour::Column::InHours,
            ]);
            for (col, name) in COUNTERS {
                on.value(col, Expr::cust(format!("metric_hours.{name} + excluded.{name}")));
            }
            metric_hour::Entity::insert_many(models).on_conflict(on.to_owned()).exec_without_returning(db).await?;
        }
        Ok(())
    }
}

/// Writes the facts of one change to one conversation.
pub async fn record(db: &impl ConnectionTrait, c: &conversation::Model, facts: &[Fact]) -> Result<(), DbErr> {
    let mut t = Tally::default();
    t.extend(c, facts);
    t.flush(db).await
}
