//! A rule that holds replies for approval. Which fields apply depends on `kind`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `approval_rules`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "approval_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// topic | agent | crisis | risk | spot_check
    pub kind: Kind,
    /// The approver group it sends requests to: team_lead | pr | legal.
    pub group_name: String,
    pub keywords: Json,
    pub categories: Json,
    pub agent_ids: Json,
    pub risk_at_least: Option<i32>,
    pub percent: Option<i32>,
    pub enabled: bool,
    pub note: Option<String>,
    /// Minutes a request may wait before it moves to the next group (none: no deadline).
    pub deadline_mins: Option<i32>,
    /// Networks it applies to (JSON array of names; null or empty: every network).
    pub networks: Option<Json>,
    /// public | private (none: both).
    pub visibility: Option<String>,
    /// Customer tags, any of which makes it apply (JSON array; null or empty: every customer).
    pub customer_tags: Option<Json>,
    /// negative | neutral | positive: the conversation's sentiment (none: any).
    pub sentiment: Option<String>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// What a rule looks at (the fields that apply depend on it).
    pub enum Kind {
        /// Keywords in the reply or the customer's messages, or the conversation's category.
        Topic = "topic",
        /// Every reply by the named agents.
        Agent = "agent",
        /// Every reply in a conversation linked to an active crisis.
        Crisis = "crisis",
        /// Public replies on conversations at or above a risk.
        Risk = "risk",
        /// A random share of all replies.
        SpotCheck = "spot_check",
    }
}
