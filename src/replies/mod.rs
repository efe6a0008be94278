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
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};
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
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Sends tried so far.
    pub attempts: i32,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// The outbound message it became, once sent.
    pub message_id: Option<i64>,
    /// When the agent sent it.
    pub created_at: DateTime<Utc>,
}

impl From<reply::Model> for ReplyView {
    fn from(r: reply::Model) -> Self {
        Self {
            id: r.id,
            conversation_id: r.conversation_id,
            agent_id: r.agent_id,
            idempotency_key: r.idempotency_key,
            visibility: r.visibility,
            text: r.text,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            message_id: r.message_id,
            created_at: r.created_at,
        }
    }
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
fn repeat(r: reply::Model, conversation_id: i64) -> Result<ReplyView, ApiError> {
    if r.conversation_id == conversation_id {
        Ok(ReplyView::from(r))
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
    let Some(max) = channel::max_chars(&c.network, &new.visibility) else {
        return Err(ApiError::Validation(format!("{} has no {} replies", c.network, new.visibility)));
    };
    let chars = new.text.trim().chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::Validation(format!(
            "a {} reply on {} is 1 to {max} characters (this one is {chars})",
            new.visibility, c.network
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
) -> Result<ReplyView, ApiError> {
    let key = new.idempotency_key.trim().to_owned();
    if let Some(earlier) = by_key(db, agent_id, &key).await? {
        return repeat(earlier, conversation_id);
    }
    let txn = db.begin().await?;
    // Resolved conversations take one thing: the public follow-up they are owed.
    let open = sea_orm::Condition::any()
        .add(conversation::Column::Status.ne(crate::conversations::STATUS_RESOLVED))
        .add(conversation::Column::PublicFollowupDueAt.is_not_null());
    let updated =
        actions::fenced(conversation_id, agent_id, new.fence_token).filter(open).exec_with_returning(&txn).await?;
    let (txn, c) = actions::updated_row(txn, updated, conversation_id).await?;
    validate(&c, &new)?;
    let now = Utc::now();
    let inserted = reply::ActiveModel {
        conversation_id: Set(conversation_id),
        agent_id: Set(agent_id),
        idempotency_key: Set(key.clone()),
        visibility: Set(new.visibility.clone()),
        text: Set(new.text.trim().to_owned()),
        status: Set(STATUS_QUEUED.into()),
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
                Some(earlier) => repeat(earlier, conversation_id),
                None => Err(e.into()),
            };
        }
    };
    let view = ReplyView::from(r);
    let evs = [NewEvent {
        kind: kind::REPLY_QUEUED,
        conversation_id: Some(conversation_id),
        payload: serde_json::json!(view),
    }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    wake.notify_one();
    Ok(view)
}

/// The replies of a conversation, oldest first.
pub async fn list(db: &DatabaseConnection, conversation_id: i64) -> Result<Vec<ReplyView>, ApiError> {
    use sea_orm::QueryOrder;
    Ok(reply::Entity::find()
        .filter(reply::Column::ConversationId.eq(conversation_id))
        .order_by_asc(reply::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ReplyView::from)
        .collect())
}
