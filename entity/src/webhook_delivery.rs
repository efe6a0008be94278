//! One event owed to one webhook subscription: the outbox row the sender works from, and the
//! delivery log an admin reads.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `webhook_deliveries`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subscription_id: i64,
    /// The event's `events.seq`: the receiver's dedupe key. Unique per subscription.
    pub event_id: i64,
    pub event_kind: String,
    /// The event's payload, as stored in `events`.
    pub payload: Json,
    /// pending | delivered | failed
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A sender on some node is delivering it until then (so two nodes never send it at once).
    pub locked_until: Option<DateTimeUtc>,
    /// The receiver's HTTP status at the last attempt (none: no answer).
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// When the event was appended (sent as `created_at`).
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where an outgoing delivery stands.
    pub enum Status {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Out of attempts; an admin may send it again.
        Failed = "failed",
    }
}
