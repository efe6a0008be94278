//! An agent's saved queue views: named filters and a sort over the live queue. The console
//! filters the queue it already holds (every waiting conversation, kept live), so a view's count
//! changes the moment a conversation arrives or leaves; the server keeps the definitions, so they
//! follow the agent to any desk.

use chrono::Utc;
use entity::saved_view;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::network::{Network, Visibility};
use crate::triage::Tier;

/// The most views one agent keeps.
pub const MAX_PER_AGENT: u64 = 50;
const MAX_NAME: usize = 60;
const MAX_TEXT: usize = 200;

/// The customer's mood in the newest message (VADER compound below -0.05, between, above 0.05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    /// Below -0.05.
    Negative,
    /// From -0.05 to 0.05.
    Neutral,
    /// Above 0.05.
    Positive,
}

/// Where a queued conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    /// Nobody has answered yet.
    New,
    /// Answered before, waiting again.
    Open,
}

/// Whose work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// Held by the agent looking.
    Mine,
    /// Held by nobody.
    Unassigned,
}

/// How the view orders its conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// The queue's own order: tier, then the due time, then risk.
    #[default]
    Due,
    /// Highest risk first.
    Risk,
    /// Longest waiting first.
    Age,
}

impl Sort {
    fn as_str(self) -> &'static str {
        match self {
            Sort::Due => "due",
            Sort::Risk => "risk",
            Sort::Age => "age",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "risk" => Sort::Risk,
            "age" => Sort::Age,
            _ => Sort::Due,
        }
    }
}

/// What a conversation must be to be in the view; every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Where it started: in public or in private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// The team's queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<i64>,
    /// The brand account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_account_id: Option<i64>,
    /// A tag it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The newest message's sentiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    /// The customer's language (ISO 639-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// New or open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<QueueStatus>,
    /// Mine or unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
    /// Words to find in the customer's name or handle, or the newest message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
}

/// A view as it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// 1 to 60 characters, unique among the agent's views.
    pub name: String,
    /// The filters (none: the whole queue).
    #[serde(default)]
    pub filters: Filters,
    /// The order.
    #[serde(default)]
    pub sort: Sort,
}

/// A view as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SavedView {
    /// Id.
    pub id: i64,
    /// The view.
    #[serde(flatten)]
    pub spec: ViewSpec,
    /// Last change.
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<saved_view::Model> for SavedView {
    fn from(m: saved_view::Model) -> Self {
        // Stored by this module after validation: a row that no longer reads gives no filters.
        let filters = serde_json::from_value(m.filters).unwrap_or_default();
        Self {
            id: m.id,
            spec: ViewSpec { name: m.name, filters, sort: Sort::parse(&m.sort) },
            updated_at: m.updated_at,
        }
    }
}

fn text(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>, Error> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => {
            Err(Error::Validation(format!("{field} must be at most {max} characters")))
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}

fn positive(field: &str, v: Option<i64>) -> Result<Option<i64>, Error> {
    match v {
        Some(n) if n <= 0 => Err(Error::Validation(format!("{field} must be a positive id"))),
        v => Ok(v),
    }
}

/// The view as it will be kept: names trimmed, empty filters dropped, every value in range.
fn clean(s: ViewSpec) -> Result<ViewSpec, Error> {
    let name = s.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::Validation(format!("name must be 1 to {MAX_NAME} characters")));
    }
    let f = s.filters;
    let language = text("filters.language", &f.language, 16)?.map(|l| l.to_lowercase());
    if language.as_deref().is_some_and(|l| !l.chars().all(|c| c.is_ascii_alphabetic() || c == '-')) {
        return Err(Error::Validation("filters.language must be a language code such as en or pt-br".into()));
    }
    let filters = Filters {
        team_id: positive("filters.team_id", f.team_id)?,
        brand_account_id: positive("filters.brand_account_id", f.brand_account_id)?,
        tag: text("filters.tag", &f.tag, 100)?.map(|t| t.to_lowercase()),
        language,
        q: text("filters.q", &f.q, MAX_TEXT)?,
        ..f
    };
    Ok(ViewSpec { name, filters, sort: s.sort })
}

fn json(f: &Filters) -> Result<serde_json::Value, Error> {
    serde_json::to_value(f).map_err(|e| Error::Unexpected(e.into()))
}

fn taken(e: sea_orm::DbErr) -> Error {
    if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
        Error::Conflict("you already have a view with this name".into())
    } else {
        e.into()
    }
}

/// The agent's views, by name.
pub async fn list(db: &impl ConnectionTrait, agent_id: i64) -> Result<Vec<SavedView>, Error> {
    let rows = saved_view::Entity::find()
        .filter(saved_view::Column::AgentId.eq(agent_id))
        .order_by_asc(saved_view::Column::Name)
        .order_by_asc(saved_view::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(SavedView::from).collect())
}

/// Saves a new view (409 `conflict` for a name the agent already uses; at most
/// [`MAX_PER_AGENT`]).
pub async fn create(db: &impl ConnectionTrait, agent_id: i64, spec: ViewSpec) -> Result<SavedView, Error> {
    let spec = clean(spec)?;
    let count = saved_view::Entity::find().filter(saved_view::Column::AgentId.eq(agent_id)).count(db).await?;
    if count >= MAX_PER_AGENT {
        return Err(Error::Validation(format!("you can keep at most {MAX_PER_AGENT} views; delete one first")));
    }
    let now = Utc::now();
    let row = saved_view::ActiveModel {
        agent_id: Set(agent_id),
        name: Set(spec.name),
        filters: Set(json(&spec.filters)?),
        sort: Set(spec.sort.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(taken)?;
    Ok(row.into())
}

/// Replaces one of the agent's views (another agent's is not found).
pub async fn replace(db: &impl ConnectionTrait, agent_id: i64, id: i64, spec: ViewSpec) -> Result<SavedView, Error> {
    let spec = clean(spec)?;
    let written = saved_view::Entity::update_many()
        .set(saved_view::ActiveModel {
            name: Set(spec.name),
            filters: Set(json(&spec.filters)?),
            sort: Set(spec.sort.as_str().to_owned()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .filter(saved_view::Column::Id.eq(id))
        .filter(saved_view::Column::AgentId.eq(agent_id))
        .exec_with_returning(db)
        .await
        .map_err(taken)?;
    written.into_iter().next().map(SavedView::from).ok_or(Error::NotFound("saved view"))
}

/// Deletes one of the agent's views.
pub async fn delete(db: &impl ConnectionTrait, agent_id: i64, id: i64) -> Result<(), Error> {
    let gone = saved_view::Entity::delete_many()
        .filter(saved_view::Column::Id.eq(id))
        .filter(saved_view::Column::AgentId.eq(agent_id))
        .exec(db)
        .await?;
    if gone.rows_affected == 0 {
        return Err(Error::NotFound("saved view"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> Result<ViewSpec, String> {
        serde_json::from_value::<ViewSpec>(v)
            .map_err(|e| e.to_string())
            .and_then(|s| clean(s).map_err(|e| e.to_string()))
    }

    #[test]
    fn views_are_cleaned_or_refused() -> Result<(), String> {
        let s = spec(serde_json::json!({"name": "  Angry on X ", "filters": {"network": "x", "sentiment": "negative",
            "tag": " Refund ", "q": " ", "language": "PT-br"}, "sort": "risk"}))?;
        assert_eq!(s.name, "Angry on X");
        assert_eq!(s.filters.tag.as_deref(), Some("refund"));
        assert_eq!(s.filters.q, None);
        assert_eq!(s.filters.language.as_deref(), Some("pt-br"));
        assert_eq!(s.sort, Sort::Risk);
        for bad in [
            serde_json::json!({"name": ""}),
            serde_json::json!({"name": "x".repeat(61)}),
            serde_json::json!({"name": "a", "filters": {"network": "myspace"}}),
            serde_json::json!({"name": "a", "filters": {"colour": "red"}}),
            serde_json::json!({"name": "a", "filters": {"team_id": 0}}),
            serde_json::json!({"name": "a", "filters": {"language": "en; drop"}}),
            serde_json::json!({"name": "a", "sort": "random"}),
        ] {
            assert!(spec(bad.clone()).is_err(), "{bad}");
        }
        Ok(())
    }
}
