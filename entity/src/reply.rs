//! A reply an agent sent through Chorus: stored first (the outbox), delivered after.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `replies`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "replies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub conversation_id: i64,
    pub agent_id: i64,
    /// The client's key: the same agent sending the same key again gets this reply back.
    pub idempotency_key: String,
    /// public | private
    pub visibility: String,
    pub text: String,
    /// queued | sent | failed
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A sender on some node is delivering it until then (so two nodes never send it twice).
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// Set just before the reply is handed to the network, cleared when a retry is scheduled:
    /// found set by a sender taking the reply over, it means a node stopped mid-send and the
    /// network may have the reply already, so it is not sent again.
    pub sending_since: Option<DateTimeUtc>,
    /// The outbound message it became, once sent.
    pub message_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where a reply stands (the state machine is `chorus_core::replies`).
    pub enum Status {
        /// Held by an approval rule until an approver decides.
        Held = "held",
        /// Waiting to be sent (or to be tried again).
        Queued = "queued",
        /// The network took it.
        Sent = "sent",
        /// Given up on: refused by the network, or out of attempts.
        Failed = "failed",
        /// An approver rejected it: it is never sent.
        Rejected = "rejected",
        /// An approver sent it back to its author with comments: never sent as it is; the
        /// author submits a changed one.
        Returned = "returned",
    }
}
