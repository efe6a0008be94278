//! An outgoing webhook subscription: where to POST which events, and the HMAC key that signs
//! them. The secret is kept in clear because signing needs it; it is shown only when made.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `webhook_subscriptions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub url: String,
    /// The HMAC-SHA256 key of `X-Chorus-Signature`.
    pub secret: String,
    /// Event kinds, e.g. `["conversation.resolved"]`, or `["*"]` for all.
    pub event_types: Json,
    pub active: bool,
    /// When it was made or last resumed: it gets the events from then on, none from a pause.
    pub active_since: DateTimeUtc,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
