//! Outgoing webhooks for CRMs and BI tools: an admin subscribes a URL to event kinds; every
//! event of those kinds is POSTed to it, signed (HMAC-SHA256 over a timestamp and the body),
//! retried with backoff, at least once, with the event's id for the receiver to drop repeats.
//!
//! Three parts, all on every node: [`relay`] turns new events from the store's log into one
//! delivery row per matching subscription (exactly once across the cluster, behind a cursor),
//! [`sender`] sends due deliveries (one node per delivery, behind a lease), and [`sign`] makes
//! the signature. This file holds the subscriptions and the delivery log.

pub mod relay;
pub mod sender;

use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_subscription};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::Error;
use crate::events::kind;

/// A delivery waiting for its (next) attempt.
pub const STATUS_PENDING: entity::webhook_delivery::Status = entity::webhook_delivery::Status::Pending;
/// The receiver answered 2xx.
pub const STATUS_DELIVERED: entity::webhook_delivery::Status = entity::webhook_delivery::Status::Delivered;
/// Out of attempts; an admin may send it again (`POST /webhook-deliveries/{id}/retry`).
pub const STATUS_FAILED: entity::webhook_delivery::Status = entity::webhook_delivery::Status::Failed;

/// Most subscriptions a deployment may have (each event is copied once per subscription).
pub const MAX_SUBSCRIPTIONS: u64 = 50;
/// Subscribes to every event kind.
pub const ALL_KINDS: &str = "*";

/// The event kinds a subscription may name: every kind the store's log holds. The wire-only
/// kinds (viewers, typing, presence) are never stored, so they cannot be delivered.
pub const EVENT_KINDS: &[&str] = &[
    kind::CONVERSATION_MESSAGE,
    kind::CONVERSATION_MESSAGE_UPDATED,
    kind::QUEUE_UPSERT,
    kind::QUEUE_REMOVE,
    kind::CONVERSATION_CLAIMED,
    kind::CONVERSATION_RELEASED,
    kind::CONVERSATION_REASSIGNED,
    kind::CONVERSATION_RESOLVED,
    kind::CONVERSATION_TAGS,
    kind::CONVERSATION_STATUS,
    kind::CONVERSATION_NOTE,
    kind::BRAND_ACCOUNT_REGISTERED,
    kind::BRAND_ACCOUNT_CHANGED,
    kind::AGENT_CREATED,
    kind::AGENT_UPDATED,
    kind::SESSION_REVOKED,
    kind::TEAM_CHANGED,
    kind::CONVERSATION_TEAM,
    kind::CONVERSATION_FOLLOWUP_DUE,
    kind::REPLY_QUEUED,
    kind::REPLY_SENT,
    kind::REPLY_FAILED,
    kind::APPROVAL_REQUESTED,
    kind::APPROVAL_DECIDED,
    kind::CONVERSATION_ESCALATED,
    kind::CONVERSATION_ESCALATION_RETURNED,
    kind::AGENT_MENTIONED,
    kind::CRISIS_DECLARED,
    kind::CRISIS_UPDATED,
    kind::CRISIS_RESPONSE,
    kind::CRISIS_RESOLVED,
    kind::CRISIS_ALERT,
    kind::SLA_WARNING,
    kind::SLA_BREACH,
    kind::LISTENING_RULE_CREATED,
    kind::LISTENING_RULE_DELETED,
    kind::CUSTOMER_MERGED,
    kind::CUSTOMER_UNMERGED,
    kind::CUSTOMER_UPDATED,
    kind::APPROVAL_REMINDER,
    kind::APPROVAL_ESCALATED,
    kind::REPLY_RETURNED,
    kind::ALERT_RAISED,
    kind::ALERT_UPDATED,
];

/// Kinds that exist only on the wire (never in the store's log).
#[cfg(test)]
const WIRE_ONLY: &[&str] = &[
    kind::CONVERSATION_VIEWERS,
    kind::CONVERSATION_TYPING,
    kind::PRESENCE_CHANGED,
    kind::CUSTOMER_ERASED,
    kind::FORGOTTEN,
    kind::LOG_LOST,
    kind::SETTINGS_CHANGED,
];

/// A subscription as listed (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SubscriptionView {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event kinds delivered, or `["*"]` for all.
    pub event_types: Vec<String>,
    /// Inactive subscriptions get no new deliveries, and their pending ones wait.
    pub active: bool,
    /// The admin who made it.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

impl From<webhook_subscription::Model> for SubscriptionView {
    fn from(m: webhook_subscription::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            url: m.url,
            event_types: strings(&m.event_types),
            active: m.active,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Whether a subscription with these event types wants an event of this kind.
pub fn wants(event_types: &serde_json::Value, event_kind: &str) -> bool {
    event_types.as_array().is_some_and(|a| a.iter().any(|t| t == ALL_KINDS || t == event_kind))
}

/// What it takes to make a subscription.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// What it is for (1 to 200 characters).
    pub name: String,
    /// `https://…` (or `http://…` when `CHORUS_WEBHOOKS__ALLOW_HTTP` is on), at most 2,048
    /// characters.
    pub url: String,
    /// Event kinds (see docs/protocol.md, "Events"), or `["*"]` for all.
    pub event_types: Vec<String>,
    /// Start active (default) or paused.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A change to a subscription; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    /// New name.
    pub name: Option<String>,
    /// New URL.
    pub url: Option<String>,
    /// New event kinds.
    pub event_types: Option<Vec<String>>,
    /// Pause (`false`) or resume (`true`).
    pub active: Option<bool>,
}

/// A new subscription: the signing secret (shown this once) and the subscription as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscription {
    /// The HMAC-SHA256 key of `X-Chorus-Signature`. It cannot be shown again.
    pub secret: String,
    /// The subscription as listed.
    pub subscription: SubscriptionView,
}

fn valid_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::Validation("name must be 1 to 200 characters".into()));
    }
    Ok(name.to_owned())
}

/// Checks a receiver URL: absolute, `https` (or `http` when allowed), with a host, no
/// credentials in it, at most 2,048 characters.
fn valid_url(url: &str, allow_http: bool) -> Result<String, Error> {
    let url = url.trim();
    if url.is_empty() || url.len() > 2048 {
        return Err(Error::Validation("url must be 1 to 2048 characters".into()));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::Validation(format!("url {url:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ if allow_http => return Err(Error::Validation("url must start with https:// or http://".into())),
        _ => return Err(Error::Validation("url must start with https://".into())),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::Validation("url has no host".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Validation("url must not carry credentials".into()));
    }
    Ok(url.to_owned())
}

/// Checks event kinds against the known ones; sorted, without repeats. `*` stands alone.
fn valid_event_types(types: &[String]) -> Result<Vec<String>, Error> {
    if types.is_empty() || types.len() > EVENT_KINDS.len() {
        return Err(Error::Validation(format!(
            "event_types must name 1 to {} event kinds, or be [\"*\"]",
            EVENT_KINDS.len()
        )));
    }
    if types.iter().any(|t| t == ALL_KINDS) {
        return if types.iter().all(|t| t == ALL_KINDS) {
            Ok(vec![ALL_KINDS.to_owned()])
        } else {
            Err(Error::Validation("\"*\" already means every event kind: give it alone".into()))
        };
    }
    if let Some(bad) = types.iter().find(|t| !EVENT_KINDS.contains(&t.as_str())) {
        let shown: String = bad.chars().take(100).collect();
        return Err(Error::Validation(format!(
            "unknown event kind {shown:?}; known: {}, or \"*\" for all",
            EVENT_KINDS.join(", ")
        )));
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

/// Makes a subscription with a secret Chorus generates; the secret is in the answer.
pub async fn create(
    db: &impl ConnectionTrait,
    by: i64,
    new: NewSubscription,
    allow_http: bool,
) -> Result<CreatedSubscription, Error> {
    let name = valid_name(&new.name)?;
    let url = valid_url(&new.url, allow_http)?;
    let event_types = valid_event_types(&new.event_types)?;
    if webhook_subscription::Entity::find().count(db).await? >= MAX_SUBSCRIPTIONS {
        return Err(Error::Validation(format!("at most {MAX_SUBSCRIPTIONS} webhook subscriptions")));
    }
    let secret = format!("whsec_{}", crate::auth::token::generate());
    let now = Utc::now();
    let model = webhook_subscription::ActiveModel {
        name: Set(name),
        url: Set(url),
        secret: Set(secret.clone()),
        event_types: Set(serde_json::json!(event_types)),
        active: Set(new.active.unwrap_or(true)),
        active_since: Set(now),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(CreatedSubscription { secret, subscription: SubscriptionView::from(model) })
}

/// Every subscription, oldest first (never their secrets).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<SubscriptionView>, Error> {
    let rows = webhook_subscription::Entity::find().order_by_asc(webhook_subscription::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(SubscriptionView::from).collect())
}

async fn find(db: &impl ConnectionTrait, id: i64) -> Result<webhook_subscription::Model, Error> {
    webhook_subscription::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("webhook subscription"))
}

/// Changes a subscription; returns it before and after.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    patch: SubscriptionPatch,
    allow_http: bool,
) -> Result<(SubscriptionView, SubscriptionView), Error> {
    let name = patch.name.as_deref().map(valid_name).transpose()?;
    let url = patch.url.as_deref().map(|u| valid_url(u, allow_http)).transpose()?;
    let event_types = patch.event_types.as_deref().map(valid_event_types).transpose()?;
    let found = find(db, id).await?;
    let before = SubscriptionView::from(found.clone());
    let mut am: webhook_subscription::ActiveModel = found.into();
    if let Some(name) = name {
        am.name = Set(name);
    }
    if let Some(url) = url {
        am.url = Set(url);
    }
    if let Some(types) = event_types {
        am.event_types = Set(serde_json::json!(types));
    }
    let now = Utc::now();
    if let Some(active) = patch.active {
        // Resuming: the events of the pause are not sent.
        if active && !before.active {
            am.active_since = Set(now);
        }
        am.active = Set(active);
    }
    am.updated_at = Set(now);
    Ok((before, SubscriptionView::from(am.update(db).await?)))
}

/// Deletes a subscription and its delivery log; deliveries not yet sent are dropped.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<SubscriptionView, Error> {
    let found = find(db, id).await?;
    webhook_delivery::Entity::delete_many().filter(webhook_delivery::Column::SubscriptionId.eq(id)).exec(db).await?;
    webhook_subscription::Entity::delete_by_id(id).exec(db).await?;
    Ok(SubscriptionView::from(found))
}

/// One delivery as the log shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DeliveryView {
    /// Id (sent as `X-Chorus-Delivery`).
    pub id: i64,
    /// The subscription.
    pub subscription_id: i64,
    /// The event's id (sent as `X-Chorus-Event-Id` and `id`).
    pub event_id: i64,
    /// The event's kind.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status at the last attempt (absent: no answer).
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<webhook_delivery::Model> for DeliveryView {
    fn from(m: webhook_delivery::Model) -> Self {
        Self {
            id: m.id,
            subscription_id: m.subscription_id,
            event_id: m.event_id,
            event: m.event_kind,
            next_attempt_at: (m.status == STATUS_PENDING).then_some(m.next_attempt_at),
            status: m.status.to_string(),
            attempts: m.attempts,
            last_status: m.last_status,
            last_error: m.last_error,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
        }
    }
}

/// Filters of the delivery log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// Deliveries per page, 1 to 200 (50).
    pub limit: Option<u64>,
    /// Page: deliveries older than this id (from `next_before_id`).
    pub before_id: Option<i64>,
}

/// A page of the delivery log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Deliveries.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before_id` for the next page; absent on the last.
    pub next_before_id: Option<i64>,
}

/// A subscription's delivery log, newest first, a keyset page at a time.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    subscription_id: i64,
    q: &DeliveryQuery,
) -> Result<DeliveryPage, Error> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::Validation("limit must be 1 to 200".into()));
    }
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            webhook_delivery::Status::parse(s)
                .ok_or_else(|| Error::Validation("status must be pending, delivered or failed".into()))?,
        ),
    };
    find(db, subscription_id).await?;
    let mut select =
        webhook_delivery::Entity::find().filter(webhook_delivery::Column::SubscriptionId.eq(subscription_id));
    if let Some(s) = status {
        select = select.filter(webhook_delivery::Column::Status.eq(s));
    }
    if let Some(before) = q.before_id {
        select = select.filter(webhook_delivery::Column::Id.lt(before));
    }
    let mut rows = select.order_by_desc(webhook_delivery::Column::Id).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_before_id = if more { rows.last().map(|r| r.id) } else { None };
    Ok(DeliveryPage { deliveries: rows.into_iter().map(DeliveryView::from).collect(), next_before_id })
}

/// Sends a failed delivery again: back to pending, due now, with a fresh set of attempts (its
/// last error stays in the log until the next attempt). Returns it before and after.
pub async fn retry(db: &impl ConnectionTrait, id: i64) -> Result<(DeliveryView, DeliveryView), Error> {
    let found = webhook_delivery::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("webhook delivery"))?;
    let before = DeliveryView::from(found);
    let now = Utc::now();
    let updated = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(STATUS_PENDING))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.eq(STATUS_FAILED))
        .exec_with_returning(db)
        .await?;
    let after = updated.into_iter().next().map(DeliveryView::from).ok_or_else(|| {
        Error::Conflict(format!("delivery {id} is {}: only a failed delivery can be retried", before.status))
    })?;
    Ok((before, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_event_kind_can_be_subscribed_to() {
        // Reads the kinds declared in src/events.rs, so a new kind cannot be forgotten here.
        let source = include_str!("../events.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub const "))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert!(declared.len() > 30, "{declared:?}");
        for k in &declared {
            assert!(
                EVENT_KINDS.contains(k) || WIRE_ONLY.contains(k),
                "{k} is neither subscribable nor wire-only: add it to EVENT_KINDS"
            );
        }
        assert_eq!(declared.len(), EVENT_KINDS.len() + WIRE_ONLY.len());
    }

    #[test]
    fn inputs_are_checked() {
        let types = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            valid_event_types(&types(&["reply.sent", "conversation.resolved", "reply.sent"])).ok(),
            Some(types(&["conversation.resolved", "reply.sent"]))
        );
        assert_eq!(valid_event_types(&types(&["*", "*"])).ok(), Some(types(&["*"])));
        assert!(valid_event_types(&types(&["*", "reply.sent"])).is_err());
        assert!(valid_event_types(&types(&["presence.changed"])).is_err());
        assert!(valid_event_types(&[]).is_err());
        assert!(valid_url("https://crm.example.com/hooks/chorus", false).is_ok());
        assert!(valid_url("http://crm.example.com/hooks", false).is_err());
        assert!(valid_url("http://127.0.0.1:9000/hooks", true).is_ok());
        assert!(valid_url("ftp://crm.example.com/", true).is_err());
        assert!(valid_url("https://user:pw@crm.example.com/", false).is_err());
        assert!(valid_url("not a url", true).is_err());
        assert!(valid_name("  ").is_err());
        assert!(wants(&serde_json::json!(["*"]), "reply.sent"));
        assert!(wants(&serde_json::json!(["reply.sent"]), "reply.sent"));
        assert!(!wants(&serde_json::json!(["reply.failed"]), "reply.sent"));
    }
}

/// Outgoing webhooks (CRM, BI): how events are relayed into deliveries and sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// The relay leaves events younger than this alone, in milliseconds: a transaction that
    /// appended events must commit within it, or the relay may move past them (see
    /// docs/architecture.md, "Webhooks out").
    pub settle_ms: u64,
    /// How often each node relays new events and looks for due deliveries, in milliseconds.
    pub interval_ms: u64,
    /// How long one delivery may take before it counts as failed, in milliseconds.
    pub timeout_ms: u64,
    /// Wait before the first retry, in milliseconds; it doubles per attempt (capped at 1 h).
    pub retry_base_ms: u64,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// Allow `http://` subscription URLs (tests, a receiver on the same host); otherwise only
    /// `https://`.
    pub allow_http: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            settle_ms: 2_000,
            interval_ms: 500,
            timeout_ms: 10_000,
            retry_base_ms: 1_000,
            max_attempts: 8,
            allow_http: false,
        }
    }
}
