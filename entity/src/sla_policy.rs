//! An SLA policy: response targets for a priority tier and network, counted in business hours.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `sla_policies`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// 1 or 2; 0 for every tier.
    pub priority: i16,
    /// A network; empty for every network.
    pub network: String,
    pub first_response_secs: i64,
    pub next_response_secs: i64,
    /// An IANA time zone name.
    pub timezone: String,
    /// Weekly opening hours: `[{"days":[1,2,3,4,5],"start":"09:00","end":"17:00"}]`; `[]` is 24/7.
    pub hours: Json,
    /// Closed dates (`YYYY-MM-DD`, local).
    pub holidays: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
