//! A suggestion that two customers are one person: a message of `customer_id` carried a detail
//! already known for `other_customer_id`. Chorus never merges on its own.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `merge_suggestions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "merge_suggestions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Whose message carried the detail.
    pub customer_id: i64,
    /// Who it was already known for.
    pub other_customer_id: i64,
    /// email | phone | order
    pub kind: String,
    pub value: String,
    /// The message that carried it.
    pub message_id: i64,
    /// open | dismissed | accepted
    pub status: Status,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where a merge suggestion stands.
    pub enum Status {
        /// Waiting for a decision.
        Open = "open",
        /// Not the same person.
        Dismissed = "dismissed",
        /// Merged (through the suggestion or by hand).
        Accepted = "accepted",
    }
}
