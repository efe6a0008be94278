//! Claiming, releasing and reassigning a conversation: the coordinator grants the lease and its
//! fencing token, then the store records the holder — and refuses any token older than the
//! newest it has accepted, so a holder whose lease lapsed cannot act after someone else took
//! over (Kleppmann's fencing, checked where the write happens).

use std::time::Duration;

use chrono::Utc;
use entity::conversation;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait};
use serde::Serialize;
use utoipa::ToSchema;

use super::{STATUS_NEW, STATUS_OPEN, STATUS_RESOLVED, Summary};
use crate::coord::{Coordination, Coordinator};
use crate::error::ApiError;
use crate::events::{self, NewEvent, kind};

/// A claim held by the caller.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimView {
    /// The conversation.
    pub conversation_id: i64,
    /// The holder.
    pub agent_id: i64,
    /// Carry this on every write to the conversation; older tokens are refused.
    pub fence_token: i64,
    /// Seconds until the lease lapses unless renewed.
    pub lease_secs: u64,
}

async fn load(db: &impl ConnectionTrait, id: i64) -> Result<conversation::Model, ApiError> {
    conversation::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("conversation"))
}

/// A conversation that can still be worked on (resolved ones cannot be claimed).
async fn load_unresolved(db: &impl ConnectionTrait, id: i64) -> Result<conversation::Model, ApiError> {
    let c = load(db, id).await?;
    if c.status == STATUS_RESOLVED {
        return Err(ApiError::Conflict("conversation is resolved".into()));
    }
    Ok(c)
}

/// Records a new holder if `token` is not older than what the store has seen; otherwise the
/// write is refused with `stale_claim` and nothing changes.
async fn record_holder(
    db: &impl ConnectionTrait,
    id: i64,
    holder: Option<i64>,
    token: i64,
) -> Result<conversation::Model, ApiError> {
    let status = Expr::case(conversation::Column::Status.eq(STATUS_NEW), STATUS_OPEN)
        .finally(Expr::col(conversation::Column::Status));
    let updated = conversation::Entity::update_many()
        .col_expr(conversation::Column::AssigneeId, Expr::value(holder))
        .col_expr(conversation::Column::FenceToken, Expr::value(token))
        .col_expr(
            conversation::Column::Status,
            if holder.is_some() { status.into() } else { Expr::col(conversation::Column::Status) },
        )
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(id))
        .filter(conversation::Column::FenceToken.lte(token))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ApiError::StaleClaim);
    }
    load(db, id).await
}

async fn announce(
    db: &impl ConnectionTrait,
    kind: &'static str,
    c: &conversation::Model,
    extra: serde_json::Value,
) -> Result<(), ApiError> {
    let mut payload =
        serde_json::json!({"conversation_id": c.id, "agent_id": c.assignee_id, "fence_token": c.fence_token});
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let summary = serde_json::json!(Summary::from_model(c, None));
    events::append(
        db,
        vec![
            NewEvent { kind, conversation_id: Some(c.id), payload },
            NewEvent { kind: kind::QUEUE_UPSERT, conversation_id: Some(c.id), payload: summary },
        ],
    )
    .await?;
    Ok(())
}

/// Records the holder behind the fence and announces the change, in one transaction.
async fn record_and_announce(
    db: &impl TransactionTrait,
    id: i64,
    holder: Option<i64>,
    token: i64,
    kind: &'static str,
    extra: serde_json::Value,
) -> Result<(), ApiError> {
    let txn = db.begin().await?;
    let c = record_holder(&txn, id, holder, token).await?;
    announce(&txn, kind, &c, extra).await?;
    txn.commit().await?;
    Ok(())
}

/// Claims a conversation for `agent_id` (or renews the caller's own claim).
pub async fn claim(
    db: &(impl ConnectionTrait + TransactionTrait),
    coord: &Coordination,
    id: i64,
    agent_id: i64,
    lease: Duration,
) -> Result<ClaimView, ApiError> {
    let current = load_unresolved(db, id).await?;
    let grant = coord.claim(id, agent_id, lease, current.fence_token).await?;
    if current.assignee_id != Some(agent_id) || current.fence_token != grant.token {
        record_and_announce(db, id, Some(agent_id), grant.token, kind::CONVERSATION_CLAIMED, serde_json::json!({}))
            .await?;
    }
    Ok(ClaimView { conversation_id: id, agent_id, fence_token: grant.token, lease_secs: lease.as_secs() })
}

/// Gives a conversation back to the queue; only the holder of exactly `token` may.
pub async fn release(
    db: &(impl ConnectionTrait + TransactionTrait),
    coord: &Coordination,
    id: i64,
    agent_id: i64,
    token: i64,
) -> Result<(), ApiError> {
    load(db, id).await?;
    coord.release(id, agent_id, token).await?;
    let extra = serde_json::json!({"released_by": agent_id});
    record_and_announce(db, id, None, token, kind::CONVERSATION_RELEASED, extra).await
}

/// A supervisor moves a conversation to another agent: a forced transfer with a new token,
/// which fences out the previous holder at once.
pub async fn reassign(
    db: &(impl ConnectionTrait + TransactionTrait),
    coord: &Coordination,
    id: i64,
    to_agent: i64,
    lease: Duration,
) -> Result<ClaimView, ApiError> {
    let current = load_unresolved(db, id).await?;
    let target = entity::agent::Entity::find_by_id(to_agent).one(db).await?;
    if !target.is_some_and(|a| a.active) {
        return Err(ApiError::Validation(format!("agent {to_agent} does not exist or is disabled")));
    }
    let grant = coord.transfer(id, to_agent, lease, current.fence_token).await?;
    let extra = serde_json::json!({"from_agent_id": grant.previous.or(current.assignee_id)});
    record_and_announce(db, id, Some(to_agent), grant.token, kind::CONVERSATION_REASSIGNED, extra).await?;
    Ok(ClaimView { conversation_id: id, agent_id: to_agent, fence_token: grant.token, lease_secs: lease.as_secs() })
}

/// How many queue candidates `next` tries before reporting that nothing is available.
const NEXT_CANDIDATES: u64 = 50;

/// Conversations an agent holds that count against capacity.
async fn load_of(db: &impl ConnectionTrait, agent_id: i64) -> Result<u64, ApiError> {
    use sea_orm::PaginatorTrait;
    Ok(conversation::Entity::find()
        .filter(conversation::Column::AssigneeId.eq(agent_id))
        .filter(conversation::Column::Status.ne(STATUS_RESOLVED))
        .count(db)
        .await?)
}

/// "Take next": the best unassigned conversation for the agent, claimed atomically — tier, then
/// the due time that applies now, then risk, then age. Two agents asking at the same instant
/// never get the same one: each candidate is granted by the coordinator to one caller only, and
/// the loser moves on to the next candidate. `None` when the queue has nothing unclaimed.
pub async fn next(
    db: &(impl ConnectionTrait + TransactionTrait),
    coord: &Coordination,
    agent_id: i64,
    capacity: i32,
    lease: Duration,
) -> Result<Option<(ClaimView, Summary)>, ApiError> {
    use sea_orm::{QueryOrder, QuerySelect};
    if load_of(db, agent_id).await? >= u64::try_from(capacity).unwrap_or(0) {
        return Err(ApiError::AtCapacity(capacity));
    }
    let candidates = conversation::Entity::find()
        .filter(conversation::Column::Status.is_in([STATUS_NEW, STATUS_OPEN]))
        .filter(conversation::Column::Priority.lte(2))
        .filter(conversation::Column::AssigneeId.is_null())
        .order_by_asc(conversation::Column::Priority)
        .order_by_asc(conversation::Column::DueSort)
        .order_by_desc(conversation::Column::Risk)
        .order_by_asc(conversation::Column::Id)
        .limit(NEXT_CANDIDATES)
        .all(db)
        .await?;
    for c in candidates {
        match claim(db, coord, c.id, agent_id, lease).await {
            Ok(view) => {
                let now = load(db, c.id).await?;
                return Ok(Some((view, Summary::from_model(&now, None))));
            }
            // Someone else got there first: try the next one.
            Err(ApiError::AlreadyClaimed(_) | ApiError::StaleClaim) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
