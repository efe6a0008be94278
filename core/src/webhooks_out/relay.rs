//! Fans events out into deliveries. Every node runs the relay; a cursor row (`webhook_cursor`)
//! says how far the store's event log has been relayed, and each pass moves it with a
//! conditional update, so of several nodes relaying the same events exactly one commits its
//! deliveries (the unique `(subscription_id, event_id)` makes a repeat harmless anyway).
//!
//! **The settle assumption.** Event ids (`events.seq`) are handed out when a row is inserted,
//! not when its transaction commits: on PostgreSQL a reader can see event 11 while event 10's
//! transaction is still open. A relay that moved its cursor past 11 would never see 10. So the
//! relay only takes events older than `webhooks.settle_ms` (2 s), and stops at the first event
//! it sees that is younger: this is safe as long as every transaction that appends events
//! commits within `settle_ms` of stamping them (they take milliseconds; the store's statement
//! and lock timeouts are far below a long settle), and the nodes' clocks agree to well within
//! it. An event whose transaction is rolled back never existed, so skipping its id is right.
//! SQLite has one writer at a time, so ids there appear in commit order anyway.

use std::time::Duration;

use chrono::Utc;
use entity::{event, webhook_cursor, webhook_delivery, webhook_subscription};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{STATUS_PENDING, wants};
use crate::error::Error;

/// Events relayed per pass.
const BATCH: u64 = 500;
/// With no active subscription the cursor is only moved along when it lags this far, so a node
/// that sends no webhooks does not write to the store after every change (on SQLite every write
/// takes the one write lock, `crate::db::begin_write`).
const IDLE_LAG: chrono::Duration = chrono::Duration::seconds(60);
/// The cursor's one row.
const CURSOR: i64 = 1;

async fn cursor(db: &impl ConnectionTrait) -> Result<i64, Error> {
    let c = webhook_cursor::Entity::find_by_id(CURSOR).one(db).await?;
    c.map(|c| c.last_event_id).ok_or_else(|| Error::Unexpected(anyhow::anyhow!("webhook_cursor has no row")))
}

/// One pass: the settled events after the cursor, one delivery per matching active subscription,
/// the cursor moved past them. Returns how many deliveries it made (0 when another node did it).
pub async fn pass(db: &DatabaseConnection, settle: Duration) -> Result<usize, Error> {
    // Most passes find nothing new: look before writing anything.
    let last = cursor(db).await?;
    let oldest: Option<chrono::DateTime<Utc>> = event::Entity::find()
        .select_only()
        .column(event::Column::CreatedAt)
        .filter(event::Column::Seq.gt(last))
        .order_by_asc(event::Column::Seq)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let Some(oldest) = oldest else { return Ok(0) };
    let any_active = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::Active.eq(true))
        .one(db)
        .await?
        .is_some();
    if !any_active && oldest > Utc::now() - IDLE_LAG {
        return Ok(0);
    }
    let settled_before = Utc::now() - chrono::Duration::from_std(settle).unwrap_or(chrono::Duration::seconds(2));
    let txn = crate::db::begin_write(db).await?;
    // Write first: on PostgreSQL this queues the nodes behind one another on the cursor row; on
    // SQLite it takes the write lock now, so the reads below cannot lose their snapshot to
    // another writer (a transaction that reads and then writes can fail at once there).
    webhook_cursor::Entity::update_many()
        .col_expr(webhook_cursor::Column::LastEventId, Expr::col(webhook_cursor::Column::LastEventId))
        .filter(webhook_cursor::Column::Id.eq(CURSOR))
        .exec(&txn)
        .await?;
    let last = cursor(&txn).await?;
    let events = event::Entity::find()
        .filter(event::Column::Seq.gt(last))
        .order_by_asc(event::Column::Seq)
        .limit(BATCH)
        .all(&txn)
        .await?;
    // Up to the first event too young to be sure nothing before it is still uncommitted.
    let settled: Vec<event::Model> = events.into_iter().take_while(|e| e.created_at <= settled_before).collect();
    let Some(upto) = settled.last().map(|e| e.seq) else { return Ok(0) };
    let subscriptions =
        webhook_subscription::Entity::find().filter(webhook_subscription::Column::Active.eq(true)).all(&txn).await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for e in &settled {
        // A subscription gets the events from when it was made or last resumed.
        for s in subscriptions.iter().filter(|s| e.created_at >= s.active_since && wants(&s.event_types, &e.kind)) {
            rows.push(webhook_delivery::ActiveModel {
                subscription_id: Set(s.id),
                event_id: Set(e.seq),
                event_kind: Set(e.kind.clone()),
                payload: Set(e.payload.clone()),
                status: Set(STATUS_PENDING.to_owned()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                locked_until: Set(None),
                last_status: Set(None),
                last_error: Set(None),
                created_at: Set(e.created_at),
                delivered_at: Set(None),
                ..Default::default()
            });
        }
    }
    let mut made = 0u64;
    for chunk in crate::db::chunks(&txn, &rows) {
        made += webhook_delivery::Entity::insert_many(chunk.iter().cloned())
            .on_conflict(
                OnConflict::columns([webhook_delivery::Column::SubscriptionId, webhook_delivery::Column::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let moved = webhook_cursor::Entity::update_many()
        .col_expr(webhook_cursor::Column::LastEventId, Expr::value(upto))
        .filter(webhook_cursor::Column::Id.eq(CURSOR))
        .filter(webhook_cursor::Column::LastEventId.eq(last))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 0 {
        // Another node relayed these events first: its deliveries stand, ours are dropped.
        txn.rollback().await?;
        return Ok(0);
    }
    txn.commit().await?;
    tracing::debug!(events = settled.len(), deliveries = made, upto, "webhook events relayed");
    Ok(usize::try_from(made).unwrap_or(usize::MAX))
}
