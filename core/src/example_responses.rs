//! The library of example responses: per topic, with notes on tone of voice. The guide warns
//! against copy-paste templates, so these are shown as examples to adapt — the console puts
//! one in the composer as a draft, never sends it as it is — and each carries notes on how.
//! Used as a macro (see [`crate::macros`]), one may also name actions the console takes when
//! the reply it drafted is sent: tags to add, a status to set, a group to escalate to.

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
    /// What using it as a macro also does.
    #[serde(default)]
    pub actions: MacroActions,
}

/// The status a macro sets (resolving goes through `resolve`, which releases the claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MacroStatus {
    /// Back on the queue.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Done.
    Resolved,
}

/// What a macro does besides drafting text, when the reply it drafted is sent. Each action is
/// the ordinary one (tags, status, escalation), with its own checks; none bypasses approval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroActions {
    /// Tags to add (lowercased).
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// A status to set.
    #[serde(default)]
    pub set_status: Option<MacroStatus>,
    /// A group to escalate to: `team_lead`, `pr` or `legal`.
    #[serde(default)]
    pub escalate_to: Option<String>,
}

impl MacroActions {
    fn clean(self) -> Result<Self, Error> {
        if self.add_tags.len() > 10 {
            return Err(Error::Validation("actions.add_tags takes at most 10 tags".into()));
        }
        let mut tags = Vec::with_capacity(self.add_tags.len());
        for t in &self.add_tags {
            let t = bounded("actions.add_tags", t, 100)?.to_lowercase();
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        if let Some(g) = &self.escalate_to
            && !crate::auth::groups::GROUPS.contains(&g.as_str())
        {
            return Err(Error::Validation(format!(
                "actions.escalate_to must be one of {:?}",
                crate::auth::groups::GROUPS
            )));
        }
        if self.escalate_to.is_some() && self.set_status == Some(MacroStatus::Resolved) {
            return Err(Error::Validation("a macro cannot both escalate and resolve".into()));
        }
        Ok(Self { add_tags: tags, ..self })
    }
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
            spec: ExampleSpec {
                topic: m.topic,
                title: m.title,
                body: m.body,
                tone_notes: m.tone_notes,
                // Written by `clean`: a row that no longer reads does nothing.
                actions: m.actions.and_then(|a| serde_json::from_value(a).ok()).unwrap_or_default(),
            },
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
        actions: s.actions.clean()?,
    })
}

fn active(s: ExampleSpec, by: i64) -> example_response::ActiveModel {
    let now = Utc::now();
    example_response::ActiveModel {
        topic: Set(s.topic),
        title: Set(s.title),
        body: Set(s.body),
        tone_notes: Set(s.tone_notes),
        actions: Set((s.actions != MacroActions::default()).then(|| serde_json::json!(s.actions))),
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
