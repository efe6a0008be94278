//! An example response to adapt (not a template to paste), filed under a topic.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `example_responses`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "example_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub topic: String,
    pub title: String,
    pub body: String,
    /// How to adapt it: tone of voice, what to personalise, what never to say.
    pub tone_notes: Option<String>,
    /// What using it as a macro also does (tags, status, escalation); `None`: nothing.
    pub actions: Option<Json>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
