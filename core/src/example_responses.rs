//! The library of example responses: per topic, with notes on tone of voice. The guide warns
//! against copy-paste templates, so these are shown as examples to adapt — the console puts
//! one in the composer as a draft, never sends it as it is — and each carries notes on how.

use chrono::Utc;
use entity::example_response;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

const MAX_TOPIC: usize = 100;
const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 10_000;
const MAX_NOTES: usize = 2_000;

/// An example as it is written.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExampleSpec {
    /// What it answers, e.g. `refund`, `late delivery`, `outage` (lowercased).
    pub topic: String,
    /// A short name.
    pub title: String,
    /// The example text.
    pub body: String,
    /// How to adapt it: tone of voice, what to personalise, what never to say.
    #[serde(default)]
    pub tone_notes: Option<String>,
}

/// An example as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ExampleView {
    /// Id.
    pub id: i64,
    /// The example.
    #[serde(flatten)]
    pub spec: ExampleSpec,
    /// Who wrote it.
    pub created_by: i64,
    /// Last change.
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<example_response::Model> for ExampleView {
    fn from(m: example_response::Model) -> Self {
        Self {
            id: m.id,
            spec: ExampleSpec { topic: m.topic, title: m.title, body: m.body, tone_notes: m.tone_notes },
            created_by: m.created_by,
            updated_at: m.updated_at,
        }
    }
}

fn bounded(field: &str, v: &str, max: usize) -> Result<String, Error> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::Validation(format!("{field} must be 1 to {max} characters")));
    }
    Ok(v.to_owned())
}

fn clean(s: ExampleSpec) -> Result<ExampleSpec, Error> {
    Ok(ExampleSpec {
        topic: bounded("topic", &s.topic, MAX_TOPIC)?.to_lowercase(),
        title: bounded("title", &s.title, MAX_TITLE)?,
        body: bounded("body", &s.body, MAX_BODY)?,
        tone_notes: s.tone_notes.as_deref().map(|n| bounded("tone_notes", n, MAX_NOTES)).transpose()?,
    })
}

fn active(s: ExampleSpec, by: i64) -> example_response::ActiveModel {
    let now = Utc::now();
    example_response::ActiveModel {
        topic: Set(s.topic),
        title: Set(s.title),
        body: Set(s.body),
        tone_notes: Set(s.tone_notes),
        created_by: Set(by),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Which examples to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this topic.
    pub topic: Option<String>,
    /// Words that must appear in the title or text (any case).
    pub q: Option<String>,
}

/// The library, by topic then title; at most 500.
pub async fn list(db: &impl ConnectionTrait, q: &ListQuery) -> Result<Vec<ExampleView>, Error> {
    let mut find = example_response::Entity::find();
    if let Some(t) = &q.topic {
        find = find.filter(example_response::Column::Topic.eq(t.trim().to_lowercase()));
    }
    let rows = find
        .order_by_asc(example_response::Column::Topic)
        .order_by_asc(example_response::Column::Title)
        .limit(500)
        .all(db)
        .await?;
    let words: Vec<String> =
        q.q.as_deref().unwrap_or("").split_whitespace().map(str::to_lowercase).filter(|w| !w.is_empty()).collect();
    Ok(rows
        .into_iter()
        .map(ExampleView::from)
        .filter(|e| {
            let hay = format!("{} {}", e.spec.title, e.spec.body).to_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .collect())
}

/// One example.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<ExampleView, Error> {
    let found = example_response::Entity::find_by_id(id).one(db).await?;
    found.map(ExampleView::from).ok_or(Error::NotFound("example response"))
}

/// Adds an example.
pub async fn create(db: &impl ConnectionTrait, spec: ExampleSpec, by: i64) -> Result<ExampleView, Error> {
    Ok(ExampleView::from(active(clean(spec)?, by).insert(db).await?))
}

/// Replaces an example (writing first: see `approvals::rules`).
pub async fn replace(db: &impl ConnectionTrait, id: i64, spec: ExampleSpec) -> Result<ExampleView, Error> {
    let mut m = active(clean(spec)?, 0);
    m.created_by = sea_orm::ActiveValue::NotSet;
    m.created_at = sea_orm::ActiveValue::NotSet;
    let updated = example_response::Entity::update_many()
        .set(m)
        .filter(example_response::Column::Id.eq(id))
        .exec_with_returning(db)
        .await?;
    updated.into_iter().next().map(ExampleView::from).ok_or(Error::NotFound("example response"))
}

/// Deletes an example.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), Error> {
    let gone = example_response::Entity::delete_many().filter(example_response::Column::Id.eq(id)).exec(db).await?;
    if gone.rows_affected == 0 {
        return Err(Error::NotFound("example response"));
    }
    Ok(())
}
