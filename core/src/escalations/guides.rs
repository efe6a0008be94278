//! Escalation guidance: which topics must be escalated, and to whom, in the words of whoever
//! keeps it (supervisors, PR, legal). Read afresh wherever it is shown, so an edit is live on
//! every node at once; shown on a conversation whose customer names one of its topics.

use chrono::Utc;
use entity::{conversation, escalation_guide};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::groups::GROUPS;
use crate::error::Error;

const MAX_GUIDANCE_CHARS: usize = 4000;

/// Guidance as it is written.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuideSpec {
    /// Words or phrases (whole words, any case) in the customer's messages.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Triage categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Escalate to: `team_lead`, `pr` or `legal`.
    pub group: String,
    /// What to do, in plain words.
    pub guidance: String,
}

/// Guidance as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct GuideView {
    /// Id.
    pub id: i64,
    /// The guidance.
    #[serde(flatten)]
    pub spec: GuideSpec,
    /// Last change.
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<escalation_guide::Model> for GuideView {
    fn from(m: escalation_guide::Model) -> Self {
        Self {
            id: m.id,
            spec: GuideSpec {
                keywords: serde_json::from_value(m.keywords).unwrap_or_default(),
                categories: serde_json::from_value(m.categories).unwrap_or_default(),
                group: m.group_name,
                guidance: m.guidance,
            },
            updated_at: m.updated_at,
        }
    }
}

/// A guide that applies to a conversation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Hint {
    /// The guide.
    pub guide_id: i64,
    /// Escalate to.
    pub group: String,
    /// What to do.
    pub guidance: String,
    /// What matched.
    pub matched: String,
}

fn clean(mut s: GuideSpec) -> Result<GuideSpec, Error> {
    if !GROUPS.contains(&s.group.as_str()) {
        return Err(Error::Validation(format!("group must be one of {}", GROUPS.join(", "))));
    }
    s.keywords = crate::triage::text::clean_terms("keywords", &s.keywords)?;
    s.categories = crate::triage::text::clean_terms("categories", &s.categories)?;
    if s.keywords.is_empty() && s.categories.is_empty() {
        return Err(Error::Validation("guidance needs keywords or categories".into()));
    }
    s.guidance = s.guidance.trim().to_owned();
    if s.guidance.is_empty() || s.guidance.chars().count() > MAX_GUIDANCE_CHARS {
        return Err(Error::Validation(format!("guidance must be 1 to {MAX_GUIDANCE_CHARS} characters")));
    }
    Ok(s)
}

fn active(s: &GuideSpec, by: i64) -> escalation_guide::ActiveModel {
    let now = Utc::now();
    escalation_guide::ActiveModel {
        keywords: Set(serde_json::json!(s.keywords)),
        categories: Set(serde_json::json!(s.categories)),
        group_name: Set(s.group.clone()),
        guidance: Set(s.guidance.clone()),
        created_by: Set(by),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Every guide, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<GuideView>, Error> {
    let rows = escalation_guide::Entity::find().order_by_asc(escalation_guide::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(GuideView::from).collect())
}

/// One guide.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<GuideView, Error> {
    let found = escalation_guide::Entity::find_by_id(id).one(db).await?;
    found.map(GuideView::from).ok_or(Error::NotFound("escalation guide"))
}

/// Adds a guide.
pub async fn create(db: &impl ConnectionTrait, spec: GuideSpec, by: i64) -> Result<GuideView, Error> {
    Ok(GuideView::from(active(&clean(spec)?, by).insert(db).await?))
}

/// Replaces a guide (writing first: see `approvals::rules`).
pub async fn replace(db: &impl ConnectionTrait, id: i64, spec: GuideSpec) -> Result<GuideView, Error> {
    let mut m = active(&clean(spec)?, 0);
    m.created_by = sea_orm::ActiveValue::NotSet;
    m.created_at = sea_orm::ActiveValue::NotSet;
    let updated = escalation_guide::Entity::update_many()
        .set(m)
        .filter(escalation_guide::Column::Id.eq(id))
        .exec_with_returning(db)
        .await?;
    updated.into_iter().next().map(GuideView::from).ok_or(Error::NotFound("escalation guide"))
}

/// Deletes a guide.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), Error> {
    let gone = escalation_guide::Entity::delete_many().filter(escalation_guide::Column::Id.eq(id)).exec(db).await?;
    if gone.rows_affected == 0 {
        return Err(Error::NotFound("escalation guide"));
    }
    Ok(())
}

/// The guides that apply to a conversation whose customer wrote `inbound`.
pub fn hints(guides: &[GuideView], c: &conversation::Model, inbound: &[&str]) -> Vec<Hint> {
    guides
        .iter()
        .filter_map(|g| {
            let matched =
                crate::triage::text::topic_match(&g.spec.keywords, &g.spec.categories, c.category.as_deref(), inbound)?;
            Some(Hint { guide_id: g.id, group: g.spec.group.clone(), guidance: g.spec.guidance.clone(), matched })
        })
        .collect()
}
