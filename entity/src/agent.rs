//! A person who works the inbox. Roles and skills are JSON arrays of strings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `agents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub roles: Json,
    pub skills: Json,
    pub capacity: i32,
    pub team_id: Option<i64>,
    pub active: bool,
    /// Wrong passwords since the last successful login (or lock).
    pub failed_logins: i32,
    /// Logins are refused until then.
    pub locked_until: Option<DateTimeUtc>,
    /// The console's settings for this agent (theme, density, notifications); `None` until
    /// first saved.
    pub console_settings: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
