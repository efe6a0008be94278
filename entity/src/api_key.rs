//! An API key for an integration: a name, scopes (permission names) and an address allowlist.
//! Only the SHA-256 of the key is stored; the key itself is shown once, when it is made.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `api_keys`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// The key's first characters, so people can tell keys apart.
    pub prefix: String,
    #[sea_orm(unique)]
    pub key_hash: String,
    /// Permission names, e.g. `["conversations.read", "ingest.write"]`.
    pub scopes: Json,
    /// CIDRs the key may be used from; empty: anywhere.
    pub ip_allowlist: Json,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
