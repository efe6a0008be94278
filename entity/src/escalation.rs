//! A conversation handed up to a group or across to a team, and what became of it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `escalations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub conversation_id: i64,
    /// The agent who escalated it.
    pub from_agent_id: i64,
    /// team_lead | pr | legal | team
    pub group_name: String,
    /// For `team`: the team it went to.
    pub to_team_id: Option<i64>,
    /// The team it was in, restored when it is returned.
    pub from_team_id: Option<i64>,
    pub reason: String,
    /// open | returned | resolved
    pub status: Status,
    pub closed_by: Option<i64>,
    pub return_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where an escalation stands.
    pub enum Status {
        /// With its group (or team) now.
        Open = "open",
        /// Sent back to the agent who escalated it.
        Returned = "returned",
        /// Escalated further by the group that had it.
        Forwarded = "forwarded",
        /// The conversation was resolved while escalated.
        Resolved = "resolved",
    }
}
