//! An agent's named queue filter: the console lists its matches live.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `saved_views`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "saved_views")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agent_id: i64,
    /// Unique per agent.
    pub name: String,
    /// The filters, as the API validated them.
    pub filters: Json,
    /// `due`, `risk` or `age`.
    pub sort: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
