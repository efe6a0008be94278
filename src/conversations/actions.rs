//! Writes on a claimed conversation (resolve, tags): each carries the holder's fencing token and
//! is guarded in the same UPDATE by "still assigned to you, with exactly this token", so a
//! holder whose lease lapsed and was taken over gets `stale_claim` and changes nothing.

use chrono::Utc;
use entity::conversation;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait};

use super::{STATUS_RESOLVED, Summary};
use crate::coord::Coordinator;
use crate::error::ApiError;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Most tags on one conversation.
pub const MAX_TAGS: usize = 32;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// Explains why a fenced update touched no row: unknown, resolved, or not (any longer) yours.
async fn refusal(db: &impl ConnectionTrait, id: i64) -> ApiError {
    match conversation::Entity::find_by_id(id).one(db).await {
        Ok(None) => ApiError::NotFound("conversation"),
        Ok(Some(c)) if c.status == STATUS_RESOLVED => ApiError::Conflict("conversation is resolved".into()),
        Ok(Some(_)) => ApiError::StaleClaim,
        Err(e) => e.into(),
    }
}

use super::claims::load;

/// An update of conversation `id` that applies only while `agent_id` holds it with exactly
/// `token`: the store side of fencing, shared by every write on a claimed conversation.
pub(super) fn fenced(id: i64, agent_id: i64, token: i64) -> sea_orm::UpdateMany<conversation::Entity> {
    conversation::Entity::update_many()
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(id))
        .filter(conversation::Column::AssigneeId.eq(agent_id))
        .filter(conversation::Column::FenceToken.eq(token))
}

/// Resolves a conversation the caller holds with `token`, then gives the lease back so the
/// agent's capacity frees at once.
pub async fn resolve(
    db: &impl TransactionTrait,
    live: &Live,
    id: i64,
    agent_id: i64,
    token: i64,
) -> Result<Summary, ApiError> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let updated = fenced(id, agent_id, token)
        .col_expr(conversation::Column::Status, Expr::value(STATUS_RESOLVED))
        .col_expr(conversation::Column::ResolvedAt, Expr::value(Some(now)))
        .filter(conversation::Column::Status.ne(STATUS_RESOLVED))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        let err = refusal(&txn, id).await;
        txn.rollback().await?;
        return Err(err);
    }
    let c = load(&txn, id).await?;
    let summary = Summary::from_model(&c, None);
    let evs = vec![
        NewEvent {
            kind: kind::CONVERSATION_RESOLVED,
            conversation_id: Some(id),
            payload: serde_json::json!({"conversation_id": id, "agent_id": agent_id, "resolved_at": now}),
        },
        NewEvent { kind: kind::QUEUE_REMOVE, conversation_id: Some(id), payload: serde_json::json!(summary) },
    ];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    if let Err(e) = live.coord.release(id, agent_id, token).await {
        // The resolution stands; the lease lapses on its own and the reaper skips resolved
        // conversations.
        tracing::warn!(conversation_id = id, error.message = %e, "releasing the lease after resolving failed");
    }
    Ok(summary)
}

fn clean_tags(tags: &[String]) -> Result<Vec<String>, ApiError> {
    tags.iter()
        .map(|t| {
            let t = t.trim().to_lowercase();
            if t.is_empty() || t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control) {
                Err(ApiError::Validation(format!("tags must be 1 to {MAX_TAG_CHARS} printable characters")))
            } else {
                Ok(t)
            }
        })
        .collect()
}

/// Adds and removes tags on a conversation the caller holds with `token`; returns the tags now.
pub async fn tag(
    db: &impl TransactionTrait,
    live: &Live,
    id: i64,
    agent_id: i64,
    token: i64,
    add: &[String],
    remove: &[String],
) -> Result<Vec<String>, ApiError> {
    let (add, remove) = (clean_tags(add)?, clean_tags(remove)?);
    let txn = db.begin().await?;
    let c = load(&txn, id).await?;
    if c.assignee_id != Some(agent_id) || c.fence_token != token {
        txn.rollback().await?;
        return Err(ApiError::StaleClaim);
    }
    let mut tags: Vec<String> = serde_json::from_value(c.tags.clone()).unwrap_or_default();
    tags.retain(|t| !remove.contains(t));
    for t in add {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if tags.len() > MAX_TAGS {
        txn.rollback().await?;
        return Err(ApiError::Validation(format!("a conversation carries at most {MAX_TAGS} tags")));
    }
    let updated = fenced(id, agent_id, token)
        .col_expr(conversation::Column::Tags, Expr::value(serde_json::json!(tags)))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        txn.rollback().await?;
        return Err(ApiError::StaleClaim);
    }
    let c = load(&txn, id).await?;
    let queue_kind = if super::is_queued(&c) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
    let evs = vec![
        NewEvent {
            kind: kind::CONVERSATION_TAGS,
            conversation_id: Some(id),
            payload: serde_json::json!({"conversation_id": id, "tags": tags, "agent_id": agent_id}),
        },
        NewEvent {
            kind: queue_kind,
            conversation_id: Some(id),
            payload: serde_json::json!(Summary::from_model(&c, None)),
        },
    ];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(tags)
}
