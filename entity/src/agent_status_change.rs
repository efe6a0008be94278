//! An agent going online, away or offline, as it happened (the floor's timeline of the day).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `agent_status_changes`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agent_status_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agent_id: i64,
    /// online | away | offline
    pub status: String,
    pub at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
