//! An Instagram comment that mentions a brand account, waiting for its Graph API lookup.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `mention_lookups`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "mention_lookups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The Instagram account mentioned (its id on Instagram).
    pub brand_account: String,
    /// The comment that mentions it.
    pub comment_id: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
    pub last_error: Option<String>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
