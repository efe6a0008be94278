//! A declared crisis.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `crises`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "crises")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// low | medium | high | critical
    pub severity: String,
    pub keywords: Json,
    /// Networks it concerns; empty for all.
    pub networks: Json,
    pub holding_message: String,
    /// Who handles escalations when: `[{starts_at, ends_at, agent_id, duty}]`.
    pub rota: Json,
    /// The crisis team whose queue matching conversations go to.
    pub team_id: Option<i64>,
    /// Every reply in a matching conversation needs approval.
    pub hold_replies: bool,
    /// Matching public messages get the holding message, once per customer.
    pub auto_ack: bool,
    pub auto_ack_per_minute: i32,
    /// The current minute of auto-acknowledgements and how many went out in it.
    pub ack_window_start: Option<DateTimeUtc>,
    pub ack_window_count: i32,
    /// active | resolved
    pub status: Status,
    pub declared_by: i64,
    pub declared_at: DateTimeUtc,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where a crisis stands.
    pub enum Status {
        /// Declared and not stood down.
        Active = "active",
        /// Stood down.
        Resolved = "resolved",
    }
}
