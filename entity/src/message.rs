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
    /// How it reached Chorus when not as an ordinary message: `standby`, `postback`,
    /// `brand_app`.
    pub origin: Option<String>,
    /// When the author last edited it on the network (earlier texts: `message_revisions`).
    pub edited_at: Option<DateTimeUtc>,
    /// When the author deleted it on the network; its text is gone from then on.
    pub deleted_at: Option<DateTimeUtc>,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
