//! A term the crisis early warning watches the inbound stream for.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `watched_terms`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "watched_terms")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Lowercase, trimmed.
    #[sea_orm(unique)]
    pub term: String,
    /// The agent who added it (none: seeded at install).
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
