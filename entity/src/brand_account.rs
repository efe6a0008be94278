//! One brand account on one network (a Page, a handle, a WhatsApp number).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `brand_accounts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "brand_accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub network: String,
    pub platform_account_id: String,
    pub name: String,
    /// The team for its new conversations that no team's routes match.
    pub default_team_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
