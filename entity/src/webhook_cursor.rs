//! The outgoing-webhook relay's place in `events`: one row, the newest event already fanned out
//! into deliveries.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The one row of `webhook_cursor` (`id = 1`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_cursor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// Every event up to this `events.seq` has its deliveries.
    pub last_event_id: i64,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
