//! A team of agents: its own queue, filled by its routes, optionally pushed to its members.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `teams`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "teams")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// Members get this team's waiting conversations pushed to them (never over capacity).
    pub auto_assign: bool,
    /// Which new conversations flow to the team, in the skills format (`network:x`,
    /// `language:es`, `category:billing`); `[]` routes nothing (work is moved to it by hand).
    pub routes: Json,
    pub created_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
