//! Something a supervisor or PR should act on, with who acknowledged it and who has it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `alerts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: Kind,
    /// One alert per thing (`sla_breach:7:first_response`, …), however many nodes saw it.
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub title: String,
    pub detail: String,
    pub conversation_id: Option<i64>,
    pub crisis_alert_id: Option<i64>,
    pub raised_at: DateTimeUtc,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub assignee_id: Option<i64>,
    pub assigned_by: Option<i64>,
    pub assigned_at: Option<DateTimeUtc>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// What an alert is about.
    pub enum Kind {
        /// The early warning saw a topic's volume spike.
        CrisisSpike = "crisis_spike",
        /// A conversation missed its response target.
        SlaBreach = "sla_breach",
        /// A customer's mood turned: their newest message is negative after positive ones.
        SentimentSwing = "sentiment_swing",
        /// A customer with a large following wrote in.
        InfluencerPost = "influencer_post",
        /// Inbound volume left its forecast's prediction interval.
        VolumeOffForecast = "volume_off_forecast",
    }
}
