//! An internal note on a conversation; never sent to the customer.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `notes`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub conversation_id: i64,
    pub agent_id: i64,
    pub text: String,
    /// The agents the note mentions (`@name`), told live.
    pub mentions: Json,
    pub created_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
