//! A contact detail (email, phone, order reference) a customer wrote in a message. Keyed by the
//! message, so it follows the message's customer through merges.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `customer_details`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customer_details")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub message_id: i64,
    /// email | phone | order
    pub kind: String,
    /// Normalized (lower-cased email, digits of a phone number, upper-cased order reference).
    pub value: String,
    pub created_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
