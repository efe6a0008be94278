//! One hour's counters for one combination of network, category, team, agent, brand account
//! and business hours, kept up to date as messages, replies, resolutions and agent activity happen.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `metric_hours`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "metric_hours")]
pub struct Model {
    /// Unix time / 3600.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub network: String,
    /// Empty when unknown.
    #[sea_orm(primary_key, auto_increment = false)]
    pub category: String,
    /// 0 for none.
    #[sea_orm(primary_key, auto_increment = false)]
    pub team_id: i64,
    /// 0 for none (customer messages, network echoes).
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: i64,
    /// 0 for figures recorded before they were kept per brand account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub brand_account_id: i64,
    /// 1 when the customer's message (or the event) fell inside business hours.
    #[sea_orm(primary_key, auto_increment = false)]
    pub in_hours: i16,
    pub inbound: i64,
    pub outbound: i64,
    pub conversations: i64,
    pub first_responses: i64,
    pub frt_ms: i64,
    pub frt_met: i64,
    pub responses: i64,
    pub art_ms: i64,
    pub art_met: i64,
    pub resolved: i64,
    pub resolution_ms: i64,
    pub resolved_handling_ms: i64,
    pub handling_ms: i64,
    pub negative_starts: i64,
    pub conversions: i64,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
