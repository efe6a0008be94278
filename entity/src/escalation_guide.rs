//! Guidance on which topics must be escalated, and to whom.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `escalation_guides`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalation_guides")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub keywords: Json,
    pub categories: Json,
    /// team_lead | pr | legal
    pub group_name: String,
    pub guidance: String,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
