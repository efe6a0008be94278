//! Replies: an agent who holds the claim answers in public or in private. The reply is stored in
//! the outbox in the same transaction that checks the fencing token, under the agent's
//! idempotency key, and only then delivered (`sender`): a double click or a retried request
//! returns the first reply instead of posting twice, a late reply from a holder whose claim
//! lapsed is refused with nothing sent, and nothing acknowledged is lost if the network is down.

pub mod channel;
pub mod networks;
pub mod sender;

use chrono::{DateTime, Utc};
use entity::{conversation, reply};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::conversations::actions;
use crate::error::ApiError;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Waiting to be sent (or to be tried again).
pub const STATUS_QUEUED: &str = "queued";
/// The network took it.
pub const STATUS_SENT: &str = "sent";
/// Given up on: refused by the network, or out of attempts.
pub const STATUS_FAILED: &str = "failed";
/// Held by an approval rule until an approver decides (`crate::approvals`).
pub const STATUS_HELD: &str = "held";
/// An approver rejected it: it is never sent.
pub const STATUS_REJECTED: &str = "rejected";

/// Longest idempotency key.
pub const MAX_KEY_CHARS: usize = 128;

/// A reply to send.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// The token of the caller's claim.
    pub fence_token: i64,
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
            status: r.status,
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
async fn by_key(
    db: &impl sea_orm::ConnectionTrait,
    agent_id: i64,
    key: &str,
) -> Result<Option<reply::Model>, ApiError> {
    Ok(reply::Entity::find()
        .filter(reply::Column::AgentId.eq(agent_id))
        .filter(reply::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The earlier reply under the same key, which must be for the same conversation.
async fn repeat(
    db: &impl sea_orm::ConnectionTrait,
    r: reply::Model,
    conversation_id: i64,
) -> Result<ReplyView, ApiError> {
    if r.conversation_id == conversation_id {
        crate::approvals::with_approval(db, ReplyView::from(r)).await
    } else {
        Err(ApiError::Conflict(format!(
            "idempotency key already used for a reply in conversation {}",
            r.conversation_id
        )))
    }
}

fn validate(c: &conversation::Model, new: &NewReply) -> Result<(), ApiError> {
    let key = new.idempotency_key.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(ApiError::Validation(format!("idempotency_key must be 1 to {MAX_KEY_CHARS} printable characters")));
    }
    if new.visibility != "public" && new.visibility != "private" {
        return Err(ApiError::Validation("visibility must be public or private".into()));
    }
    if c.status == crate::conversations::STATUS_RESOLVED && new.visibility != "public" {
        return Err(ApiError::Validation(
            "this conversation is resolved: only its public follow-up can be sent".into(),
        ));
    }
    check_text(c, &new.visibility, &new.text)
}

/// Checks a reply's text against what the conversation's network takes for that visibility
/// (also used when an approver edits a held reply).
pub fn check_text(c: &conversation::Model, visibility: &str, text: &str) -> Result<(), ApiError> {
    let Some(max) = channel::max_chars(&c.network, visibility) else {
        return Err(ApiError::Validation(format!("{} has no {visibility} replies", c.network)));
    };
    let chars = text.trim().chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::Validation(format!(
            "a {visibility} reply on {} is 1 to {max} characters (this one is {chars})",
            c.network
        )));
    }
    Ok(())
}

/// Queues a reply on a conversation the caller holds with `new.fence_token`. A repeat of an
/// earlier key returns that reply (whatever became of the claim since); a stale token is
/// `stale_claim` with nothing stored and nothing sent.
pub async fn submit(
    db: &DatabaseConnection,
    live: &Live,
    wake: &tokio::sync::Notify,
    conversation_id: i64,
    agent_id: i64,
    new: NewReply,
    audit: crate::audit::Entry,
) -> Result<ReplyView, ApiError> {
    let key = new.idempotency_key.trim().to_owned();
    if let Some(earlier) = by_key(db, agent_id, &key).await? {
        return repeat(db, earlier, conversation_id).await;
    }
    let details = public_details(&new.visibility, &new.text);
    if !details.is_empty() && !new.confirm_private_details {
        let kinds: Vec<&str> = details.iter().map(|d| d.kind).collect();
        return Err(ApiError::PrivateDetails(format!(
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
    let updated =
        actions::fenced(conversation_id, agent_id, new.fence_token).filter(open).exec_with_returning(&txn).await?;
    let (txn, c) = actions::updated_row(txn, updated, conversation_id).await?;
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
        status: Set(if held.is_empty() { STATUS_QUEUED } else { STATUS_HELD }.into()),
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
    if view.status == STATUS_QUEUED {
        wake.notify_one();
    }
    Ok(view)
}

/// The replies of a conversation, oldest first.
pub async fn list(db: &DatabaseConnection, conversation_id: i64) -> Result<Vec<ReplyView>, ApiError> {
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
