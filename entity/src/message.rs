//! One message, inbound or outbound, public or private.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `messages`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub conversation_id: i64,
    pub brand_account_id: i64,
    pub customer_id: i64,
    pub network: String,
    /// inbound | outbound
    pub direction: String,
    /// public | private
    pub visibility: String,
    pub platform_message_id: String,
    pub in_reply_to: Option<String>,
    /// The agent who wrote it through Chorus (outbound only).
    pub agent_id: Option<i64>,
    pub author_name: Option<String>,
    pub text: String,
    pub sentiment: Option<f64>,
    /// The network's own timestamp: every metric is computed from it.
    pub sent_at: DateTimeUtc,
    /// When Chorus committed it.
    pub received_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
