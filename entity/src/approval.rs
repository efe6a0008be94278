//! An approval request: one held reply waiting for (or past) its one decision.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `approvals`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "approvals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub reply_id: i64,
    pub conversation_id: i64,
    /// The agent who wrote the reply.
    pub author_id: i64,
    /// team_lead | pr | legal
    pub group_name: String,
    /// Why it was held: the rules that matched.
    pub reasons: Json,
    /// Where the request stands.
    pub status: Status,
    /// The text as the agent wrote it (an edit-and-approve changes the reply's text).
    pub original_text: String,
    pub decided_by: Option<i64>,
    /// approve | edit | reject | send_back
    pub decision: Option<String>,
    pub comment: Option<String>,
    pub requested_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    /// When it moves to the next group unless decided (the rule's deadline).
    pub due_at: Option<DateTimeUtc>,
    /// When the group was reminded of it.
    pub reminded_at: Option<DateTimeUtc>,
    /// The group it waited at before its deadline passed.
    pub escalated_from: Option<String>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where an approval request stands.
    pub enum Status {
        /// Waiting for a decision.
        Pending = "pending",
        /// Approved (as written or edited): the reply is in the outbox.
        Approved = "approved",
        /// Rejected: the reply is never sent.
        Rejected = "rejected",
        /// Sent back to its author with comments, to change and submit again.
        SentBack = "sent_back",
    }
}
