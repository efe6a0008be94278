//! One person, whatever networks they write from (the single customer view).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `customers`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub display_name: String,
    /// Largest follower count seen on any identity: the influence part of risk.
    pub followers: Option<i64>,
    /// `network:platform_user_id` of the identity this customer was first seen with; unique,
    /// so a bulk insert can be matched back to its identities.
    #[sea_orm(unique)]
    pub created_from: String,
    /// The customer's id in the brand's CRM, linked by an integration.
    pub crm_id: Option<String>,
    /// Set while this customer is merged into another (the survivor); undone by an unmerge.
    pub merged_into: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
