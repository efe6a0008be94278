//! An earlier text of a message its author edited on the network, kept for the audit trail.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `message_revisions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "message_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub message_id: i64,
    /// The text as it read before the edit.
    pub text: String,
    /// When the edit replaced it.
    pub replaced_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
