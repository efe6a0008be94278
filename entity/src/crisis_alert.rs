//! An early-warning alert: a topic's inbound volume spiked against its own recent baseline.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `crisis_alerts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "crisis_alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `all`, `category:<name>` or `term:<word>`
    pub topic: String,
    /// Start of the spiking window (Unix seconds); unique per topic, so one node raises it.
    pub window_start: i64,
    pub count: i32,
    /// Messages per window over the baseline period.
    pub baseline: f64,
    pub samples: Json,
    pub raised_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
