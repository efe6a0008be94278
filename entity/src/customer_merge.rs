//! One merge of a customer into another, with what moved, so it can be undone exactly.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `customer_merges`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customer_merges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The customer that kept everything.
    pub survivor_id: i64,
    /// The customer merged into it.
    pub merged_id: i64,
    /// What moved (identity, conversation and note ids, tags added, the CRM id taken, the
    /// survivor's follower count before): `customers::merge::Moved`.
    pub moved: Json,
    /// `agent:<id>` or `key:<id>`.
    pub merged_by: String,
    pub created_at: DateTimeUtc,
    /// When it was undone, if it was.
    pub undone_at: Option<DateTimeUtc>,
    pub undone_by: Option<String>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
