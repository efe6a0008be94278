//! A saved keyword search over the incoming stream (proactive listening).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `listening_rules`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "listening_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// Any of these keywords (case-insensitive, whole words) makes a match.
    pub keywords: Json,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
