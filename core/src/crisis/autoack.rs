//! Automatic acknowledgement (opt-in per crisis): each customer whose public message matched
//! the crisis gets its holding message once, through the normal reply path — stored in the
//! outbox under an idempotency key per crisis and customer (so two nodes, or two passes, can
//! never send it twice), audited, and sent by the sender like any reply. A per-minute counter
//! on the crisis row, moved by a conditional UPDATE in the reply's own transaction, keeps the
//! rate at or under the crisis's limit across every node.

use chrono::{DurationRound, Utc};
use entity::{conversation, crisis, reply};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    Set,
};

use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;
use crate::replies::{self, ReplyView};

/// Conversations looked at per crisis per pass.
const PER_PASS: u64 = 50;

/// The idempotency key of a crisis's acknowledgement to one customer.
pub fn key(crisis_id: i64, customer_id: i64) -> String {
    format!("crisis-{crisis_id}-ack-{customer_id}")
}

/// Takes one acknowledgement from this minute's allowance; `false` when it is used up.
async fn take_allowance(db: &impl sea_orm::ConnectionTrait, c: &crisis::Model) -> Result<bool, Error> {
    let minute = Utc::now().duration_trunc(chrono::Duration::minutes(1)).unwrap_or_else(|_| Utc::now());
    let fresh = crisis::Entity::update_many()
        .col_expr(crisis::Column::AckWindowStart, Expr::value(Some(minute)))
        .col_expr(crisis::Column::AckWindowCount, Expr::value(1))
        .filter(crisis::Column::Id.eq(c.id))
        .filter(
            Condition::any()
                .add(crisis::Column::AckWindowStart.is_null())
                .add(crisis::Column::AckWindowStart.lt(minute)),
        )
        .exec(db)
        .await?;
    if fresh.rows_affected == 1 {
        return Ok(true);
    }
    let more = crisis::Entity::update_many()
        .col_expr(crisis::Column::AckWindowCount, Expr::col(crisis::Column::AckWindowCount).add(1))
        .filter(crisis::Column::Id.eq(c.id))
        .filter(crisis::Column::AckWindowStart.eq(minute))
        .filter(crisis::Column::AckWindowCount.lt(c.auto_ack_per_minute))
        .exec(db)
        .await?;
    Ok(more.rows_affected == 1)
}

/// What became of one acknowledgement.
enum Ack {
    Sent,
    /// Already acknowledged (by another node), or the holding message does not fit the network.
    Skipped,
    /// This minute's allowance is used up.
    OutOfAllowance,
}

/// Acknowledges one conversation's customer, unless already done.
async fn acknowledge(
    db: &DatabaseConnection,
    live: &Live,
    c: &crisis::Model,
    conv: &conversation::Model,
) -> Result<Ack, Error> {
    if replies::check_text(conv, "public", &c.holding_message).is_err() {
        return Ok(Ack::Skipped);
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    if !take_allowance(&txn, c).await? {
        txn.rollback().await?;
        return Ok(Ack::OutOfAllowance);
    }
    let inserted = reply::ActiveModel {
        conversation_id: Set(conv.id),
        agent_id: Set(c.declared_by),
        idempotency_key: Set(key(c.id, conv.customer_id)),
        visibility: Set("public".into()),
        text: Set(c.holding_message.clone()),
        status: Set(replies::STATUS_QUEUED),
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
    let Ok(r) = inserted else {
        // Another node acknowledged this customer first; its allowance is given back too.
        txn.rollback().await?;
        return Ok(Ack::Skipped);
    };
    let view = ReplyView::from(r);
    crate::audit::record(
        &txn,
        crate::audit::Entry {
            actor: format!("crisis:{}", c.id),
            action: "crisis.auto_ack".into(),
            target_type: "conversation".into(),
            target_id: Some(conv.id.to_string()),
            after: Some(serde_json::json!(view)),
            ..Default::default()
        },
    )
    .await?;
    let evs = [NewEvent { kind: kind::REPLY_QUEUED, conversation_id: Some(conv.id), payload: serde_json::json!(view) }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(Ack::Sent)
}

/// One pass over the active crises that acknowledge: returns how many customers were
/// acknowledged.
pub async fn pass(db: &DatabaseConnection, live: &Live, wake: &tokio::sync::Notify) -> Result<usize, Error> {
    let crises = crisis::Entity::find()
        .filter(crisis::Column::Status.eq(super::STATUS_ACTIVE))
        .filter(crisis::Column::AutoAck.eq(true))
        .all(db)
        .await?;
    let mut sent = 0;
    for c in crises {
        // Public conversations linked to it whose customer has no acknowledgement yet.
        let done = reply::Entity::find()
            .select_only()
            .column(reply::Column::ConversationId)
            .filter(reply::Column::AgentId.eq(c.declared_by))
            .filter(reply::Column::IdempotencyKey.starts_with(format!("crisis-{}-ack-", c.id)))
            .into_query();
        let waiting = conversation::Entity::find()
            .filter(conversation::Column::CrisisId.eq(c.id))
            .filter(conversation::Column::OriginVisibility.eq("public"))
            .filter(conversation::Column::Id.not_in_subquery(done))
            .limit(PER_PASS)
            .all(db)
            .await?;
        let mut customers = std::collections::HashSet::new();
        for conv in waiting {
            if !customers.insert(conv.customer_id) {
                continue;
            }
            match acknowledge(db, live, &c, &conv).await? {
                Ack::Sent => sent += 1,
                Ack::Skipped => {}
                Ack::OutOfAllowance => break,
            }
        }
    }
    if sent > 0 {
        wake.notify_one();
    }
    Ok(sent)
}
