//! Alerts people act on: a crisis spike, an SLA breach, a customer whose mood turned, a post by
//! someone with a large following. Each is raised once (its `dedupe_key` is unique, so the
//! nodes that all noticed it write one row), stays open until someone acknowledges it, and
//! can be assigned to whoever should deal with it; every change reaches every supervisor's
//! screen (`alert.raised`, `alert.updated` on the `alerts` topic) with who did it.
//!
//! An alert never copies what a customer wrote or who they are: its title and detail are about
//! figures (a count, a follower number, a sentiment score), and the words it is about are the
//! conversation's `snippet`, read with the alert — so an edit, a deletion or an erasure on the
//! network leaves no copy behind in alerts (erasure deletes the alerts of the conversations it
//! takes).
//!
//! Crisis spikes and breaches are raised by what detects them (`crisis::warning`,
//! `conversations::sla`), in the same transaction; sentiment swings and influential customers
//! by [`watch::scan`], which looks at what came in since its last look.

pub mod watch;

use chrono::{DateTime, Utc};
use entity::alert::{self, Kind};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit;
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Most alerts one list returns (newest first).
pub const PAGE: u64 = 500;

/// An alert as screens show it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct AlertView {
    /// Id.
    pub id: i64,
    /// `crisis_spike`, `sla_breach`, `sentiment_swing` or `influencer_post`.
    #[schema(value_type = String)]
    pub kind: Kind,
    /// One line.
    pub title: String,
    /// More, for the card.
    pub detail: String,
    /// The conversation it is about, if one.
    pub conversation_id: Option<i64>,
    /// The early-warning alert behind a crisis spike.
    pub crisis_alert_id: Option<i64>,
    /// The conversation's newest customer words, as they are now (none without a conversation).
    pub snippet: Option<String>,
    /// The conversation's customer, as they are named now.
    pub customer_name: Option<String>,
    /// When.
    pub raised_at: DateTime<Utc>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<i64>,
    /// When.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who has it.
    pub assignee_id: Option<i64>,
    /// Who gave it to them.
    pub assigned_by: Option<i64>,
    /// When.
    pub assigned_at: Option<DateTime<Utc>>,
}

impl From<alert::Model> for AlertView {
    fn from(m: alert::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            title: m.title,
            detail: m.detail,
            conversation_id: m.conversation_id,
            crisis_alert_id: m.crisis_alert_id,
            snippet: None,
            customer_name: None,
            raised_at: m.raised_at,
            acknowledged_by: m.acknowledged_by,
            acknowledged_at: m.acknowledged_at,
            assignee_id: m.assignee_id,
            assigned_by: m.assigned_by,
            assigned_at: m.assigned_at,
        }
    }
}

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct NewAlert {
    /// What it is about.
    pub kind: Kind,
    /// One per thing: `sla_breach:<conversation>:<due>`, `crisis_spike:<crisis alert>`, ….
    pub dedupe_key: String,
    /// One line.
    pub title: String,
    /// More.
    pub detail: String,
    /// The conversation, if one.
    pub conversation_id: Option<i64>,
    /// The early-warning alert, for a spike.
    pub crisis_alert_id: Option<i64>,
}

/// Raises `new` in the caller's transaction unless an alert with its key exists, appending its
/// `alert.raised` event there too; returns the event to publish after the commit (none when it
/// was already raised).
pub async fn raise(db: &impl ConnectionTrait, new: NewAlert) -> Result<Option<NewEvent>, Error> {
    let row = alert::ActiveModel {
        kind: Set(new.kind),
        dedupe_key: Set(new.dedupe_key.chars().take(200).collect()),
        title: Set(new.title.chars().take(300).collect()),
        detail: Set(new.detail),
        conversation_id: Set(new.conversation_id),
        crisis_alert_id: Set(new.crisis_alert_id),
        raised_at: Set(Utc::now()),
        ..Default::default()
    };
    let inserted = alert::Entity::insert(row)
        .on_conflict(OnConflict::column(alert::Column::DedupeKey).do_nothing().to_owned())
        .exec_with_returning(db)
        .await;
    let model = match inserted {
        Ok(m) => m,
        // The key exists: PostgreSQL says so as "not inserted", SQLite's RETURNING as no row.
        Err(sea_orm::DbErr::RecordNotInserted | sea_orm::DbErr::RecordNotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let view = with_snippets(db, vec![AlertView::from(model)]).await?.remove(0);
    let ev =
        NewEvent { kind: kind::ALERT_RAISED, conversation_id: view.conversation_id, payload: serde_json::json!(view) };
    events::append(db, std::slice::from_ref(&ev)).await?;
    Ok(Some(ev))
}

/// Which alerts a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Showing {
    /// Not acknowledged yet (the default).
    #[default]
    Open,
    /// Acknowledged.
    Acknowledged,
    /// Every one.
    All,
}

/// Alerts, newest first.
pub async fn list(db: &impl ConnectionTrait, showing: Showing) -> Result<Vec<AlertView>, Error> {
    let q = alert::Entity::find();
    let q = match showing {
        Showing::Open => q.filter(alert::Column::AcknowledgedAt.is_null()),
        Showing::Acknowledged => q.filter(alert::Column::AcknowledgedAt.is_not_null()),
        Showing::All => q,
    };
    let rows = q.order_by_desc(alert::Column::RaisedAt).order_by_desc(alert::Column::Id).limit(PAGE).all(db).await?;
    with_snippets(db, rows.into_iter().map(AlertView::from).collect()).await
}

/// Fills in each alert's conversation snippet and customer name as they are now.
async fn with_snippets(db: &impl ConnectionTrait, mut views: Vec<AlertView>) -> Result<Vec<AlertView>, Error> {
    use std::collections::HashMap;

    use entity::{conversation, customer};
    let ids: Vec<i64> = views.iter().filter_map(|v| v.conversation_id).collect();
    if ids.is_empty() {
        return Ok(views);
    }
    let rows: Vec<(i64, Option<String>, i64)> = conversation::Entity::find()
        .select_only()
        .columns([conversation::Column::Id, conversation::Column::Snippet, conversation::Column::CustomerId])
        .filter(conversation::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    let names: HashMap<i64, String> = customer::Entity::find()
        .select_only()
        .columns([customer::Column::Id, customer::Column::DisplayName])
        .filter(customer::Column::Id.is_in(rows.iter().map(|r| r.2)))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let by_conversation: HashMap<i64, (Option<String>, i64)> = rows.into_iter().map(|(c, s, p)| (c, (s, p))).collect();
    for v in &mut views {
        if let Some((snippet, person)) = v.conversation_id.and_then(|c| by_conversation.get(&c)) {
            v.snippet = snippet.clone();
            v.customer_name = names.get(person).cloned();
        }
    }
    Ok(views)
}

/// What someone does to an alert.
#[derive(Debug, Clone, Copy)]
pub enum Act {
    /// Acknowledges it (once: a second acknowledgement is a conflict, so two supervisors
    /// cannot both think they took it).
    Acknowledge,
    /// Gives it to an agent (again: reassigning is allowed).
    Assign(i64),
}

/// Acts on alert `id` as agent `by`, audited in the same transaction; everyone's screen hears.
pub async fn act(
    db: &DatabaseConnection,
    live: &Live,
    id: i64,
    act: Act,
    by: i64,
    audit: audit::Entry,
) -> Result<AlertView, Error> {
    let txn = crate::db::begin_write(db).await?;
    let found = alert::Entity::find_by_id(id).one(&txn).await?.ok_or(Error::NotFound("alert"))?;
    let before = AlertView::from(found.clone());
    let now = Utc::now();
    let mut row: alert::ActiveModel = found.into();
    match act {
        Act::Acknowledge => {
            if let Some(who) = before.acknowledged_by {
                return Err(Error::Conflict(format!("agent {who} already acknowledged this alert")));
            }
            row.acknowledged_by = Set(Some(by));
            row.acknowledged_at = Set(Some(now));
        }
        Act::Assign(agent) => {
            let target = entity::agent::Entity::find_by_id(agent).one(&txn).await?;
            if !target.is_some_and(|a| a.active) {
                return Err(Error::Validation(format!("agent {agent} does not exist or is disabled")));
            }
            row.assignee_id = Set(Some(agent));
            row.assigned_by = Set(Some(by));
            row.assigned_at = Set(Some(now));
        }
    }
    let view = with_snippets(&txn, vec![AlertView::from(row.update(&txn).await?)]).await?.remove(0);
    let ev =
        NewEvent { kind: kind::ALERT_UPDATED, conversation_id: view.conversation_id, payload: serde_json::json!(view) };
    events::append(&txn, std::slice::from_ref(&ev)).await?;
    audit::record(
        &txn,
        audit::Entry { target_id: Some(id.to_string()), ..audit }.with_before(&before).with_after(&view),
    )
    .await?;
    txn.commit().await?;
    live.publish(&[ev]);
    Ok(view)
}
