//! One published version of an approved crisis response for a type of message.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `crisis_responses`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "crisis_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub crisis_id: i64,
    /// e.g. "asking for refund", "angry about outage"
    pub message_type: String,
    pub version: i32,
    pub text: String,
    pub published_by: i64,
    pub published_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
