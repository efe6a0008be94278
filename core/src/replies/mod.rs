//! Replies: an agent who holds the claim answers in public or in private. The reply is stored in
//! the outbox in the same transaction that checks the fencing token, under the agent's
//! idempotency key, and only then delivered (`sender`): a double click or a retried request
//! returns the first reply instead of posting twice, a late reply from a holder whose claim
//! lapsed is refused with nothing sent, and nothing acknowledged is lost if the network is down.

pub mod channel;
pub mod networks;
pub mod sender;

use secrecy::SecretString;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{conversation, reply};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::approvals::Outcome;
use crate::conversations::actions;
use crate::conversations::claims::Held;
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::ids::{AgentId, ConversationId};
use crate::live::Live;

/// Waiting to be sent (or to be tried again).
pub const STATUS_QUEUED: entity::reply::Status = entity::reply::Status::Queued;
/// The network took it.
pub const STATUS_SENT: entity::reply::Status = entity::reply::Status::Sent;
/// Given up on: refused by the network, or out of attempts.
pub const STATUS_FAILED: entity::reply::Status = entity::reply::Status::Failed;
/// Held by an approval rule until an approver decides (`crate::approvals`).
pub const STATUS_HELD: entity::reply::Status = entity::reply::Status::Held;
/// An approver rejected it: it is never sent.
pub const STATUS_REJECTED: entity::reply::Status = entity::reply::Status::Rejected;

/// Longest idempotency key.
pub const MAX_KEY_CHARS: usize = 128;

/// A reply to send.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// The token of the caller's claim.
    #[schema(value_type = i64)]
    pub fence_token: crate::ids::FenceToken,
    /// What to say.
    pub text: String,
    /// `public` (in the thread) or `private` (a direct message).
    pub visibility: String,
    /// The client's key for this reply (e.g. a UUID made when the agent pressed send): sending
    /// the same key again returns the first reply instead of posting twice.
    pub idempotency_key: String,
    /// A public reply whose text holds an email address, phone number, order or account
    /// reference is refused (`private_details`) unless this is `true`: onlookers read public
    /// replies, so the agent confirms those details are meant to be public.
    #[serde(default)]
    pub confirm_private_details: bool,
}

/// A reply as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ReplyView {
    /// Id.
    pub id: i64,
    /// The conversation.
    pub conversation_id: i64,
    /// Who wrote it.
    pub agent_id: i64,
    /// The client's key.
    pub idempotency_key: String,
    /// `public` or `private`.
    pub visibility: String,
    /// The text.
    pub text: String,
    /// `held` (waiting for approval), `queued`, `sent`, `failed` or `rejected`.
    pub status: String,
    /// Sends tried so far.
    pub attempts: i32,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// The outbound message it became, once sent.
    pub message_id: Option<i64>,
    /// When the agent sent it.
    pub created_at: DateTime<Utc>,
    /// The approval request, when a rule held it.
    pub approval_id: Option<i64>,
    /// Private details (email, phone, order or account reference) in a public reply's text,
    /// which the agent confirmed (`confirm_private_details`); empty for private replies.
    pub privacy_warnings: Vec<crate::customers::details::Found>,
}

impl From<reply::Model> for ReplyView {
    fn from(r: reply::Model) -> Self {
        Self {
            id: r.id,
            conversation_id: r.conversation_id,
            agent_id: r.agent_id,
            idempotency_key: r.idempotency_key,
            status: r.status.to_string(),
            attempts: r.attempts,
            last_error: r.last_error,
            message_id: r.message_id,
            created_at: r.created_at,
            approval_id: None,
            privacy_warnings: public_details(&r.visibility, &r.text),
            visibility: r.visibility,
            text: r.text,
        }
    }
}

/// The private details in a reply's text, when it is public.
pub fn public_details(visibility: &str, text: &str) -> Vec<crate::customers::details::Found> {
    if visibility == "public" { crate::customers::details::find(text) } else { Vec::new() }
}

/// The reply `agent_id` already sent under `key`, if any.
async fn by_key(db: &impl sea_orm::ConnectionTrait, agent_id: i64, key: &str) -> Result<Option<reply::Model>, Error> {
    Ok(reply::Entity::find()
        .filter(reply::Column::AgentId.eq(agent_id))
        .filter(reply::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The earlier reply under the same key, which must be for the same conversation.
async fn repeat(db: &impl sea_orm::ConnectionTrait, r: reply::Model, conversation_id: i64) -> Result<ReplyView, Error> {
    if r.conversation_id == conversation_id {
        with_approval(db, ReplyView::from(r)).await
    } else {
        Err(Error::Conflict(format!("idempotency key already used for a reply in conversation {}", r.conversation_id)))
    }
}

fn validate(c: &conversation::Model, new: &NewReply) -> Result<(), Error> {
    let key = new.idempotency_key.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(Error::Validation(format!("idempotency_key must be 1 to {MAX_KEY_CHARS} printable characters")));
    }
    if new.visibility != "public" && new.visibility != "private" {
        return Err(Error::Validation("visibility must be public or private".into()));
    }
    if c.status == crate::conversations::STATUS_RESOLVED && new.visibility != "public" {
        return Err(Error::Validation("this conversation is resolved: only its public follow-up can be sent".into()));
    }
    check_text(c, &new.visibility, &new.text)
}

/// Checks a reply's text against what the conversation's network takes for that visibility
/// (also used when an approver edits a held reply).
pub fn check_text(c: &conversation::Model, visibility: &str, text: &str) -> Result<(), Error> {
    let Some(max) = channel::max_chars(&c.network, visibility) else {
        return Err(Error::Validation(format!("{} has no {visibility} replies", c.network)));
    };
    let chars = text.trim().chars().count();
    if chars == 0 || chars > max {
        return Err(Error::Validation(format!(
            "a {visibility} reply on {} is 1 to {max} characters (this one is {chars})",
            c.network
        )));
    }
    Ok(())
}

/// What the reply outbox works with: the store, the live layer, the sender's wake-up, the
/// CRM (whose identifiers a public reply must not carry) and the metrics a decision feeds.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    /// The store.
    pub db: &'a DatabaseConnection,
    /// Where the reply's events go once committed.
    pub live: &'a Live,
    /// Wakes this node's reply sender when a reply is queued.
    pub wake: &'a tokio::sync::Notify,
    /// The CRM lookup, when one is configured.
    pub crm: Option<&'a Arc<crate::customers::crm::CrmLookup>>,
    /// Prometheus instruments (approval waits).
    pub metrics: &'a crate::prom::Metrics,
}

/// Queues a reply on a conversation the caller holds with `new.fence_token`. A repeat of an
/// earlier key returns that reply (whatever became of the claim since); a stale token is
/// `stale_claim` with nothing stored and nothing sent.
pub async fn submit(
    out: &Outbox<'_>,
    conversation_id: i64,
    agent_id: i64,
    new: NewReply,
    audit: crate::audit::Entry,
) -> Result<ReplyView, Error> {
    let Outbox { db, live, wake, crm, .. } = *out;
    crate::customers::crm::guard_public_reply(crm, db, conversation_id, &new.visibility, &new.text).await?;
    let key = new.idempotency_key.trim().to_owned();
    if let Some(earlier) = by_key(db, agent_id, &key).await? {
        return repeat(db, earlier, conversation_id).await;
    }
    let details = public_details(&new.visibility, &new.text);
    if !details.is_empty() && !new.confirm_private_details {
        let kinds: Vec<&str> = details.iter().map(|d| d.kind).collect();
        return Err(Error::PrivateDetails(format!(
            "this public reply contains private details ({}): send them in a private message, or confirm with \
             confirm_private_details: true",
            kinds.join(", ")
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    // Resolved conversations take one thing: the public follow-up they are owed.
    let open = sea_orm::Condition::any()
        .add(conversation::Column::Status.ne(crate::conversations::STATUS_RESOLVED))
        .add(conversation::Column::PublicFollowupDueAt.is_not_null());
    let held = Held {
        conversation_id: ConversationId(conversation_id),
        agent_id: AgentId(agent_id),
        fence_token: new.fence_token,
    };
    let (txn, c) = actions::write_held(txn, held, |update| update.filter(open)).await?;
    validate(&c, &new)?;
    let text = new.text.trim().to_owned();
    let held = crate::approvals::check(&txn, &c, agent_id, &text, &new.visibility).await?;
    let now = Utc::now();
    let inserted = reply::ActiveModel {
        conversation_id: Set(conversation_id),
        agent_id: Set(agent_id),
        idempotency_key: Set(key.clone()),
        visibility: Set(new.visibility.clone()),
        text: Set(text),
        status: Set(if held.is_empty() { STATUS_QUEUED } else { STATUS_HELD }),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        message_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let r = match inserted {
        Ok(r) => r,
        Err(e) => {
            // The same key raced in from a second request: the first one's reply stands.
            txn.rollback().await?;
            return match by_key(db, agent_id, &key).await? {
                Some(earlier) => repeat(db, earlier, conversation_id).await,
                None => Err(e.into()),
            };
        }
    };
    let mut view = ReplyView::from(r.clone());
    let ev = if held.is_empty() {
        NewEvent { kind: kind::REPLY_QUEUED, conversation_id: Some(conversation_id), payload: serde_json::json!(view) }
    } else {
        let (approval, ev) = crate::approvals::raise(&txn, &c, &r, held).await?;
        view.approval_id = Some(approval.id);
        ev
    };
    let evs = [ev];
    events::append(&txn, &evs).await?;
    crate::audit::record(&txn, audit.with_after(&view)).await?;
    txn.commit().await?;
    live.publish(&evs);
    if view.status == STATUS_QUEUED.as_str() {
        wake.notify_one();
    }
    Ok(view)
}

/// A reply's view with its approval request, if it has one.
async fn with_approval(db: &impl sea_orm::ConnectionTrait, mut v: ReplyView) -> Result<ReplyView, Error> {
    v.approval_id = crate::approvals::of_replies(db, vec![v.id]).await?.get(&v.id).copied();
    Ok(v)
}

/// Decides a held reply's approval request: the gate (`approvals::decide_in`) records the
/// decision, then the reply moves on — held to queued (as written, or as the approver edited
/// it) or held to rejected — in the same transaction, audited and announced with it.
pub async fn decide_held(
    out: &Outbox<'_>,
    approval_id: i64,
    who: &crate::agents::AgentView,
    d: crate::approvals::Decision,
    ip: Option<String>,
) -> Result<crate::approvals::ApprovalView, Error> {
    let txn = crate::db::begin_write(out.db).await?;
    let gate = crate::approvals::decide_in(&txn, approval_id, who, &d).await?;
    let r = reply::Entity::find_by_id(gate.before.reply_id).one(&txn).await?.ok_or(Error::NotFound("reply"))?;
    let edited = d.text.as_deref().map(str::trim);
    if let Some(t) = edited {
        let c = conversation::Entity::find_by_id(r.conversation_id).one(&txn).await?;
        check_text(&c.ok_or(Error::NotFound("conversation"))?, &r.visibility, t)?;
    }
    let r = move_on(&txn, r.id, gate.outcome, edited).await?;
    let v = crate::approvals::decided_view(gate.after, &r);
    let before = serde_json::json!({"status": gate.before.status, "text": gate.before.original_text});
    let after = serde_json::json!({"status": v.status, "decision": v.decision, "text": v.text, "comment": v.comment,
        "send_for": d.send_for.map(|s| s.holder_id)});
    let audit = crate::audit::Entry {
        actor: format!("agent:{}", who.id),
        action: "approval.decide".into(),
        target_type: "approval".into(),
        target_id: Some(approval_id.to_string()),
        before: Some(before),
        after: Some(after),
        ip,
    };
    crate::audit::record(&txn, audit).await?;
    let mut evs = vec![NewEvent {
        kind: kind::APPROVAL_DECIDED,
        conversation_id: Some(v.conversation_id),
        payload: serde_json::json!(v),
    }];
    if gate.outcome == Outcome::SentBack {
        // The author's console puts the draft back in their composer with the comment.
        evs.push(NewEvent {
            kind: kind::REPLY_RETURNED,
            conversation_id: Some(v.conversation_id),
            payload: serde_json::json!({"reply_id": r.id, "conversation_id": v.conversation_id,
                "agent_id": v.author_id, "text": r.text, "visibility": r.visibility, "comment": v.comment,
                "by": who.id, "approval_id": v.id}),
        });
    }
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    out.live.publish(&evs);
    if gate.outcome == Outcome::Approved {
        out.wake.notify_one();
    }
    if let Some(ms) = v.wait_ms {
        let decision = v.decision.as_deref().unwrap_or_default();
        out.metrics.approval_wait.with_label_values(&[v.group.as_str(), decision]).observe(ms as f64 / 1000.0);
    }
    Ok(v)
}

/// The held reply's one transition out of `held`: to the outbox (with the approver's text,
/// when edited), to `rejected`, or back to its author (`returned`).
async fn move_on(
    txn: &sea_orm::DatabaseTransaction,
    reply_id: i64,
    outcome: Outcome,
    text: Option<&str>,
) -> Result<reply::Model, Error> {
    let now = Utc::now();
    let status = match outcome {
        Outcome::Approved => STATUS_QUEUED,
        Outcome::Rejected => STATUS_REJECTED,
        Outcome::SentBack => reply::Status::Returned,
    };
    let mut update = reply::Entity::update_many()
        .col_expr(reply::Column::Status, Expr::value(status))
        .col_expr(reply::Column::NextAttemptAt, Expr::value(now))
        .col_expr(reply::Column::UpdatedAt, Expr::value(now))
        .filter(reply::Column::Id.eq(reply_id))
        .filter(reply::Column::Status.eq(STATUS_HELD));
    if let Some(t) = text {
        update = update.col_expr(reply::Column::Text, Expr::value(t));
    }
    update.exec_with_returning(txn).await?.into_iter().next().ok_or(Error::NotFound("held reply"))
}

/// The replies of a conversation, oldest first.
pub async fn list(db: &DatabaseConnection, conversation_id: i64) -> Result<Vec<ReplyView>, Error> {
    use sea_orm::QueryOrder;
    let rows = reply::Entity::find()
        .filter(reply::Column::ConversationId.eq(conversation_id))
        .order_by_asc(reply::Column::Id)
        .all(db)
        .await?;
    let approvals = crate::approvals::of_replies(db, rows.iter().map(|r| r.id).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            ReplyView { approval_id: approvals.get(&id).copied(), ..ReplyView::from(r) }
        })
        .collect())
}

/// Which way replies leave Chorus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChannelMode {
    /// Nothing is sent to any network; replies are logged and recorded (the embedded default).
    #[default]
    Sandbox,
    /// The networks' APIs: Meta's Graph API and the X API v2.
    Networks,
}

/// Sending replies: the channel, its endpoints and credentials, and retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplySettings {
    /// `sandbox` (default) or `networks`.
    pub channel: ChannelMode,
    /// Base URL of Meta's Graph API, with its version.
    pub meta_graph_url: String,
    /// Access token for the Graph API (a system-user or page token with messaging rights).
    pub meta_access_token: Option<SecretString>,
    /// Base URL of the X API.
    pub x_api_url: String,
    /// OAuth 2.0 user-context access token of the brand's X account (`tweet.write`, `dm.write`).
    pub x_access_token: Option<SecretString>,
    /// How long one send may take before it counts as a (transient) failure, in milliseconds.
    pub send_timeout_ms: u64,
    /// Wait before the first retry, in milliseconds; it doubles per attempt (capped at 60 s).
    pub retry_base_ms: u64,
    /// Sends tried before a reply is marked failed.
    pub max_attempts: u32,
}

impl Default for ReplySettings {
    fn default() -> Self {
        Self {
            channel: ChannelMode::Sandbox,
            meta_graph_url: "https://graph.facebook.com/v21.0".to_owned(),
            meta_access_token: None,
            x_api_url: "https://api.x.com".to_owned(),
            x_access_token: None,
            send_timeout_ms: 10_000,
            retry_base_ms: 1_000,
            max_attempts: 5,
        }
    }
}
