//! A conversation a crisis took over, with what to give back when it stands down.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `crisis_links`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "crisis_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub crisis_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: i64,
    pub prev_priority: i16,
    pub prev_team_id: Option<i64>,
    pub linked_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
