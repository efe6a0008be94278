//! Crisis mode, as the guide's crisis-management plan asks: PR declares a crisis with its
//! holding message (approved as it is declared) and the rota of who handles escalations when;
//! every agent, supervisor and wallboard on every node hears it at once (`crisis.declared` on
//! the `crisis` topic). Open and new conversations that match are linked to it (`crisis_id`,
//! the crisis tag every view shows), raised to tier 1 and routed to the crisis team, and —
//! if the crisis says so — every reply in them waits for approval. PR publishes approved
//! responses per type of message, each version pushed live. Standing down gives every linked
//! conversation back its tier and team and keeps the incident's timeline for export.

pub mod autoack;
pub mod matcher;
pub mod timeline;
pub mod warning;
pub mod watched;

use chrono::{DateTime, Duration, Utc};
use entity::{conversation, crisis, crisis_link, crisis_response, message};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::agents::AgentView;
use crate::conversations::Summary;
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;
use crate::triage::text::Lexicon;
pub use matcher::Crises;

/// Declared and not stood down.
pub const STATUS_ACTIVE: crisis::Status = crisis::Status::Active;
/// Stood down.
pub const STATUS_RESOLVED: crisis::Status = crisis::Status::Resolved;
/// How serious, least first.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
/// How far back declaring looks for open conversations' messages that match.
const LOOKBACK_DAYS: i64 = 7;
const MAX_HOLDING_CHARS: usize = 2000;
const MAX_RESPONSE_CHARS: usize = 10_000;

/// One shift of the rota.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RotaEntry {
    /// From.
    pub starts_at: DateTime<Utc>,
    /// Until.
    pub ends_at: DateTime<Utc>,
    /// Who.
    pub agent_id: i64,
    /// What they handle, e.g. `escalations`, `legal`, `press`.
    pub duty: String,
}

/// A crisis to declare.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declare {
    /// Name, e.g. "Checkout outage".
    pub name: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Words or phrases (whole words, any case) that tie a message to it.
    pub keywords: Vec<String>,
    /// Networks it concerns (`x`, `facebook`, `instagram`, `whatsapp`); empty for all.
    #[serde(default)]
    pub networks: Vec<String>,
    /// The holding message, approved as it is declared.
    pub holding_message: String,
    /// Who handles escalations when.
    #[serde(default)]
    pub rota: Vec<RotaEntry>,
    /// The crisis team: matching conversations go to its queue.
    #[serde(default)]
    pub team_id: Option<i64>,
    /// Every reply in a matching conversation waits for PR's approval.
    #[serde(default)]
    pub hold_replies: bool,
    /// Matching public messages get the holding message, once per customer.
    #[serde(default)]
    pub auto_ack: bool,
    /// At most this many automatic acknowledgements a minute (default 30).
    #[serde(default = "default_rate")]
    pub auto_ack_per_minute: i32,
}

fn default_rate() -> i32 {
    30
}

/// A change to an active crisis (fields left out stay as they are).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrisisPatch {
    /// A new holding message (pushed to everyone at once).
    pub holding_message: Option<String>,
    /// A new severity.
    pub severity: Option<String>,
    /// A new rota.
    pub rota: Option<Vec<RotaEntry>>,
    /// Hold every reply for approval, or not.
    pub hold_replies: Option<bool>,
    /// Acknowledge automatically, or not.
    pub auto_ack: Option<bool>,
    /// The acknowledgement rate.
    pub auto_ack_per_minute: Option<i32>,
}

/// One approved response, as published.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ResponseView {
    /// Id.
    pub id: i64,
    /// The crisis.
    pub crisis_id: i64,
    /// The type of message it answers.
    pub message_type: String,
    /// 1 for the first text of this type, then 2, 3, …
    pub version: i32,
    /// The text agents adapt in the composer.
    pub text: String,
    /// Who published it.
    pub published_by: i64,
    /// When.
    pub published_at: DateTime<Utc>,
}

impl From<crisis_response::Model> for ResponseView {
    fn from(r: crisis_response::Model) -> Self {
        Self {
            id: r.id,
            crisis_id: r.crisis_id,
            message_type: r.message_type,
            version: r.version,
            text: r.text,
            published_by: r.published_by,
            published_at: r.published_at,
        }
    }
}

/// A new version of an approved response.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// The type of message it answers, e.g. "asking for refund".
    pub message_type: String,
    /// The text.
    pub text: String,
}

/// A crisis as the API and the `crisis.*` events show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrisisView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Severity.
    pub severity: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Networks (empty: all).
    pub networks: Vec<String>,
    /// The holding message.
    pub holding_message: String,
    /// The rota.
    pub rota: Vec<RotaEntry>,
    /// Who is on duty now.
    pub on_duty: Vec<RotaEntry>,
    /// The crisis team.
    pub team_id: Option<i64>,
    /// Replies in matching conversations wait for approval.
    pub hold_replies: bool,
    /// Automatic acknowledgement is on.
    pub auto_ack: bool,
    /// Its rate per minute.
    pub auto_ack_per_minute: i32,
    /// `active` or `resolved`.
    pub status: String,
    /// Declared by.
    pub declared_by: i64,
    /// Declared at.
    pub declared_at: DateTime<Utc>,
    /// Stood down by.
    pub resolved_by: Option<i64>,
    /// Stood down at.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The approved responses, the newest version of each type.
    pub responses: Vec<ResponseView>,
    /// Conversations it took over.
    pub linked_conversations: u64,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Builds the view of a crisis with its current responses and links.
pub async fn view(db: &impl ConnectionTrait, c: crisis::Model) -> Result<CrisisView, Error> {
    let all = crisis_response::Entity::find()
        .filter(crisis_response::Column::CrisisId.eq(c.id))
        .order_by_asc(crisis_response::Column::MessageType)
        .order_by_desc(crisis_response::Column::Version)
        .all(db)
        .await?;
    let mut responses: Vec<ResponseView> = Vec::new();
    for r in all {
        if !responses.iter().any(|x| x.message_type == r.message_type) {
            responses.push(ResponseView::from(r));
        }
    }
    let linked = crisis_link::Entity::find().filter(crisis_link::Column::CrisisId.eq(c.id)).count(db).await?;
    let rota: Vec<RotaEntry> = serde_json::from_value(c.rota).unwrap_or_default();
    let now = Utc::now();
    let on_duty = rota.iter().filter(|r| r.starts_at <= now && now < r.ends_at).cloned().collect();
    Ok(CrisisView {
        id: c.id,
        name: c.name,
        severity: c.severity,
        keywords: strings(&c.keywords),
        networks: strings(&c.networks),
        holding_message: c.holding_message,
        rota,
        on_duty,
        team_id: c.team_id,
        hold_replies: c.hold_replies,
        auto_ack: c.auto_ack,
        auto_ack_per_minute: c.auto_ack_per_minute,
        status: c.status.to_string(),
        declared_by: c.declared_by,
        declared_at: c.declared_at,
        resolved_by: c.resolved_by,
        resolved_at: c.resolved_at,
        responses,
        linked_conversations: linked,
    })
}

/// Declaring, changing and standing down a crisis, and publishing its responses, is PR's (and
/// legal's and admins') to do: `crises.run`, checked here too since more than one route leads
/// here.
pub fn may_run(who: &AgentView) -> Result<(), Error> {
    crate::auth::permissions::require(&who.roles, crate::auth::Permission::RunCrises)
}

fn bounded(field: &str, v: &str, max: usize) -> Result<String, Error> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::Validation(format!("{field} must be 1 to {max} characters")));
    }
    Ok(v.to_owned())
}

fn severity(s: &str) -> Result<String, Error> {
    if SEVERITIES.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(Error::Validation(format!("severity must be one of {}", SEVERITIES.join(", "))))
    }
}

fn rate(r: i32) -> Result<i32, Error> {
    if (1..=10_000).contains(&r) {
        Ok(r)
    } else {
        Err(Error::Validation("auto_ack_per_minute must be 1 to 10000".into()))
    }
}

async fn check_rota(db: &impl ConnectionTrait, rota: &[RotaEntry]) -> Result<(), Error> {
    if rota.len() > 200 {
        return Err(Error::Validation("a rota has at most 200 shifts".into()));
    }
    for r in rota {
        if r.ends_at <= r.starts_at {
            return Err(Error::Validation("a shift must end after it starts".into()));
        }
        bounded("duty", &r.duty, 100)?;
        if entity::agent::Entity::find_by_id(r.agent_id).one(db).await?.is_none() {
            return Err(Error::Validation(format!("agent {} does not exist", r.agent_id)));
        }
    }
    Ok(())
}

/// The open conversations whose customer wrote something that matches (in the last week), on
/// the crisis's networks, not yet linked to a crisis.
async fn matching_open(
    db: &impl ConnectionTrait,
    words: &Lexicon,
    networks: &[String],
) -> Result<Vec<conversation::Model>, Error> {
    let open = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::Id)
        .filter(conversation::Column::Status.ne(crate::conversations::STATUS_RESOLVED))
        .filter(conversation::Column::CrisisId.is_null())
        .into_query();
    let texts: Vec<(i64, String, String)> = message::Entity::find()
        .select_only()
        .column(message::Column::ConversationId)
        .column(message::Column::Network)
        .column(message::Column::Text)
        .filter(message::Column::Direction.eq("inbound"))
        .filter(message::Column::SentAt.gte(Utc::now() - Duration::days(LOOKBACK_DAYS)))
        .filter(message::Column::ConversationId.in_subquery(open))
        .into_tuple()
        .all(db)
        .await?;
    let mut ids: Vec<i64> = texts
        .into_iter()
        .filter(|(_, n, t)| (networks.is_empty() || networks.contains(n)) && words.first(t).is_some())
        .map(|(id, _, _)| id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(conversation::Entity::find().filter(conversation::Column::Id.is_in(chunk.to_vec())).all(db).await?);
    }
    Ok(out)
}

/// Links conversations to a crisis: remembers their tier and team, raises them to tier 1 and
/// routes them to the crisis team; returns their queue events.
pub async fn link(
    db: &impl ConnectionTrait,
    crisis_id: i64,
    team_id: Option<i64>,
    convs: &[conversation::Model],
) -> Result<Vec<NewEvent>, Error> {
    let mut evs = Vec::with_capacity(convs.len());
    let now = Utc::now();
    for c in convs {
        crisis_link::ActiveModel {
            crisis_id: Set(crisis_id),
            conversation_id: Set(c.id),
            prev_priority: Set(c.priority),
            prev_team_id: Set(c.team_id),
            linked_at: Set(now),
        }
        .insert(db)
        .await?;
        let updated = conversation::Entity::update_many()
            .col_expr(conversation::Column::CrisisId, Expr::value(Some(crisis_id)))
            .col_expr(conversation::Column::Priority, Expr::value(1i16))
            .col_expr(conversation::Column::TeamId, Expr::value(team_id.or(c.team_id)))
            .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
            .filter(conversation::Column::Id.eq(c.id))
            .exec_with_returning(db)
            .await?;
        evs.extend(updated.iter().map(queue_event));
    }
    Ok(evs)
}

fn queue_event(c: &conversation::Model) -> NewEvent {
    let kind = if crate::conversations::is_queued(c) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
    NewEvent { kind, conversation_id: Some(c.id), payload: serde_json::json!(Summary::from_model(c, None)) }
}

fn audit_entry(
    who: &AgentView,
    action: &str,
    id: i64,
    after: serde_json::Value,
    ip: Option<String>,
) -> crate::audit::Entry {
    crate::audit::Entry::by_agent(who.id, action, ("crisis", id), after, ip)
}

/// Declares a crisis: stored, matching open conversations taken over, everyone told.
pub async fn declare(
    db: &DatabaseConnection,
    live: &Live,
    crises: &Crises,
    who: &AgentView,
    d: Declare,
    ip: Option<String>,
) -> Result<CrisisView, Error> {
    may_run(who)?;
    let name = bounded("name", &d.name, 200)?;
    let sev = severity(&d.severity)?;
    let keywords = crate::triage::text::clean_terms("keywords", &d.keywords)?;
    if keywords.is_empty() {
        return Err(Error::Validation("a crisis needs at least one keyword".into()));
    }
    if let Some(bad) = d.networks.iter().find(|n| crate::network::Network::parse(n).is_none()) {
        return Err(Error::Validation(format!("unknown network {bad:?}")));
    }
    let holding = bounded("holding_message", &d.holding_message, MAX_HOLDING_CHARS)?;
    let per_minute = rate(d.auto_ack_per_minute)?;
    check_rota(db, &d.rota).await?;
    if let Some(t) = d.team_id {
        entity::team::Entity::find_by_id(t)
            .one(db)
            .await?
            .ok_or(Error::Validation(format!("team {t} does not exist")))?;
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // First: ingest on every node reads this version row in its transaction.
    crate::cached::bump(&txn, crate::cached::Kind::Crises).await?;
    let c = crisis::ActiveModel {
        name: Set(name),
        severity: Set(sev),
        keywords: Set(serde_json::json!(keywords)),
        networks: Set(serde_json::json!(d.networks)),
        holding_message: Set(holding),
        rota: Set(serde_json::json!(d.rota)),
        team_id: Set(d.team_id),
        hold_replies: Set(d.hold_replies),
        auto_ack: Set(d.auto_ack),
        auto_ack_per_minute: Set(per_minute),
        ack_window_start: Set(None),
        ack_window_count: Set(0),
        status: Set(STATUS_ACTIVE),
        declared_by: Set(who.id),
        declared_at: Set(now),
        resolved_by: Set(None),
        resolved_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let matched = matching_open(&txn, &Lexicon::new(&keywords), &d.networks).await?;
    let queue = link(&txn, c.id, c.team_id, &matched).await?;
    let v = view(&txn, c).await?;
    crate::audit::record(&txn, audit_entry(who, "crisis.declare", v.id, serde_json::json!(v), ip)).await?;
    let mut evs = vec![NewEvent { kind: kind::CRISIS_DECLARED, conversation_id: None, payload: serde_json::json!(v) }];
    evs.extend(queue);
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    reload(db, crises).await;
    Ok(v)
}

async fn reload(db: &DatabaseConnection, crises: &Crises) {
    if let Err(e) = crises.reload(db).await {
        tracing::warn!(error.message = %e, "reloading active crises after a change failed");
    }
}

async fn active(db: &impl ConnectionTrait, id: i64) -> Result<crisis::Model, Error> {
    let c = crisis::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("crisis"))?;
    if c.status != STATUS_ACTIVE {
        return Err(Error::Conflict("this crisis was stood down".into()));
    }
    Ok(c)
}

/// Changes an active crisis (holding message, severity, rota, holds, acknowledgements).
pub async fn update(
    db: &DatabaseConnection,
    live: &Live,
    crises: &Crises,
    id: i64,
    who: &AgentView,
    p: CrisisPatch,
    ip: Option<String>,
) -> Result<CrisisView, Error> {
    may_run(who)?;
    active(db, id).await?;
    let mut m = crisis::ActiveModel { updated_at: Set(Utc::now()), ..Default::default() };
    if let Some(h) = &p.holding_message {
        m.holding_message = Set(bounded("holding_message", h, MAX_HOLDING_CHARS)?);
    }
    if let Some(s) = &p.severity {
        m.severity = Set(severity(s)?);
    }
    if let Some(r) = &p.rota {
        check_rota(db, r).await?;
        m.rota = Set(serde_json::json!(r));
    }
    if let Some(h) = p.hold_replies {
        m.hold_replies = Set(h);
    }
    if let Some(a) = p.auto_ack {
        m.auto_ack = Set(a);
    }
    if let Some(r) = p.auto_ack_per_minute {
        m.auto_ack_per_minute = Set(rate(r)?);
    }
    let txn = crate::db::begin_write(db).await?;
    // First: ingest on every node reads this version row in its transaction.
    crate::cached::bump(&txn, crate::cached::Kind::Crises).await?;
    let updated = crisis::Entity::update_many()
        .set(m)
        .filter(crisis::Column::Id.eq(id))
        .filter(crisis::Column::Status.eq(STATUS_ACTIVE))
        .exec_with_returning(&txn)
        .await?;
    let Some(c) = updated.into_iter().next() else {
        txn.rollback().await?;
        return Err(Error::Conflict("this crisis was stood down".into()));
    };
    let v = view(&txn, c).await?;
    crate::audit::record(&txn, audit_entry(who, "crisis.update", id, serde_json::json!(v), ip)).await?;
    let evs = [NewEvent { kind: kind::CRISIS_UPDATED, conversation_id: None, payload: serde_json::json!(v) }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    reload(db, crises).await;
    Ok(v)
}

/// Publishes a new version of an approved response; every agent gets it at once.
pub async fn respond(
    db: &DatabaseConnection,
    live: &Live,
    id: i64,
    who: &AgentView,
    r: NewResponse,
    ip: Option<String>,
) -> Result<ResponseView, Error> {
    may_run(who)?;
    active(db, id).await?;
    let message_type = bounded("message_type", &r.message_type, 100)?.to_lowercase();
    let text = bounded("text", &r.text, MAX_RESPONSE_CHARS)?;
    let latest: Option<i32> = crisis_response::Entity::find()
        .select_only()
        .column_as(crisis_response::Column::Version.max(), "v")
        .filter(crisis_response::Column::CrisisId.eq(id))
        .filter(crisis_response::Column::MessageType.eq(&message_type))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let txn = crate::db::begin_write(db).await?;
    let inserted = crisis_response::ActiveModel {
        crisis_id: Set(id),
        message_type: Set(message_type),
        version: Set(latest.unwrap_or(0) + 1),
        text: Set(text),
        published_by: Set(who.id),
        published_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let Ok(saved) = inserted else {
        // Two publishers of the same type at once: the unique version refuses the second.
        txn.rollback().await?;
        return Err(Error::Conflict("another version of this response was just published; reload and retry".into()));
    };
    let v = ResponseView::from(saved);
    crate::audit::record(&txn, audit_entry(who, "crisis.response", id, serde_json::json!(v), ip)).await?;
    let evs = [NewEvent { kind: kind::CRISIS_RESPONSE, conversation_id: None, payload: serde_json::json!(v) }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(v)
}

/// Stands a crisis down: every conversation it took over gets its tier and team back (unless
/// someone changed them since — then they stay as they are now), replies stop being held,
/// banners clear everywhere.
pub async fn resolve(
    db: &DatabaseConnection,
    live: &Live,
    crises: &Crises,
    id: i64,
    who: &AgentView,
    ip: Option<String>,
) -> Result<CrisisView, Error> {
    may_run(who)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // First: ingest on every node reads this version row in its transaction.
    crate::cached::bump(&txn, crate::cached::Kind::Crises).await?;
    let done = crisis::Entity::update_many()
        .col_expr(crisis::Column::Status, Expr::value(STATUS_RESOLVED))
        .col_expr(crisis::Column::ResolvedBy, Expr::value(Some(who.id)))
        .col_expr(crisis::Column::ResolvedAt, Expr::value(Some(now)))
        .col_expr(crisis::Column::UpdatedAt, Expr::value(now))
        .filter(crisis::Column::Id.eq(id))
        .filter(crisis::Column::Status.eq(STATUS_ACTIVE))
        .exec_with_returning(&txn)
        .await?;
    let Some(c) = done.into_iter().next() else {
        txn.rollback().await?;
        active(db, id).await?;
        return Err(Error::Conflict("this crisis was stood down".into()));
    };
    let links = crisis_link::Entity::find().filter(crisis_link::Column::CrisisId.eq(id)).all(&txn).await?;
    let mut evs = Vec::new();
    for l in links {
        let restored = conversation::Entity::update_many()
            .col_expr(conversation::Column::CrisisId, Expr::value(Option::<i64>::None))
            .col_expr(conversation::Column::Priority, Expr::value(l.prev_priority))
            .col_expr(conversation::Column::TeamId, Expr::value(l.prev_team_id))
            .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
            .filter(conversation::Column::Id.eq(l.conversation_id))
            .filter(conversation::Column::CrisisId.eq(id))
            .exec_with_returning(&txn)
            .await?;
        evs.extend(restored.iter().map(queue_event));
    }
    let v = view(&txn, c).await?;
    crate::audit::record(&txn, audit_entry(who, "crisis.resolve", id, serde_json::json!(v), ip)).await?;
    evs.insert(0, NewEvent { kind: kind::CRISIS_RESOLVED, conversation_id: None, payload: serde_json::json!(v) });
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    reload(db, crises).await;
    Ok(v)
}

/// One crisis.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<CrisisView, Error> {
    let c = crisis::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("crisis"))?;
    view(db, c).await
}

/// Crises, newest first: `active` (default), `resolved` or `all`.
pub async fn list(db: &impl ConnectionTrait, status: Option<&str>) -> Result<Vec<CrisisView>, Error> {
    let mut find = crisis::Entity::find();
    let wanted = status.unwrap_or(STATUS_ACTIVE.as_str());
    if wanted != "all" {
        let Some(s) = crisis::Status::parse(wanted) else {
            return Err(Error::Validation("status must be active, resolved or all".into()));
        };
        find = find.filter(crisis::Column::Status.eq(s));
    }
    let rows = find.order_by_desc(crisis::Column::Id).limit(200).all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        out.push(view(db, c).await?);
    }
    Ok(out)
}

/// Crisis mode: early warning and automatic acknowledgements.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrisisSettings {
    /// How often each node looks at the inbound volume, in milliseconds.
    pub scan_interval_ms: u64,
    /// The window whose volume is compared, in seconds.
    pub window_secs: u64,
    /// How many windows before it make the baseline.
    pub baseline_windows: u32,
    /// How many times its baseline a topic must reach to alert.
    pub spike_ratio: f64,
    /// Fewest messages in the window that can alert.
    pub min_count: u32,
    /// After an alert, the same topic stays quiet this long, in seconds.
    pub cooldown_secs: u64,
    /// No longer read: the watched terms are data (`/api/v1/watched-terms`), seeded with this
    /// key's old default list. Accepted so an older configuration file still starts; a
    /// warning at start says where the terms went.
    pub watch_terms: Option<Vec<String>>,
    /// How often automatic acknowledgements are looked for, in milliseconds.
    pub ack_interval_ms: u64,
}

impl Default for CrisisSettings {
    fn default() -> Self {
        Self {
            scan_interval_ms: 30_000,
            window_secs: 300,
            baseline_windows: 12,
            spike_ratio: 10.0,
            min_count: 20,
            cooldown_secs: 1800,
            watch_terms: None,
            ack_interval_ms: 1_000,
        }
    }
}
