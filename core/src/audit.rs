//! The audit trail: who did what, to what, from where, with the state before and after.
//! Append-only: nothing in Chorus updates or deletes a row here.

use chrono::Utc;
use entity::audit;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::Value;

use crate::error::Error;

/// What an erased customer's words in an entry's before/after become: the entry (who did what,
/// when, to which id) stays, the content does not.
pub fn erased_marker() -> Value {
    serde_json::json!({"erased": true})
}

/// One audited action.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// `agent:<id>`, `webhook:<network>`, `apikey:ingest`, `cli`, `system`.
    pub actor: String,
    /// What was done, e.g. `agent.create`, `brand_account.register`.
    pub action: String,
    /// The kind of thing acted on.
    pub target_type: String,
    /// Its id.
    pub target_id: Option<String>,
    /// State before (None for creations).
    pub before: Option<Value>,
    /// State after (None for deletions).
    pub after: Option<Value>,
    /// Client address, when the action came over the network.
    pub ip: Option<String>,
}

impl Entry {
    /// What an agent did to `target_type` `target_id`, leaving it as `after`, from `ip`.
    pub fn by_agent(
        agent_id: i64,
        action: &str,
        (target_type, target_id): (&str, i64),
        after: Value,
        ip: Option<String>,
    ) -> Self {
        Self {
            actor: format!("agent:{agent_id}"),
            action: action.into(),
            target_type: target_type.into(),
            target_id: Some(target_id.to_string()),
            after: Some(after),
            ip,
            ..Default::default()
        }
    }
}

impl Entry {
    /// This entry with the thing as it was before the change.
    pub fn with_before(self, before: &impl serde::Serialize) -> Self {
        Self { before: serde_json::to_value(before).ok(), ..self }
    }

    /// This entry with the thing as the change left it.
    pub fn with_after(self, after: &impl serde::Serialize) -> Self {
        Self { after: serde_json::to_value(after).ok(), ..self }
    }
}

/// Writes one entry (in the caller's transaction, if it has one).
pub async fn record(db: &impl ConnectionTrait, e: Entry) -> Result<(), DbErr> {
    record_many(db, std::slice::from_ref(&e)).await
}

/// Writes entries in as few statements as the store allows (in the caller's transaction, if
/// it has one). Without RETURNING: nothing reads the rows back, and every claim writes one
/// (hot path).
pub async fn record_many(db: &impl ConnectionTrait, entries: &[Entry]) -> Result<(), DbErr> {
    let now = Utc::now();
    for chunk in crate::db::chunks(db, entries) {
        let rows = chunk.iter().map(|e| audit::ActiveModel {
            actor: Set(e.actor.clone()),
            action: Set(e.action.clone()),
            target_type: Set(e.target_type.clone()),
            target_id: Set(e.target_id.clone()),
            before: Set(e.before.clone()),
            after: Set(e.after.clone()),
            ip: Set(e.ip.clone()),
            created_at: Set(now),
            ..Default::default()
        });
        audit::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Filters for searching and exporting the trail.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Search {
    /// Who: `agent:7`, `key:3`, `webhook:meta`, `system`, … (exact).
    pub actor: Option<String>,
    /// What: `agent.update`, or a family with a trailing `*` (`approval.*`).
    pub action: Option<String>,
    /// The kind of thing acted on (`agent`, `conversation`, …).
    pub target_type: Option<String>,
    /// Its id (with `target_type`).
    pub target_id: Option<String>,
    /// From this address (exact).
    pub ip: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<chrono::DateTime<Utc>>,
    /// Before (RFC 3339).
    pub until: Option<chrono::DateTime<Utc>>,
    /// Words in the before or after state (case-insensitive substring).
    pub q: Option<String>,
    /// Page: entries older than this id (from `next_before_id`).
    pub before_id: Option<i64>,
    /// Entries per page, 1 to 500 (100).
    pub limit: Option<u64>,
    /// Export only: `csv` or `ndjson`.
    pub format: Option<crate::export::Format>,
}

/// One entry as searched and exported.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Id (the trail's order).
    pub id: i64,
    /// When.
    pub at: chrono::DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target_type: String,
    /// Its id.
    pub target_id: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// State before, as JSON text.
    pub before: Option<String>,
    /// State after, as JSON text.
    pub after: Option<String>,
}

impl From<audit::Model> for EntryView {
    fn from(m: audit::Model) -> Self {
        Self {
            id: m.id,
            at: m.created_at,
            actor: m.actor,
            action: m.action,
            target_type: m.target_type,
            target_id: m.target_id,
            ip: m.ip,
            before: m.before.map(|v| v.to_string()),
            after: m.after.map(|v| v.to_string()),
        }
    }
}

/// A page of the trail, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EntryPage {
    /// Entries.
    pub entries: Vec<EntryView>,
    /// Pass as `before_id` for the next page; absent on the last.
    pub next_before_id: Option<i64>,
}

fn filtered(s: &Search) -> Result<sea_orm::Select<audit::Entity>, Error> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    use sea_orm::{ColumnTrait, QueryFilter};
    let too_long = [&s.actor, &s.action, &s.target_type, &s.target_id, &s.ip, &s.q]
        .iter()
        .any(|f| f.as_ref().is_some_and(|v| v.chars().count() > 200));
    if too_long {
        return Err(Error::Validation("filters are at most 200 characters".into()));
    }
    let mut find = audit::Entity::find();
    if let Some(a) = &s.actor {
        find = find.filter(audit::Column::Actor.eq(a.as_str()));
    }
    match s.action.as_deref() {
        Some(family) if family.ends_with('*') => {
            find = find.filter(audit::Column::Action.starts_with(family.trim_end_matches('*')));
        }
        Some(a) => find = find.filter(audit::Column::Action.eq(a)),
        None => {}
    }
    if let Some(t) = &s.target_type {
        find = find.filter(audit::Column::TargetType.eq(t.as_str()));
    }
    if let Some(t) = &s.target_id {
        find = find.filter(audit::Column::TargetId.eq(t.as_str()));
    }
    if let Some(ip) = &s.ip {
        find = find.filter(audit::Column::Ip.eq(ip.as_str()));
    }
    if let Some(t) = s.since {
        find = find.filter(audit::Column::CreatedAt.gte(t));
    }
    if let Some(t) = s.until {
        find = find.filter(audit::Column::CreatedAt.lt(t));
    }
    if let Some(q) = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let text = |c: audit::Column| {
            Func::lower(Expr::col(c).cast_as(sea_orm::sea_query::Alias::new("TEXT")))
                .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
        };
        find = find.filter(sea_orm::Condition::any().add(text(audit::Column::Before)).add(text(audit::Column::After)));
    }
    Ok(find)
}

/// Searches the trail, newest first, a page at a time.
pub async fn search(db: &impl ConnectionTrait, s: &Search) -> Result<EntryPage, Error> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let limit = s.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::Validation("limit must be 1 to 500".into()));
    }
    let mut find = filtered(s)?;
    if let Some(b) = s.before_id {
        find = find.filter(audit::Column::Id.lt(b));
    }
    let mut rows = find.order_by_desc(audit::Column::Id).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_before_id = if more { rows.last().map(|r| r.id) } else { None };
    Ok(EntryPage { entries: rows.into_iter().map(EntryView::from).collect(), next_before_id })
}

/// One page of an export, oldest first: the entries after `cursor`, encoded.
pub async fn export_page(
    db: &impl ConnectionTrait,
    s: &Search,
    cursor: Option<i64>,
    first: bool,
) -> Result<crate::export::Page, Error> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut find = filtered(s)?;
    if let Some(c) = cursor {
        find = find.filter(audit::Column::Id.gt(c));
    }
    let rows = find.order_by_asc(audit::Column::Id).limit(crate::export::PAGE).all(db).await?;
    let next = (rows.len() as u64 == crate::export::PAGE).then(|| rows.last().map(|r| r.id)).flatten();
    let views: Vec<EntryView> = rows.into_iter().map(EntryView::from).collect();
    let bytes = s.format.unwrap_or(crate::export::Format::Csv).encode(&views, first)?;
    Ok((bytes, next))
}
